"""Delivering one callback over HTTP to a real receiver, attempt after attempt (SPEC §6.2–§6.5)."""

import json

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from callbacks_app.engine import callback_deliver
from callbacks_app.models import Delivery
from callbacks_app.retry import RETRY_WINDOW
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


def complete(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


def test_callback_body_is_exactly_task_id_status_response_task(pending_task, receiver):
    delivery = complete(pending_task)

    deliver_until_finished(delivery.id)

    body = receiver.requests[0].json()
    assert set(body) == {"task_id", "status", "response", "task"}
    assert body["task_id"] == pending_task.id
    assert body["status"] == "completed"
    assert body["response"] == {"category": "red"}
    assert body["task"]["task_id"] == pending_task.id
    assert body["task"]["status"] == "completed"
    assert body["task"]["response"] == {"category": "red"}
    assert body["task"]["completed_at"].endswith("Z")


def test_callback_carries_the_auth_key_and_a_verifiable_signature(pending_task, receiver, account):
    profile = account.profile
    delivery = complete(pending_task)

    deliver_until_finished(delivery.id)

    request = receiver.requests[0]
    assert request.header("scale-callback-auth") == profile.live_callback_auth_key
    assert request.header("webhook-id") == delivery.id
    assert request.header("scale-callback-event") == "task.completed"
    assert request.header("scale-callback-attempt") == "1"
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent").startswith("ScaleHooks/")
    verified = Webhook(profile.live_signing_secret).verify(request.body, request.headers)
    assert verified["task_id"] == pending_task.id


def test_signature_made_with_another_secret_does_not_verify(pending_task, receiver, account, other_account):
    """Our signature is made with the task owner's secret: it verifies with that one, and
    another account's secret (a receiver of someone else) rejects it."""
    other_profile = other_account.profile
    delivery = complete(pending_task)

    deliver_until_finished(delivery.id)

    request = receiver.requests[0]
    assert (
        Webhook(account.profile.live_signing_secret).verify(request.body, request.headers)["task_id"]
        == pending_task.id
    )
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(other_profile.live_signing_secret).verify(request.body, request.headers)


def test_test_mode_task_sends_the_test_callback_auth_key(account, receiver):
    profile = account.profile
    task = TaskFactory(owner=profile.user, callback_url=receiver.url, is_test=True)
    delivery = complete(task)

    deliver_until_finished(delivery.id)

    assert receiver.requests[0].header("scale-callback-auth") == profile.test_callback_auth_key


def test_500_500_200_makes_three_attempts_and_succeeds(pending_task, receiver):
    receiver.answer(Answer(500), Answer(500), Answer(200))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [a.status_code for a in delivery.attempts.all()] == [500, 500, 200]
    assert [r.header("scale-callback-attempt") for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.header("webhook-id") for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1  # the frozen payload, byte for byte
    pending_task.refresh_from_db()
    assert pending_task.callback_succeeded is True
    assert pending_task.callback_succeeded_at is not None


def test_always_500_makes_21_attempts_then_fails(pending_task, receiver, settings):
    # Twenty retries, as in production and in the suite's default schedule, 20 ms apart
    # (the default's 0.2 s would make this test wait 4 s for nothing).
    settings.CALLBACK_RETRY_SCHEDULE = [0.02] * 20
    receiver.answer(Answer(500))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id, timeout=60)

    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts.count() == 21
    assert len(receiver.requests) == 21
    pending_task.refresh_from_db()
    assert pending_task.callback_succeeded is False


def test_schedule_from_the_setting_sets_the_number_of_retries(pending_task, receiver, settings):
    settings.CALLBACK_RETRY_SCHEDULE = [0.1, 0.1]
    receiver.answer(Answer(503))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    assert delivery.attempts.count() == 3


def test_redirect_is_a_failure_and_not_followed(pending_task, receiver, settings):
    settings.CALLBACK_RETRY_SCHEDULE = [0.1]
    receiver.answer(Answer(302, headers={"Location": receiver.url + "/elsewhere"}))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    assert delivery.status == Delivery.Status.FAILED
    assert [r.path for r in receiver.requests] == ["/callback", "/callback"]
    first = delivery.attempts.first()
    assert first.status_code == 302
    assert "Redirect" in first.error


def test_hanging_receiver_is_cut_at_the_timeout_and_retried(pending_task, receiver, settings):
    settings.CALLBACK_TIMEOUT = 0.5
    receiver.answer(Answer(200, delay=5), Answer(200))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    first, second = delivery.attempts.all()
    assert first.status_code is None
    assert "Timed out" in first.error
    assert first.duration_ms < 2000
    assert second.status_code == 200
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_unreachable_receiver_records_a_network_error(pending_task, receiver, settings):
    settings.CALLBACK_RETRY_SCHEDULE = []
    pending_task.callback_url = "http://127.0.0.1:9/closed"  # discard port: nothing listens
    pending_task.save()
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    attempt = delivery.attempts.get()
    assert attempt.status_code is None
    assert "ConnectionError" in attempt.error
    assert delivery.status == Delivery.Status.FAILED


def test_stored_attempt_masks_secrets_and_keeps_an_excerpt(pending_task, receiver, account):
    profile = account.profile
    receiver.answer(Answer(200, body=b"x" * 10_000))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    attempt = delivery.attempts.get()
    stored = json.dumps(attempt.request_headers)
    assert attempt.request_headers["scale-callback-auth"] == "***"
    assert attempt.request_headers["webhook-signature"] == "***"
    assert profile.live_callback_auth_key not in stored
    assert len(attempt.response_excerpt) == 4096


def test_default_callback_url_of_the_profile_is_used(account, receiver):
    profile = account.profile
    profile.live_default_callback_url = receiver.url
    profile.save()
    task = TaskFactory(owner=profile.user, callback_url="")
    delivery = complete(task)

    deliver_until_finished(delivery.id)

    assert delivery.target == receiver.url
    assert receiver.requests[0].json()["task_id"] == task.id


def test_no_target_records_the_event_as_not_sent_and_leaves_callback_succeeded_absent(account):
    profile = account.profile
    task = TaskFactory(owner=profile.user, callback_url="")

    task_complete(task_id=task.id, response={"category": "red"})

    # Recorded for the feed (SPEC §17), never sent: finished, with no next attempt.
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.target, delivery.next_attempt_at) == (
        Delivery.Status.NOT_SENT,
        "",
        None,
    )
    assert delivery.attempts.count() == 0
    task.refresh_from_db()
    assert task.callback_succeeded is None


def test_payload_is_frozen_at_event_time(pending_task, receiver):
    delivery = complete(pending_task)
    pending_task.refresh_from_db()
    pending_task.metadata = {"changed": "after the event"}
    pending_task.save()

    deliver_until_finished(delivery.id)

    assert receiver.requests[0].json()["task"]["metadata"] == {}


def test_429_with_retry_after_delays_the_next_attempt_by_at_least_that(pending_task, receiver):
    receiver.answer(Answer(429, headers={"Retry-After": "2"}), Answer(200))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    first, second = receiver.requests
    assert second.received_at - first.received_at >= 2.0
    assert [a.status_code for a in delivery.attempts.all()] == [429, 200]


def test_503_with_retry_after_schedules_the_retry_no_earlier(pending_task, receiver):
    receiver.answer(Answer(503, headers={"Retry-After": "120"}))
    delivery = complete(pending_task)

    callback_deliver(delivery_id=delivery.id)

    delivery.refresh_from_db()
    attempt = delivery.attempts.get()
    assert delivery.status == Delivery.Status.PENDING
    assert (delivery.next_attempt_at - attempt.started_at).total_seconds() >= 120


def test_retry_after_beyond_the_24_hour_window_is_clamped_to_its_end(pending_task, receiver):
    receiver.answer(Answer(429, headers={"Retry-After": str(30 * 3600)}))
    delivery = complete(pending_task)

    callback_deliver(delivery_id=delivery.id)

    delivery.refresh_from_db()
    assert delivery.next_attempt_at == delivery.first_attempt_at + RETRY_WINDOW


def test_a_retry_due_at_the_end_of_the_window_is_still_sent(pending_task, receiver):
    receiver.answer(Answer(500), Answer(200))
    delivery = complete(pending_task)
    callback_deliver(delivery_id=delivery.id)
    # Move the clock: the first attempt was 24 h ago and the retry is due now, at the window's end.
    now = timezone.now()
    Delivery.objects.filter(id=delivery.id).update(first_attempt_at=now - RETRY_WINDOW, next_attempt_at=now)

    attempt = callback_deliver(delivery_id=delivery.id)

    assert attempt is not None
    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_410_gone_stops_after_one_attempt_as_failed(pending_task, receiver):
    receiver.answer(Answer(410), Answer(200))
    delivery = complete(pending_task)

    delivery = deliver_until_finished(delivery.id)

    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts.count() == 1
    assert len(receiver.requests) == 1
    pending_task.refresh_from_db()
    assert pending_task.callback_succeeded is False


def test_receiver_echoing_the_auth_key_is_not_stored(pending_task, receiver, account):
    profile = account.profile
    receiver.answer(Answer(400, body=f"bad auth {profile.live_callback_auth_key}".encode()))
    delivery = complete(pending_task)

    callback_deliver(delivery_id=delivery.id)

    attempt = delivery.attempts.get()
    assert attempt.response_excerpt == "bad auth ***"
