"""The recording's hand-written lock of its deliveries (``callbacks_app.engine.record_sql``), on the
suite's backend (SQLite, then PostgreSQL in ``make test-postgres``), against what its ORM counterpart
says. The lock of their tasks is tasks_app's: tests/tasks_app/test_locks.py."""

import pytest
from django.db import transaction
from django.utils import timezone

from callbacks_app.engine import record_sql
from callbacks_app.models import Delivery
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
