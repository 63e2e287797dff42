"""A claim that fails a delivery of a task (out of attempts) and a resend of that task at once:
both finish, on PostgreSQL, where rows lock.

A resend locks the task, then its pending deliveries (``callbacks_app.resends``). A claim
leases its deliveries (their rows locked) and, for one it fails, records the task's outcome
(the task's row): were it to lock the task after the delivery, it would wait for the resend
while the resend waits for the delivery, and PostgreSQL would abort one of them as a deadlock.
The claim locks the task first instead (``engine.leases.deliveries_claim``).
"""

import threading

import pytest
from django.db import connection, connections

from callbacks_app import resends
from callbacks_app.engine.leases import deliveries_claim, max_attempts
from callbacks_app.models import Delivery
from tests.factories import DeliveryFactory, TaskFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def sessions_waiting_on_a_lock() -> int:
    """Asked inside a transaction, whose view of the statistics is otherwise read once."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def test_a_claim_failing_a_tasks_delivery_and_a_resend_of_the_task_both_finish(account, monkeypatch):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no rows: its write transaction serialises the two")
    task = TaskFactory(owner=account.user, status="completed", callback_url="http://127.0.0.1:9/hook")
    exhausted = DeliveryFactory(
        task=task, payload="{}", due=True, attempt_count=max_attempts(), target="http://127.0.0.1:9/hook"
    )
    errors, claimed = {}, {}

    def claim():
        try:
            claimed["claims"] = deliveries_claim(ids=[exhausted.id])
        except Exception as exc:
            errors["claim"] = exc
        finally:
            connections.close_all()

    claiming = threading.Thread(target=claim)
    refusal = resends.callback_resend_refusal

    def refusal_once_the_claim_waits(*, task, now=None):
        """Inside the resend's transaction, the task locked: the claim starts, and waits on a lock."""
        claiming.start()
        wait_until(lambda: sessions_waiting_on_a_lock() >= 1, 10, "the claim never waited on a lock")
        return refusal(task=task, now=now)

    monkeypatch.setattr(resends, "callback_resend_refusal", refusal_once_the_claim_waits)
    new = resends.callback_resend(task_id=task.id, enqueue=False)
    claiming.join(30)

    assert errors == {}
    assert claimed["claims"] == []  # the resend superseded it before the claim could lease it
    assert Delivery.objects.get(id=exhausted.id).status == "superseded"
    assert Delivery.objects.get(id=new.id).status == "pending"
