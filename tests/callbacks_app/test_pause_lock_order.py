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

from callbacks_app.models import Delivery, TargetHealth
from callbacks_app.pausing import target_pause_set
from tests.factories import DeliveryFactory, TaskFactory

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
