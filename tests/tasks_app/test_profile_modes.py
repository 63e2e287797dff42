"""Live and test are kept apart on the profile (SPEC §3): a default callback URL and a
signing secret per mode; a key sees and changes only its own mode's side."""

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


def complete_and_deliver(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return deliver_until_finished(Delivery.objects.get(task=task).id)


def test_patch_with_a_test_key_leaves_the_live_default_callback_url_unchanged(
    account, customer, customer_test_mode, receiver
):
    customer.patch("/v1/profile", {"default_callback_url": receiver.url}, format="json")

    answer = customer_test_mode.patch(
        "/v1/profile", {"default_callback_url": "https://attacker.example/hook"}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json()["default_callback_url"] == "https://attacker.example/hook"
    assert customer.get("/v1/profile").json()["default_callback_url"] == receiver.url
    live_task = TaskFactory(owner=account.user, callback_url="")
    delivery = complete_and_deliver(live_task)
    assert delivery.target == receiver.url
    assert receiver.requests[0].header("scale-callback-auth") == account.profile.live_callback_auth_key


def test_test_tasks_go_to_the_test_default_callback_url(account, customer, customer_test_mode, receiver):
    customer.patch("/v1/profile", {"default_callback_url": "https://live.example/hook"}, format="json")
    customer_test_mode.patch("/v1/profile", {"default_callback_url": receiver.url}, format="json")

    delivery = complete_and_deliver(TaskFactory(owner=account.user, callback_url="", is_test=True))

    assert delivery.target == receiver.url
    assert receiver.requests[0].header("scale-callback-auth") == account.profile.test_callback_auth_key


def test_a_test_key_sees_the_test_signing_secret_and_live_callbacks_verify_with_the_live_one_only(
    account, customer, customer_test_mode, receiver
):
    live_secret = customer.get("/v1/profile").json()["signing_secret"]
    test_secret = customer_test_mode.get("/v1/profile").json()["signing_secret"]

    complete_and_deliver(TaskFactory(owner=account.user, callback_url=receiver.url))
    complete_and_deliver(TaskFactory(owner=account.user, callback_url=receiver.url, is_test=True))

    assert test_secret.startswith("whsec_") and test_secret != live_secret
    live_request, test_request = receiver.requests
    assert Webhook(live_secret).verify(live_request.body, live_request.headers)["status"] == "completed"
    with pytest.raises(WebhookVerificationError):
        Webhook(test_secret).verify(live_request.body, live_request.headers)
    assert Webhook(test_secret).verify(test_request.body, test_request.headers)["status"] == "completed"
    with pytest.raises(WebhookVerificationError):
        Webhook(live_secret).verify(test_request.body, test_request.headers)
