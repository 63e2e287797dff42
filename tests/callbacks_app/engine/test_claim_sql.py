"""The claim's hand-written statements (``callbacks_app.engine.claim_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callbacks_app.engine import claim_sql
from callbacks_app.engine.leases import deliveries_claim
from callbacks_app.models import Delivery, DeliveryAttempt
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db


def delivery(task, **kwargs):
    return DeliveryFactory(task=task, owner_id=task.owner_id, **{"payload": "{}", **kwargs})


def test_the_lease_takes_only_what_is_pending_due_and_free(task):
    now = timezone.now()
    due = delivery(task, due=True)
    first_at = now - timedelta(minutes=1)
    retried = delivery(task, due=True, attempt_count=1, first_attempt_at=first_at)
    later = delivery(task, status="pending", next_attempt_at=now + timedelta(minutes=1))
    held = delivery(task, due=True, lease_token="other", leased_until=now + timedelta(minutes=1))
    lapsed = delivery(task, due=True, lease_token="dead", leased_until=now - timedelta(seconds=1))
    finished = delivery(task, next_attempt_at=now - timedelta(seconds=1))  # succeeded
    ids = [d.id for d in (due, retried, later, held, lapsed, finished)]
    until = now + timedelta(seconds=40)

    taken = claim_sql.deliveries_lease(ids=ids, token="mine", now=now, until=until)

    rows = {d.id: d for d in Delivery.objects.filter(id__in=ids)}
    assert sorted(d.id for d in taken) == sorted(d.id for d in (due, retried, lapsed))
    for returned in taken:  # the deliveries as the lease left them, every field as stored
        stored = rows[returned.id]
        assert {f.attname: getattr(returned, f.attname) for f in Delivery._meta.concrete_fields} == {
            f.attname: getattr(stored, f.attname) for f in Delivery._meta.concrete_fields
        }
    assert [d.created_at for d in taken] == sorted((d.created_at for d in taken), reverse=True)
    for taken_one in (due, retried, lapsed):
        row = rows[taken_one.id]
        assert (row.lease_token, row.leased_until) == ("mine", until)
        assert row.attempt_count == taken_one.attempt_count + 1
    assert rows[due.id].first_attempt_at == now
    assert rows[retried.id].first_attempt_at == first_at  # the first attempt's time is kept
    for left in (later, held, finished):
        assert (rows[left.id].lease_token, rows[left.id].attempt_count) == (
            left.lease_token,
            left.attempt_count,
        )


def test_a_lease_loses_to_another_workers_lease_taken_first(task):
    now = timezone.now()
    one = delivery(task, due=True)
    until = now + timedelta(seconds=40)
    assert [d.id for d in claim_sql.deliveries_lease(ids=[one.id], token="a", now=now, until=until)] == [
        one.id
    ]
    assert claim_sql.deliveries_lease(ids=[one.id], token="b", now=now, until=until) == []
    assert Delivery.objects.get(id=one.id).lease_token == "a"


def test_the_attempts_open_unfinished_in_one_insert_with_their_number_and_due_time(task):
    now = timezone.now()
    due_times = [now - timedelta(seconds=s) for s in (3, 2, 1)]
    deliveries = [
        delivery(task, due=True, next_attempt_at=t, attempt_count=n)
        for n, t in zip((1, 2, 5), due_times, strict=True)
    ]

    attempts = claim_sql.attempts_open(deliveries=deliveries, now=now)

    assert [a.delivery_id for a in attempts] == [d.id for d in deliveries]
    stored = {a.id: a for a in DeliveryAttempt.objects.filter(delivery__in=deliveries)}
    assert set(stored) == {a.id for a in attempts}
    for attempt, source in zip(attempts, deliveries, strict=True):
        row = stored[attempt.id]
        assert (row.delivery_id, row.number, row.started_at, row.due_at) == (
            source.id,
            source.attempt_count,
            now,
            source.next_attempt_at,
        )
        assert (row.error, row.succeeded, row.status_code, row.request_headers) == (
            DeliveryAttempt.UNFINISHED,
            False,
            None,
            {},
        )
        assert (attempt.number, attempt.due_at) == (row.number, row.due_at)


def test_a_claim_leases_counts_and_opens_an_attempt_due_when_the_delivery_was(task):
    due_at = timezone.now() - timedelta(seconds=2)
    one = delivery(task, due=True, next_attempt_at=due_at, target="http://127.0.0.1:9/callback")

    (claim,) = deliveries_claim(ids=[one.id])

    row = Delivery.objects.get(id=one.id)
    assert (row.lease_token, row.attempt_count) == (claim.token, 1)
    attempt = DeliveryAttempt.objects.get(delivery=one)
    assert (attempt.id, attempt.number, attempt.due_at) == (claim.attempt.id, 1, due_at)
    assert deliveries_claim(ids=[one.id]) == []  # held now


def test_a_claim_reads_nothing_of_a_task_or_batch_and_sending_needs_nothing_of_them(
    account, django_assert_num_queries
):
    from callbacks_app.envelope import email_subject
    from callbacks_app.payloads import batch_callback_payload, callback_payload
    from tasks_app.batches import batch_create, project_create

    user = account.user
    task = TaskFactory(owner=user, is_test=True, status="completed")
    project_create(owner=user, mode="test", name="p", task_type="categorization", params={})
    batch = batch_create(owner=user, mode="test", project_name="p", name="the batch")
    of_task = delivery(task, due=True, target="http://127.0.0.1:9/callback", payload=callback_payload(task))
    of_batch = DeliveryFactory(
        task=None,
        batch=batch,
        event="batch.completed",
        owner_id=user.id,
        payload=batch_callback_payload(batch, counts={}),
        due=True,
        target="http://127.0.0.1:9/callback",
    )

    with CaptureQueriesContext(connection) as queries:
        claims = {claim.delivery.id: claim for claim in deliveries_claim(ids=[of_task.id, of_batch.id])}
    read = [
        q["sql"]
        for q in queries.captured_queries
        if "tasks_app_task" in q["sql"] or "tasks_app_batch" in q["sql"]
    ]
    assert read == []  # the claim neither reads nor locks a task or a batch

    with django_assert_num_queries(0):  # nor does sending
        sent_task, sent_batch = claims[of_task.id].delivery, claims[of_batch.id].delivery
        assert (sent_task.mode, email_subject(sent_task)) == ("test", f"Task {task.id} completed")
        assert (sent_batch.mode, email_subject(sent_batch)) == ("test", "Batch the batch completed")


def test_a_claim_that_fails_an_exhausted_delivery_locks_its_task_before_the_delivery(task, settings):
    """The one case a claim writes a task (the outcome of a delivery it fails): the task is
    locked before the delivery's row, as every change of a task and its deliveries does."""
    from callbacks_app.engine.leases import max_attempts
    from tasks_app.models import Task

    exhausted = delivery(task, due=True, attempt_count=max_attempts(), target="http://127.0.0.1:9/callback")
    fresh = delivery(TaskFactory(owner=task.owner), due=True, target="http://127.0.0.1:9/callback")

    with CaptureQueriesContext(connection) as queries:
        claims = deliveries_claim(ids=[exhausted.id, fresh.id])

    assert [claim.delivery.id for claim in claims] == [fresh.id]
    row = Delivery.objects.get(id=exhausted.id)
    assert (row.status, row.attempt_count, row.lease_token) == ("failed", max_attempts(), None)
    assert Task.objects.get(id=task.id).callback_succeeded is False
    statements = [q["sql"] for q in queries.captured_queries]
    leases = [
        n
        for n, sql in enumerate(statements)
        if sql.startswith('UPDATE "callbacks_app_delivery" SET "lease_token"')
    ]
    task_locks = [n for n, sql in enumerate(statements) if "tasks_app_task" in sql and "FOR UPDATE" in sql]
    if connection.features.has_select_for_update:
        # The first lease found a delivery it fails, rolled back, and leased again with its task locked.
        assert len(leases) == 2 and len(task_locks) == 1 and leases[0] < task_locks[0] < leases[1]
        assert any("ROLLBACK TO SAVEPOINT" in sql for sql in statements[leases[0] : task_locks[0]])
    else:
        assert len(leases) == 1 and task_locks == []  # SQLite's write transaction is the lock
