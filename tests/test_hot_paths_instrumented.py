"""Every hand-written statement of the hot paths runs on Django's own cursor: Django's
instrumentation (``connection.execute_wrapper``, and so ``connection.queries`` and OpenTelemetry's
Django instrumentation) sees each one, on SQLite and on PostgreSQL alike."""

import contextlib
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from callbacks_app import delivery_sql, health_sql
from callbacks_app.engine import claim_sql, pick_sql, record_sql
from callbacks_app.health import slot_of
from callbacks_app.models import Delivery, TargetHealth, TargetHealthSlot
from tasks_app import completion_sql, locks, profiles_sql
from tasks_app.models import Task
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db

TARGET = "http://127.0.0.1:9/callback"  # nothing is sent


@contextlib.contextmanager
def seen():
    """The first word of each statement Django's cursor runs inside the block."""
    words: list[str] = []

    def wrapper(execute, sql, params, many, context):
        words.append(sql.split(None, 1)[0].upper())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield words


def test_the_pick_claim_and_recording_statements_go_through_djangos_cursor(account):
    now = timezone.now()
    task = TaskFactory(owner=account.user, callback_url=TARGET)
    due = DeliveryFactory(task=task, owner_id=task.owner_id, payload="{}", due=True)
    with seen() as words:
        pick_sql.sends_in_flight(now=now)
    assert words == ["SELECT"]
    with seen() as words:
        pick_sql.due_candidates(now=now, window=10)
    assert words == ["SELECT"]
    with seen() as words:
        pick_sql.due_candidates(now=now, window=10, ids_out=["msg_other"])
    assert words == ["SELECT"]
    with seen() as words:
        pick_sql.any_target_paused()
    assert words == ["SELECT"]
    with transaction.atomic():
        with seen() as words:
            leased = claim_sql.deliveries_lease(
                ids=[due.id], token="t", now=now, until=now + timedelta(seconds=30)
            )
        assert words == ["UPDATE"]
        with seen() as words:
            claim_sql.attempts_open(deliveries=leased, now=now)
        assert words == ["INSERT"]
        with seen() as words:
            profiles_sql.profiles_of(user_ids=[account.user.id])
        assert words == ["SELECT"]
    with transaction.atomic():
        with seen() as words:
            locks.tasks_lock(task_ids=[task.id])
        assert words == (["SELECT"] if connection.features.has_select_for_update else [])
        with seen() as words:
            record_sql.lease_holders(ids=[due.id])
        assert words == ["SELECT"]


def test_the_health_statements_go_through_djangos_cursor(account):
    now = slot_of(timezone.now())
    key = (account.user.id, "live", "http://a.example")
    row = TargetHealth.objects.create(owner_id=key[0], mode=key[1], origin=key[2])
    with transaction.atomic():
        with seen() as words:
            found = health_sql.rows_locked(keys=[key], slot_start=now)
        assert words == ["SELECT", "SELECT"]  # the rows, then their slots
        assert found[key][1] is None
        with seen() as words:
            health_sql.slots_write([TargetHealthSlot(health=row, start=now, attempts=1, succeeded=1)])
        assert words == ["INSERT"]  # one upsert on PostgreSQL; SQLite's executemany of it
    assert TargetHealthSlot.objects.get(health=row).attempts == 1


def test_the_completion_and_delivery_statements_go_through_djangos_cursor(account):
    now = timezone.now()
    task = TaskFactory(owner=account.user, callback_url=TARGET)
    with seen() as words:
        checked = completion_sql.task_to_check(task.id)
    assert words == ["SELECT"]
    with seen() as words:
        left = completion_sql.task_leave_pending_at_once(
            checked,
            status=Task.Status.COMPLETED,
            response={"category": "red"},
            now=now,
            completed=True,
            event=Delivery.Event.COMPLETED,
        )
    # One statement on PostgreSQL, the task's change with its delivery; SQLite has no such statement.
    if connection.vendor == "postgresql":
        assert (words, left.status) == (["WITH"], Task.Status.COMPLETED)
    else:
        assert (words, left) == ([], None)
    other = TaskFactory(owner=account.user, callback_url=TARGET)
    with transaction.atomic():
        with seen() as words:
            completion_sql.task_leave_pending(
                task_id=other.id, status=Task.Status.ERROR, response={}, now=now, completed=False
            )
        assert words == ["UPDATE"]
        with seen() as words:
            delivery_sql.delivery_insert(
                Delivery(
                    task=other,
                    owner_id=other.owner_id,
                    event=Delivery.Event.ERROR,
                    target=TARGET,
                    target_origin="http://127.0.0.1:9",
                    payload="{}",
                    next_attempt_at=now,
                ),
                now=now,
            )
        assert words == ["INSERT"]
