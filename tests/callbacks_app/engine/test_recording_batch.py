"""Recording a batch of attempts (``engine.attempts_record``): one batch, several deliveries and
outcomes, written as PostgreSQL's one-statement-per-batch UPDATEs or SQLite's executemany
(the suite runs on both)."""

import random
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from callbacks_app import transport
from callbacks_app.engine import SendResult, attempts_record, deliveries_claim
from callbacks_app.masking import MASK
from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.validators import MAX_CALLBACK_URL_LENGTH
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db

TARGET = "http://127.0.0.1:9/hook"


def due_delivery(task, *, event="task.completed", created_ago=timedelta(0), target=TARGET) -> Delivery:
    return DeliveryFactory(
        task=task,
        event=event,
        target=target,
        payload=f'{{"task_id": "{task.id}"}}',
        due=True,
        created_at=timezone.now() - created_ago,
    )


def answered(ok, status_code=None, *, body="", error="", duration_ms=12):
    return transport.CallbackResult(
        ok=ok, duration_ms=duration_ms, status_code=status_code, body_excerpt=body, error=error
    )


def record(deliveries, results):
    """Claim ``deliveries`` together and record ``results`` (by delivery) as one batch."""
    claims = {claim.delivery.id: claim for claim in deliveries_claim(ids=[d.id for d in deliveries])}
    assert set(claims) == {d.id for d in deliveries}
    attempts_record(
        results=[
            (claims[d.id], SendResult(headers=claims[d.id].headers, result=results[d.id])) for d in deliveries
        ]
    )


def test_one_batch_records_each_attempt_and_each_deliverys_new_state(account):
    profile = account.profile
    tasks = [TaskFactory(owner=profile.user, status="completed") for _ in range(4)]
    ok, retried, no_answer, gone = deliveries = [due_delivery(task) for task in tasks]

    record(
        deliveries,
        {
            ok.id: answered(True, 200, body='{"thanks": true}'),
            retried.id: answered(False, 500, body="oops", error="HTTP 500"),
            no_answer.id: answered(False, None, error="Timed out after 15 s", duration_ms=15000),
            gone.id: answered(False, 410, body="gone"),
        },
    )

    attempts = {a.delivery_id: a for a in DeliveryAttempt.objects.all()}
    assert [
        (a.number, a.status_code, a.succeeded, a.duration_ms, a.response_excerpt, a.error)
        for a in (attempts[d.id] for d in deliveries)
    ] == [
        (1, 200, True, 12, '{"thanks": true}', ""),
        (1, 500, False, 12, "oops", "HTTP 500"),
        (1, None, False, 15000, "", "Timed out after 15 s"),
        (1, 410, False, 12, "gone", ""),
    ]
    sent_headers = attempts[ok.id].request_headers
    assert sent_headers["scale-callback-auth"] == MASK and sent_headers["webhook-signature"] == MASK
    assert sent_headers["webhook-id"] == ok.id

    now = timezone.now()
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert (delivery.lease_token, delivery.leased_until) == (None, None)
    assert (ok.status, ok.next_attempt_at) == (Delivery.Status.SUCCEEDED, None)
    assert ok.finished_at is not None
    for waiting in (retried, no_answer):
        assert waiting.status == Delivery.Status.PENDING and waiting.finished_at is None
        assert now < waiting.next_attempt_at < now + timedelta(minutes=5)
    assert (gone.status, gone.next_attempt_at) == (Delivery.Status.FAILED, None)

    for task in tasks:
        task.refresh_from_db()
    assert [t.callback_succeeded for t in tasks] == [True, None, None, False]
    assert tasks[0].callback_succeeded_at is not None and tasks[3].callback_succeeded_at is None


@pytest.mark.parametrize("newer_first", [False, True], ids=["older-first", "newer-first"])
@pytest.mark.parametrize("newer_ok", [True, False], ids=["newer-succeeds", "newer-fails"])
def test_two_deliveries_of_a_task_in_one_batch_callback_succeeded_follows_the_newer(
    account, newer_ok, newer_first
):
    profile = account.profile
    task = TaskFactory(owner=profile.user, status="completed")
    older = due_delivery(task, created_ago=timedelta(minutes=5))
    newer = due_delivery(task, event=Delivery.Event.RESENT)
    batch = [newer, older] if newer_first else [older, newer]

    record(
        batch,
        {
            older.id: answered(not newer_ok, 200 if not newer_ok else 410),
            newer.id: answered(newer_ok, 200 if newer_ok else 410),
        },
    )

    task.refresh_from_db()
    assert task.callback_succeeded is newer_ok
    assert (task.callback_succeeded_at is not None) is newer_ok
    assert set(Delivery.objects.filter(task=task).values_list("status", flat=True)) == {
        Delivery.Status.SUCCEEDED,
        Delivery.Status.FAILED,
    }


def test_a_delivery_to_the_longest_callback_url_is_claimed_and_recorded(account):
    """A callback URL may be 2,048 characters of multi-byte text (about 6 KB), more than a
    PostgreSQL B-tree entry may hold (2,704 bytes): no index that a claim or a record
    writes to may hold the target."""
    profile = account.profile
    task = TaskFactory(owner=profile.user, status="completed")
    prefix = "http://127.0.0.1:9/"
    cjk = random.Random(7).choices(
        [chr(c) for c in range(0x4E00, 0x9FFF)], k=MAX_CALLBACK_URL_LENGTH - len(prefix)
    )
    delivery = due_delivery(task, target=prefix + "".join(cjk))

    record([delivery], {delivery.id: answered(True, 200)})

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(delivery.target) == MAX_CALLBACK_URL_LENGTH


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_database_connection_was_cut_is_recorded_on_a_fresh_connection(account):
    """A received 2xx is recorded whenever the process lives on: the connection the recording
    would use was terminated (a database restart, a failover, pg_terminate_backend)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server connection to cut")
    delivery = due_delivery(TaskFactory(owner=account.user))
    (claim,) = deliveries_claim(ids=[delivery.id])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()

    attempts_record(results=[(claim, SendResult(headers=claim.headers, result=answered(True, 200)))])

    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert DeliveryAttempt.objects.get(delivery=delivery).status_code == 200
