"""Which due deliveries a drain job picks (per-target caps, SPEC §10 isolation)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.engine.picking import PER_JOB_TARGET_SLOTS, deliveries_to_send
from callbacks_app.models import Delivery
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db

HANGING, HEALTHY = "http://hanging.example/hook", "http://healthy.example/hook"


@pytest.fixture
def backlog(account):
    """200 due deliveries to a hanging target, older than 10 to a healthy one."""
    task = TaskFactory(owner=account.user)
    now = timezone.now()

    def make(target, count, age_seconds):
        return [
            DeliveryFactory(task=task, target=target, payload="{}", due=True,
                            next_attempt_at=now - timedelta(seconds=age_seconds - i * 0.001))
            for i in range(count)
        ]

    return make(HANGING, 200, 600), make(HEALTHY, 10, 60)


def test_a_target_at_its_cap_is_left_out_even_when_its_deliveries_are_the_oldest(backlog, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hanging, healthy = backlog
    Delivery.objects.filter(id__in=[d.id for d in hanging[:4]]).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )

    picked = deliveries_to_send(now=timezone.now(), limit=8)

    # The healthy target has a cap of 4 too.
    assert picked == [d.id for d in healthy[:4]]


def test_a_target_below_its_cap_gets_only_the_room_left(backlog, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hanging, healthy = backlog
    Delivery.objects.filter(id=hanging[0].id).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )

    picked = deliveries_to_send(now=timezone.now(), limit=8)

    assert picked == [d.id for d in hanging[1:4]] + [d.id for d in healthy[:4]]


def test_one_target_holds_at_most_its_share_of_a_drain_jobs_slots(backlog, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    hanging, healthy = backlog

    picked = deliveries_to_send(now=timezone.now(), limit=32, held={HANGING: PER_JOB_TARGET_SLOTS - 2})

    assert len([d for d in picked if d in {h.id for h in hanging}]) == 2
    assert {d.id for d in healthy} <= set(picked)
