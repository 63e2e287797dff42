"""A receiver's absurd ``Retry-After``, and a row whose recording fails, harm no other callback
(issue 16, point 1): every received delay is clamped to the 24 h window, each result of a batch is
recorded whatever another one raised, and a dispatcher whose turn fails still records its sends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.engine import (
    SendResult,
    attempts_record,
    deliveries_claim,
    deliveries_dispatch,
    dispatcher,
    recording,
)
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.retry import RETRY_WINDOW, next_attempt_at
from callbacks_app.transport import CallbackResult, parse_retry_after
from tasks_app.services import task_complete
from tests.factories import TaskFactory
from tests.servers import Answer, CallbackReceiver
from tests.waiting import wait_until

HUGE = "99999999999999999999999"


def test_parse_retry_after_clamps_a_huge_delay_to_the_retry_window():
    assert parse_retry_after(HUGE) == RETRY_WINDOW.total_seconds()
    assert parse_retry_after("9" * 400) == RETRY_WINDOW.total_seconds()  # beyond a float: inf


def test_next_attempt_at_with_a_huge_minimum_delay_is_the_end_of_the_window():
    first = timezone.now()

    due = next_attempt_at(
        attempts_made=1, first_attempt_at=first, now=first, minimum_delay=1e23, schedule=[10]
    )

    assert due == first + RETRY_WINDOW


def completed(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


@pytest.mark.django_db(transaction=True)
def test_a_huge_retry_after_in_a_batch_leaves_the_other_accounts_callbacks_delivered_once(
    account, other_account, receiver
):
    hostile = CallbackReceiver()
    hostile.answer(Answer(503, headers={"Retry-After": HUGE}))
    try:
        bad = completed(TaskFactory(owner=account.user, callback_url=hostile.url))
        others = [
            completed(TaskFactory(owner=other_account.user, callback_url=receiver.url)) for _ in range(5)
        ]

        deliveries_dispatch(idle_exit=0.05)

        for delivery in others:
            delivery.refresh_from_db()
            assert delivery.status == Delivery.Status.SUCCEEDED
            assert delivery.attempts.get().succeeded
        assert sorted(r.header("webhook-id") for r in receiver.requests) == sorted(d.id for d in others)
        bad.refresh_from_db()
        attempt = bad.attempts.get()
        assert (attempt.status_code, attempt.error) == (503, "HTTP 503")
        assert bad.status == Delivery.Status.PENDING
        assert bad.first_attempt_at < bad.next_attempt_at <= bad.first_attempt_at + RETRY_WINDOW
        assert len(hostile.requests) == 1
    finally:
        hostile.close()


@pytest.mark.django_db
def test_a_row_whose_outcome_raises_does_not_stop_the_others_from_being_recorded(account, monkeypatch):
    tasks = [TaskFactory(owner=account.user, callback_url="http://127.0.0.1:9/hook") for _ in range(3)]
    deliveries = [completed(task) for task in tasks]
    claims = deliveries_claim(ids=[d.id for d in deliveries])
    broken = claims[1].delivery.id
    outcome = recording.attempt_outcome

    def attempt_outcome(**kwargs):
        if kwargs["result"].body_excerpt == broken:
            raise OverflowError("date value out of range")
        return outcome(**kwargs)

    monkeypatch.setattr(recording, "attempt_outcome", attempt_outcome)
    results = [
        (
            claim,
            SendResult(
                headers=claim.headers,
                result=CallbackResult(
                    ok=False, duration_ms=3, status_code=500, body_excerpt=claim.delivery.id, error="HTTP 500"
                ),
            ),
        )
        for claim in claims
    ]

    attempts_record(results=results)

    now = timezone.now()
    for delivery in deliveries:
        delivery.refresh_from_db()
        attempt = delivery.attempts.get()
        assert (attempt.status_code, attempt.error) == (500, "HTTP 500")  # each attempt recorded
        assert delivery.status == Delivery.Status.PENDING
        assert (delivery.lease_token, delivery.leased_until) == (None, None)
        assert now < delivery.next_attempt_at <= now + timedelta(minutes=5)


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_whose_claim_fails_midway_still_records_the_sends_it_holds(
    account, receiver, monkeypatch
):
    receiver.answer(Answer(200, delay=0.3))
    deliveries = [completed(TaskFactory(owner=account.user, callback_url=receiver.url)) for _ in range(4)]
    claim = dispatcher.deliveries_claim
    calls = []

    def claim_then_fail(*, ids):
        calls.append(ids)
        if len(calls) > 1:
            raise RuntimeError("the database went away")
        return claim(ids=ids)

    monkeypatch.setattr(dispatcher, "deliveries_claim", claim_then_fail)

    deliveries_dispatch(idle_exit=0.05)  # its turns fail from the second claim on: logged

    receiver.wait_for(4)
    wait_until(
        lambda: set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED},
        timeout=10,
        message="the sends of the failing dispatcher were not recorded",
    )
    assert not DeliveryAttempt.objects.filter(error=DeliveryAttempt.UNFINISHED).exists()
    assert len(receiver.requests) == len(deliveries)


@pytest.mark.django_db
def test_a_batch_whose_transaction_fails_is_recorded_row_by_row(account, monkeypatch):
    """A row that breaks the batch's statements costs the others nothing: they are recorded one by
    one; the bad one stays "did not finish" until its lease runs out (logged)."""
    tasks = [TaskFactory(owner=account.user, callback_url="http://127.0.0.1:9/hook") for _ in range(3)]
    deliveries = [completed(task) for task in tasks]
    claims = deliveries_claim(ids=[d.id for d in deliveries])
    broken_task = claims[0].delivery.task_id
    record_outcomes = recording.tasks_callback_outcome_record

    def tasks_callback_outcome_record(*, outcomes):
        if any(outcome.task_id == broken_task for outcome in outcomes):
            raise RuntimeError("a row the database refuses")
        return record_outcomes(outcomes=outcomes)

    monkeypatch.setattr(recording, "tasks_callback_outcome_record", tasks_callback_outcome_record)
    ok = CallbackResult(ok=True, duration_ms=3, status_code=200)

    attempts_record(results=[(claim, SendResult(headers=claim.headers, result=ok)) for claim in claims])

    statuses = {d.task_id: Delivery.objects.get(id=d.id).status for d in deliveries}
    assert statuses.pop(broken_task) == Delivery.Status.PENDING
    assert set(statuses.values()) == {Delivery.Status.SUCCEEDED}
    errors = {a.delivery.task_id: a.error for a in DeliveryAttempt.objects.select_related("delivery")}
    assert errors.pop(broken_task) == DeliveryAttempt.UNFINISHED
    assert set(errors.values()) == {""}
