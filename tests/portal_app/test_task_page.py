"""A task completed with no callback target sends nothing (SPEC §6.1): its page in the portal and
the admin, and the API's refusal to resend, say so and what to do (issue 26, item 7)."""

import pytest
from django.test import Client

from callbacks_app.models import Delivery
from tasks_app.accounts import profile_update
from tests.portal_app.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_task_without_target(customer, operator):
    created = customer.post(
        "/v1/task/categorization", {"attachment": "a", "categories": ["x", "y"]}, format="json"
    )
    task_id = created.json()["task_id"]
    done = operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "x"}}, format="json")
    assert done.status_code == 200
    assert "callback_succeeded" not in done.json()
    # Only the event, for the feed (SPEC §17): nothing was sent.
    assert list(Delivery.objects.values_list("status", flat=True)) == [Delivery.Status.NOT_SENT]
    return task_id


def test_resending_it_says_why_nothing_was_sent_and_what_to_do(customer, live_task_without_target):
    answer = customer.post(f"/v1/task/{live_task_without_target}/resend_callback")

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "no live default callback URL" in error
    assert "no callback was sent" in error
    assert "PATCH /v1/profile" in error


def test_its_portal_page_says_no_callback_was_sent(account, live_task_without_target):
    browser = signed_in(Client(), user=account.user, account=account.profile, mode="live")

    page = browser.get(f"/portal/tasks/{live_task_without_target}").content.decode()

    assert "no callback was sent" in page
    assert "not sent (no target)" in page  # its event, listed as never sent
    listed = browser.get(f"/portal/callbacks?task_id={live_task_without_target}").content.decode()
    assert f"/portal/tasks/{live_task_without_target}" in listed  # found from the callbacks' filter


def test_its_admin_page_says_no_callback_was_sent(admin_client, live_task_without_target):
    page = admin_client.get(f"/admin/tasks_app/task/{live_task_without_target}/change/").content.decode()

    assert "no callback was sent" in page


def test_once_a_default_url_is_set_the_page_says_a_resend_sends_it(account, live_task_without_target):
    profile_update(profile=account.profile, mode="live", default_callback_url="https://example.com/hook")
    browser = signed_in(Client(), user=account.user, account=account.profile, mode="live")

    page = browser.get(f"/portal/tasks/{live_task_without_target}").content.decode()

    assert "https://example.com/hook: resend to send this one" in page
    answer = browser.post(f"/portal/tasks/{live_task_without_target}/resend")
    assert answer.status_code == 302
    assert (
        Delivery.objects.exclude(status=Delivery.Status.NOT_SENT).get().target == "https://example.com/hook"
    )


def test_a_task_with_callbacks_shows_them_and_no_note(account, customer, operator):
    created = customer.post(
        "/v1/task/categorization",
        {"attachment": "a", "categories": ["x", "y"], "callback_url": "https://example.com/hook"},
        format="json",
    )
    task_id = created.json()["task_id"]
    operator.post(f"/v1/ops/task/{task_id}/complete", {"response": {"category": "x"}}, format="json")
    browser = signed_in(Client(), user=account.user, account=account.profile, mode="live")

    page = browser.get(f"/portal/tasks/{task_id}").content.decode()

    assert "no callback was sent" not in page
    assert Delivery.objects.get().id in page
