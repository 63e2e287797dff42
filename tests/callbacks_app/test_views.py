"""The callback routes of the API: resend (SPEC §6.7) and the delivery log (SPEC §6.8)."""

import json

import pytest

from callbacks_app.engine import callback_deliver, deliveries_claim
from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


def test_resend_callback_queues_a_new_delivery_that_reaches_the_receiver(customer, completed_task, receiver):
    response = customer.post(f"/v1/task/{completed_task.id}/resend_callback")

    assert response.status_code == 200
    body = response.json()
    assert body["task_id"] == completed_task.id
    assert body["status"] == "queued"
    delivery = Delivery.objects.get(id=body["delivery_id"])
    assert delivery.event == Delivery.Event.RESENT
    deliver_until_finished(delivery.id)
    assert receiver.requests[-1].header("webhook-id") == delivery.id
    assert receiver.requests[-1].header("scale-callback-event") == "task.resent"


def test_resend_callback_of_a_pending_task_is_400(customer, account, receiver):
    task = TaskFactory(owner=account.user, callback_url=receiver.url)

    response = customer.post(f"/v1/task/{task.id}/resend_callback")

    assert response.status_code == 400
    assert response.json()["status_code"] == 400
    assert "pending" in response.json()["error"]
    assert not Delivery.objects.exists()


def test_resend_callback_without_a_target_is_400(customer, account):
    task = TaskFactory(owner=account.user, callback_url="")
    task_complete(task_id=task.id, response={"category": "red"})

    response = customer.post(f"/v1/task/{task.id}/resend_callback")

    assert response.status_code == 400
    assert set(response.json()) == {"status_code", "error"}


def test_resend_callback_of_another_accounts_task_is_404(api, other_account, completed_task):
    response = api.as_key(other_account.live_api_key).post(f"/v1/task/{completed_task.id}/resend_callback")

    assert response.status_code == 404
    assert Delivery.objects.filter(event=Delivery.Event.RESENT).count() == 0


def test_resend_callback_of_a_live_task_with_the_test_key_is_404(api, account, completed_task):
    response = api.as_key(account.test_api_key).post(f"/v1/task/{completed_task.id}/resend_callback")

    assert response.status_code == 404


def test_resend_callback_needs_an_api_key(api, completed_task):
    assert api.post(f"/v1/task/{completed_task.id}/resend_callback").status_code == 401


def test_callbacks_lists_deliveries_newest_first_with_their_attempts(customer, completed_task, receiver):
    receiver.answer(Answer(500, body=b"boom"), Answer(200))
    first = Delivery.objects.get(task=completed_task)
    deliver_until_finished(first.id)
    resent = customer.post(f"/v1/task/{completed_task.id}/resend_callback").json()["delivery_id"]

    response = customer.get(f"/v1/task/{completed_task.id}/callbacks")

    assert response.status_code == 200
    body = response.json()
    assert body["task_id"] == completed_task.id
    assert [d["delivery_id"] for d in body["deliveries"]] == [resent, first.id]
    newest, oldest = body["deliveries"]
    assert newest["status"] == "pending" and newest["attempts"] == []
    assert oldest["status"] == "succeeded"
    assert oldest["event"] == "task.completed"
    assert oldest["target"] == receiver.url
    assert oldest["attempt_count"] == 2
    assert oldest["finished_at"].endswith("Z")
    failed, succeeded = oldest["attempts"]
    assert failed["number"] == 1 and failed["status_code"] == 500
    assert failed["error"] == "HTTP 500" and failed["response_excerpt"] == "boom"
    assert failed["started_at"].endswith("Z") and isinstance(failed["duration_ms"], int)
    assert succeeded["number"] == 2 and succeeded["succeeded"] is True
    assert "payload" not in oldest


def test_callbacks_masks_secrets_in_request_headers(customer, completed_task, account):
    profile = account.profile
    deliver_until_finished(Delivery.objects.get(task=completed_task).id)

    response = customer.get(f"/v1/task/{completed_task.id}/callbacks")

    headers = response.json()["deliveries"][0]["attempts"][0]["request_headers"]
    assert headers["scale-callback-auth"] == "***"
    assert headers["webhook-signature"] == "***"
    assert headers["webhook-id"] == response.json()["deliveries"][0]["delivery_id"]
    text = json.dumps(response.json())
    for secret in (
        profile.live_callback_auth_key,
        profile.test_callback_auth_key,
        *profile.signing_secrets(),
    ):
        assert secret not in text


def test_callbacks_of_another_accounts_task_is_404(api, other_account, completed_task):
    response = api.as_key(other_account.live_api_key).get(f"/v1/task/{completed_task.id}/callbacks")

    assert response.status_code == 404
    assert response.json()["status_code"] == 404


def test_callbacks_of_a_task_without_callbacks_is_an_empty_list(customer, account):
    task = TaskFactory(owner=account.user)

    response = customer.get(f"/v1/task/{task.id}/callbacks")

    assert response.json() == {"task_id": task.id, "deliveries": []}


def test_callbacks_shows_an_attempt_in_flight(customer, completed_task):
    delivery = Delivery.objects.get(task=completed_task)
    deliveries_claim(ids=[delivery.id])

    attempt = customer.get(f"/v1/task/{completed_task.id}/callbacks").json()["deliveries"][0]["attempts"][0]
    assert attempt["error"] == DeliveryAttempt.UNFINISHED
    assert attempt["status_code"] is None
    assert callback_deliver(delivery_id=delivery.id) is None
