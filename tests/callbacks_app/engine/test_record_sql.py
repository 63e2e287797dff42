"""The recording's hand-written locks (``callbacks_app.engine.record_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``), each against what its ORM counterpart says."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callbacks_app.engine import record_sql
from callbacks_app.models import Delivery
from tasks_app.models import Task
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db


def delivery(task, **kwargs):
    return DeliveryFactory(task=task, owner_id=task.owner_id, payload="{}", **kwargs)


def test_lease_holders_reads_each_delivery_token_and_status_as_the_orm_does(account):
    task = TaskFactory(owner=account.user)
    rows = [
        delivery(task, status="pending", lease_token="tok-1", leased_until=timezone.now()),
        delivery(task, status="superseded", lease_token="tok-2"),
        delivery(task, status="pending"),
    ]
    other = delivery(TaskFactory(owner=account.user), status="pending", lease_token="not-asked")
    ids = [row.id for row in rows] + ["msg_gone"]
    with transaction.atomic():
        holders = record_sql.lease_holders(ids=ids)
    expected = {
        id_: (token, status)
        for id_, token, status in Delivery.objects.filter(id__in=ids).values_list(
            "id", "lease_token", "status"
        )
    }
    assert holders == expected
    assert holders[rows[0].id] == ("tok-1", "pending")
    assert holders[rows[2].id] == (None, "pending")
    assert other.id not in holders and "msg_gone" not in holders
    assert record_sql.lease_holders(ids=[]) == {}


def test_tasks_lock_reads_nothing_where_rows_cannot_be_locked(account):
    if connection.features.has_select_for_update:
        pytest.skip(
            "PostgreSQL locks the rows: test_tasks_lock_blocks_another_transaction_on_those_tasks_only"
        )
    one = delivery(TaskFactory(owner=account.user))
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        record_sql.tasks_lock(delivery_ids=[one.id])
    assert [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]] == []


@pytest.mark.django_db(transaction=True)
def test_tasks_lock_blocks_another_transaction_on_those_tasks_only(account):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no rows: its write transaction serialises the recorders")
    mine, theirs = TaskFactory(owner=account.user), TaskFactory(owner=account.user)
    one = delivery(mine)
    seen = {}

    def other_transaction():
        try:
            with transaction.atomic():
                free = Task.objects.select_for_update(nowait=True).filter(id=theirs.id)
                seen["theirs"] = [task.id for task in free]
                try:
                    list(Task.objects.select_for_update(nowait=True).filter(id=mine.id))
                    seen["mine"] = "taken"
                except DatabaseError:  # could not obtain the lock
                    seen["mine"] = "locked"
        finally:
            connections.close_all()

    with transaction.atomic():
        record_sql.tasks_lock(delivery_ids=[one.id, "msg_unknown"])
        thread = threading.Thread(target=other_transaction)
        thread.start()
        thread.join()
    assert seen == {"theirs": [theirs.id], "mine": "locked"}
