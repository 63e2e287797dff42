"""The delivery's hand-written INSERT (``callbacks_app.delivery_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from callbacks_app.delivery_sql import delivery_insert
from callbacks_app.models import Delivery
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def test_the_row_stored_is_the_delivery_as_built(account):
    task = TaskFactory(owner=account.user)
    now = timezone.now()
    built = Delivery(
        task=task,
        owner_id=task.owner_id,
        event=Delivery.Event.COMPLETED,
        target="https://hooks.example/é?x=1",
        target_origin="https://hooks.example:443",
        payload='{"task_id":"t","note":"é"}',
        next_attempt_at=now + timedelta(seconds=5),
    )

    saved = delivery_insert(built, now=now)

    stored = Delivery.objects.get(id=saved.id)
    assert model_to_dict(stored) == model_to_dict(saved)
    assert (stored.created_at, stored.status, stored.attempt_count, stored.lease_token) == (
        now,
        Delivery.Status.PENDING,
        0,
        None,
    )
    assert not saved._state.adding


def test_the_constraints_hold_a_delivery_of_neither_task_nor_batch_is_refused(account):
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery_insert(
            Delivery(
                owner_id=account.user.id, event=Delivery.Event.COMPLETED, target="http://x", payload="{}"
            ),
            now=timezone.now(),
        )
