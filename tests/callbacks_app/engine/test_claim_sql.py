"""The claim's hand-written statements (``callbacks_app.engine.claim_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from callbacks_app.engine import claim_sql
from callbacks_app.engine.leases import deliveries_claim
from callbacks_app.models import Delivery, DeliveryAttempt
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db


def delivery(task, **kwargs):
    return DeliveryFactory(task=task, owner_id=task.owner_id, payload="{}", **kwargs)


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


def test_a_claim_gives_each_delivery_what_sending_reads_of_its_task_or_batch(
    account, django_assert_num_queries
):
    from tasks_app.batches import batch_create, project_create

    user = account.user
    task = TaskFactory(owner=user, is_test=True)
    project_create(owner=user, mode="test", name="p", task_type="categorization", params={})
    batch = batch_create(owner=user, mode="test", project_name="p", name="the batch")
    of_task = delivery(task, due=True, target="http://127.0.0.1:9/callback")
    of_batch = DeliveryFactory(
        task=None,
        batch=batch,
        event="batch.completed",
        owner_id=user.id,
        payload="{}",
        due=True,
        target="http://127.0.0.1:9/callback",
    )

    claims = {claim.delivery.id: claim for claim in deliveries_claim(ids=[of_task.id, of_batch.id])}

    with django_assert_num_queries(0):  # nothing is read while sending
        sent_task, sent_batch = claims[of_task.id].delivery, claims[of_batch.id].delivery
        assert (sent_task.mode, sent_task.task.id, sent_task.task.status) == ("test", task.id, task.status)
        assert (sent_batch.mode, sent_batch.batch.name) == ("test", "the batch")


def test_tasks_for_sending_reads_what_sending_needs_of_the_deliveries_tasks_as_the_orm_does(task, account):
    from tasks_app.models import Task

    other = TaskFactory(owner=account.user, is_test=True, status="completed")
    deliveries = [delivery(task), delivery(task), delivery(other)]
    unrelated = TaskFactory(owner=account.user)
    for lock in (False, True):
        with transaction.atomic():
            found = claim_sql.tasks_for_sending(
                delivery_ids=[d.id for d in deliveries] + ["msg_gone"], lock=lock
            )
        assert set(found) == {task.id, other.id} and unrelated.id not in found
        for task_id, read in found.items():
            expected = Task.objects.only(*claim_sql.TASK_FIELDS_SENT).get(id=task_id)
            assert (read.id, read.is_test, read.status) == (expected.id, expected.is_test, expected.status)
            assert read.get_deferred_fields() == expected.get_deferred_fields()  # nothing else was read
    assert claim_sql.tasks_for_sending(delivery_ids=[], lock=False) == {}


def test_profiles_of_reads_each_accounts_profile_whole_as_the_orm_does(
    account, other_account, operator_account
):
    from tasks_app.models import Profile

    found = claim_sql.profiles_of(user_ids={account.user.id, other_account.user.id})
    assert set(found) == {account.user.id, other_account.user.id}
    for user_id, profile in found.items():
        expected = Profile.objects.get(user_id=user_id)
        assert {f.attname: getattr(profile, f.attname) for f in Profile._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in Profile._meta.concrete_fields
        }
        assert profile._state.adding is False
    assert claim_sql.profiles_of(user_ids=[]) == {}
