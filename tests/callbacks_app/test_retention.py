"""Retention of the delivery log (SPEC §6.8): a daily django-q2 schedule prunes old finished deliveries."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from callbacks_app import jobs, schedules
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.services import deliveries_prune
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


def make_delivery(task, status, finished_days_ago=None) -> Delivery:
    now = timezone.now()
    return DeliveryFactory(
        task=task,
        event=Delivery.Event.COMPLETED,
        target="http://127.0.0.1:9/",
        payload="{}",
        status=status,
        finished_at=None if finished_days_ago is None else now - timedelta(days=finished_days_ago),
        attempted=True,
    )


def test_deliveries_prune_deletes_finished_deliveries_older_than_the_cutoff(task):
    old = [
        make_delivery(task, status, finished_days_ago=40)
        for status in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.SUPERSEDED)
    ]
    recent = make_delivery(task, Delivery.Status.SUCCEEDED, finished_days_ago=5)

    deleted = deliveries_prune(older_than=timezone.now() - timedelta(days=30))

    assert deleted == 3
    assert list(Delivery.objects.all()) == [recent]
    assert not DeliveryAttempt.objects.filter(delivery_id__in=[d.id for d in old]).exists()


def test_deliveries_prune_never_deletes_a_pending_delivery(task):
    pending = make_delivery(task, Delivery.Status.PENDING)
    Delivery.objects.filter(id=pending.id).update(created_at=timezone.now() - timedelta(days=400))

    deliveries_prune(older_than=timezone.now())

    assert Delivery.objects.filter(id=pending.id).exists()


def test_deliveries_prune_works_through_more_than_one_batch(task):
    for _ in range(5):
        make_delivery(task, Delivery.Status.FAILED, finished_days_ago=40)

    assert deliveries_prune(older_than=timezone.now(), batch_size=2) == 5
    assert not Delivery.objects.exists()


def test_prune_job_uses_callback_retention_days(task, settings):
    settings.CALLBACK_RETENTION_DAYS = 7
    make_delivery(task, Delivery.Status.SUCCEEDED, finished_days_ago=8)
    kept = make_delivery(task, Delivery.Status.SUCCEEDED, finished_days_ago=6)

    assert jobs.deliveries_prune() == 1
    assert list(Delivery.objects.all()) == [kept]


def test_a_daily_schedule_runs_the_prune_job():
    schedule = Schedule.objects.get(name=schedules.PRUNE_SCHEDULE_NAME)

    assert schedule.func == "callbacks_app.jobs.deliveries_prune"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats < 0  # forever


def test_migrating_again_keeps_exactly_one_prune_schedule():
    Schedule.objects.filter(name=schedules.PRUNE_SCHEDULE_NAME).update(schedule_type=Schedule.HOURLY)

    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)

    (schedule,) = Schedule.objects.filter(name=schedules.PRUNE_SCHEDULE_NAME)
    assert schedule.schedule_type == Schedule.DAILY
