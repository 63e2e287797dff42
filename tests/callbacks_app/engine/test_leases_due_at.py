"""The claim records when each attempt was due (``DeliveryAttempt.due_at``, the inbox's timing view)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.engine import deliveries_claim
from callbacks_app.models import DeliveryAttempt
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


def test_the_claimed_attempt_keeps_the_due_time_of_its_delivery(account):
    due = timezone.now() - timedelta(seconds=3)
    delivery = DeliveryFactory(status="pending", next_attempt_at=due, task__owner=account.user)

    (claim,) = deliveries_claim(ids=[delivery.id])

    attempt = DeliveryAttempt.objects.get(id=claim.attempt.id)
    assert attempt.due_at == due
    assert attempt.started_at >= due
