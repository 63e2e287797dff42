"""Networks an operator opens to one account (SPEC §8): that account's callbacks reach them,
nobody else's do, and what a private target answers is shown to operators only.

The suite's settings open loopback to every account (CALLBACK_ALLOWED_NETWORKS);
these tests empty that setting so that only the account's allowance opens it.
"""

import json
import logging
import socket

import pytest
from django.urls import reverse

from callbacks_app.models import Delivery
from tasks_app.accounts import account_create, profile_allowed_networks_set
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished, logged_text
from tests.factories import TaskFactory
from tests.servers import Answer
from tests.tasks_app.conftest import CATEGORIZATION
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def only_account_allowances(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = []
    settings.CALLBACK_RETRY_SCHEDULE = []


@pytest.fixture
def allowed_account(db):
    """An account an operator allowed to reach loopback."""
    return account_create(email="onprem@example.com", allowed_networks=["127.0.0.0/8"])


def deliver_to(account, url) -> Delivery:
    # Saved directly, as a target that passed validation earlier would be.
    task = TaskFactory(owner=account.user, callback_url=url)
    task_complete(task_id=task.id, response={"category": "red"})
    return deliver_until_finished(Delivery.objects.get(task=task).id)


def test_an_allowance_opens_the_network_to_that_account_only(
    allowed_account, account, receiver, only_account_allowances
):
    reached = deliver_to(allowed_account, receiver.url)
    refused = deliver_to(account, receiver.url)

    assert reached.status == Delivery.Status.SUCCEEDED
    assert refused.status == Delivery.Status.FAILED
    assert refused.attempts.get().error.startswith("Refused:")
    assert [r.json()["task_id"] for r in receiver.requests] == [reached.task_id]


def test_an_allowance_lets_that_account_save_the_address_and_nobody_else(
    api, allowed_account, account, receiver, only_account_allowances
):
    body = {**CATEGORIZATION, "callback_url": receiver.url}

    allowed = api.as_key(allowed_account.live_api_key).post("/v1/task/categorization", body, format="json")
    other = api.as_key(account.live_api_key).post("/v1/task/categorization", body, format="json")
    other_profile = api.as_key(account.live_api_key).patch(
        "/v1/profile", {"default_callback_url": receiver.url}, format="json"
    )

    assert allowed.status_code == 200
    assert other.status_code == 400 and "callback_url" in other.json()["details"]
    assert other_profile.status_code == 400


def test_customer_sees_neither_excerpt_nor_error_detail_of_a_private_target_operators_do(
    api, admin_client, allowed_account, receiver, only_account_allowances
):
    receiver.answer(Answer(500, body=b"SSH-2.0-OpenSSH_9.6 internal banner"))
    delivery = deliver_to(allowed_account, receiver.url)

    shown = api.as_key(allowed_account.live_api_key).get(f"/v1/task/{delivery.task_id}/callbacks").json()
    admin_html = admin_client.get(
        reverse("admin:callbacks_app_delivery_change", args=[delivery.id])
    ).content.decode()

    (attempt,) = shown["deliveries"][0]["attempts"]
    assert attempt["status_code"] == 500 and attempt["succeeded"] is False
    assert attempt["response_excerpt"] == ""
    assert "HTTP 500" not in attempt["error"] and "banner" not in json.dumps(shown)
    assert "shown to operators" in attempt["error"]
    assert "SSH-2.0-OpenSSH_9.6 internal banner" in admin_html
    assert "HTTP 500" in admin_html
    assert "hidden from the customer" in admin_html


def test_customer_sees_no_error_detail_of_an_unreachable_private_port(
    api, allowed_account, only_account_allowances
):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    delivery = deliver_to(allowed_account, f"http://127.0.0.1:{port}/")

    shown = api.as_key(allowed_account.live_api_key).get(f"/v1/task/{delivery.task_id}/callbacks").json()

    (attempt,) = shown["deliveries"][0]["attempts"]
    stored = delivery.attempts.get()
    assert "Connection" in stored.error  # the operator's record says what happened
    assert "Connection" not in attempt["error"] and "refused" not in attempt["error"].lower()
    assert "shown to operators" in attempt["error"]


def test_a_refused_names_error_does_not_say_what_it_resolves_to_the_log_does(
    api, account, receiver, only_account_allowances, caplog
):
    caplog.set_level(logging.INFO)
    resolved = {
        info[4][0] for info in socket.getaddrinfo("localhost", receiver.port, type=socket.SOCK_STREAM)
    }

    delivery = deliver_to(account, f"http://localhost:{receiver.port}/callback")

    shown = json.dumps(api.as_key(account.live_api_key).get(f"/v1/task/{delivery.task_id}/callbacks").json())
    attempt = delivery.attempts.get()
    assert attempt.error.startswith("Refused:") and "localhost" in attempt.error
    for address in resolved:
        assert address not in attempt.error
        assert address not in shown
    assert any(address in logged_text(caplog) for address in resolved)
    assert receiver.requests == []


def test_allowances_are_set_by_operators_for_one_account(
    allowed_account, account, receiver, only_account_allowances
):
    profile_allowed_networks_set(profile=account.profile, networks=["127.0.0.1/32"])

    assert deliver_to(account, receiver.url).status == Delivery.Status.SUCCEEDED


@pytest.mark.cluster
def test_a_cluster_opens_the_allowance_to_that_account_only(
    start_cluster, allowed_account, account, receiver, only_account_allowances
):
    start_cluster(CALLBACK_ALLOWED_NETWORKS="", CALLBACK_RETRY_SCHEDULE="")
    tasks = [TaskFactory(owner=owner.user, callback_url=receiver.url) for owner in (allowed_account, account)]

    for task in tasks:
        task_complete(task_id=task.id, response={"category": "red"})

    def finished():
        deliveries = [Delivery.objects.get(task=task) for task in tasks]
        return all(d.is_finished for d in deliveries) and deliveries

    reached, refused = wait_until(finished, timeout=15, message="the cluster did not finish both deliveries")
    assert reached.status == Delivery.Status.SUCCEEDED and reached.attempts.get().private_target is True
    assert refused.status == Delivery.Status.FAILED and refused.attempts.get().error.startswith("Refused:")
    assert [r.json()["task_id"] for r in receiver.requests] == [tasks[0].id]
