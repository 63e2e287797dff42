"""A resume by hand takes its locks in the recorder's order (deliveries, then the health row),
so a resume and a recording of the same target wait for each other instead of deadlocking.

The recorder locks a batch's deliveries, then their targets' health rows
(``engine.recording``). A resume that locked the health row first and then
moved its deliveries' windows would wait for a delivery the recorder holds while
the recorder waits for the row: PostgreSQL aborts one of them as a deadlock.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from callbacks_app.engine.attempt import SendResult
from callbacks_app.engine.leases import deliveries_claim
from callbacks_app.engine.recording import attempts_record
from callbacks_app.models import Delivery, TargetHealth
from callbacks_app.pausing import target_pause_set
from callbacks_app.transport import CallbackResult
from scalehooks.errors import IllegalStateChange
from tests.factories import DeliveryFactory, TaskFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_resume_waits_for_a_recording_that_holds_its_deliveries_and_both_finish(account):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no rows: its write transaction serialises the two")
    now = timezone.now()
    task = TaskFactory(owner=account.user)
    held = DeliveryFactory(
        task=task,
        owner_id=account.user.id,
        payload="{}",
        status="pending",
        target="http://paused.example/hook",
        next_attempt_at=now,
        first_attempt_at=now - timedelta(hours=1),
    )
    row = TargetHealth.objects.create(
        owner_id=account.user.id,
        mode="live",
        origin=held.target_origin,
        state="paused",
        paused_at=now - timedelta(minutes=5),
        windows_frozen_at=now - timedelta(minutes=5),
        paused_by="account",
    )
    holding, errors, done = threading.Event(), {}, {}

    def recording():
        """As ``engine.recording`` locks: the batch's delivery, then its target's health row."""
        try:
            with transaction.atomic():
                list(Delivery.objects.select_for_update().filter(id=held.id))
                holding.set()
                time.sleep(0.5)  # the resume starts meanwhile and waits on a lock
                list(TargetHealth.objects.select_for_update().filter(id=row.id))
            done["recording"] = True
        except Exception as exc:
            errors["recording"] = exc
        finally:
            connections.close_all()

    def resume():
        try:
            holding.wait(10)
            target_pause_set(target=row, paused=False, by="account")
            done["resume"] = True
        except Exception as exc:
            errors["resume"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=recording), threading.Thread(target=resume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == {}
    assert done == {"recording": True, "resume": True}
    row.refresh_from_db()
    held.refresh_from_db()
    assert row.state == "healthy" and row.windows_frozen_at is None
    assert held.first_attempt_at > now - timedelta(hours=1)  # its window moved by the pause


def waiting_on_locks() -> int:
    """How many sessions of the test database wait on a lock."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def test_a_probe_recovering_its_paused_target_and_a_resume_at_once_both_finish(account):
    """The recording of a paused target's probe that succeeds resumes the target and moves its
    held deliveries' windows; a resume by hand at the same time locks those deliveries, then the row.
    The recorder locks them before the row too (a deadlock on PostgreSQL the other way round)."""
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no rows: its write transaction serialises the two")
    now = timezone.now()
    task = TaskFactory(owner=account.user)
    common = {
        "task": task,
        "owner_id": account.user.id,
        "payload": "{}",
        "status": "pending",
        "target": "http://paused.example/hook",
        "first_attempt_at": now - timedelta(hours=1),
    }
    held = DeliveryFactory(id="dlv_a_held", next_attempt_at=now + timedelta(hours=1), **common)
    probe = DeliveryFactory(id="dlv_z_probe", next_attempt_at=now, **common)  # after ``held`` in id order
    row = TargetHealth.objects.create(
        owner_id=account.user.id,
        mode="live",
        origin=held.target_origin,
        state="paused",
        consecutive_failures=30,
        failing_since=now - timedelta(hours=2),
        paused_at=now - timedelta(minutes=5),
        windows_frozen_at=now - timedelta(minutes=5),
        paused_by="automatic",
        probe_delivery_id=probe.id,
    )
    (claim,) = deliveries_claim(ids=[probe.id])
    sent = SendResult(headers={}, result=CallbackResult(ok=True, duration_ms=5, status_code=200))
    blocker = connections.create_connection("default")  # holds the row until both wait on locks
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {TargetHealth._meta.db_table} WHERE id = %s FOR UPDATE", [row.id])
    errors, done = {}, {}

    def recording():
        try:
            attempts_record(results=[(claim, sent)])
            done["recording"] = True
        except Exception as exc:
            errors["recording"] = exc
        finally:
            connections.close_all()

    def resume():
        try:
            target_pause_set(target=row, paused=False, by="account")
            done["resume"] = True
        except IllegalStateChange:
            done["resume"] = "resumed by the probe first"
        except Exception as exc:
            errors["resume"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=recording), threading.Thread(target=resume)]
    threads[0].start()
    wait_until(lambda: waiting_on_locks() >= 1, 10, "the recording never waited for the row")
    threads[1].start()
    wait_until(lambda: waiting_on_locks() >= 2, 10, "the resume never waited on a lock")
    blocker.rollback()
    blocker.close()
    for thread in threads:
        thread.join(30)

    assert errors == {}
    assert set(done) == {"recording", "resume"}
    probe.refresh_from_db()
    held.refresh_from_db()
    row.refresh_from_db()
    assert probe.status == "succeeded"  # its attempt was recorded
    assert row.state == "healthy" and row.windows_frozen_at is None
    assert held.first_attempt_at > now - timedelta(hours=1)  # its window moved by the pause
