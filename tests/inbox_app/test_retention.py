"""The inbox's retention (SPEC §15): old requests and expired inboxes go in the daily prune."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from callbacks_app import schedules
from inbox_app import jobs
from inbox_app.models import CapturedRequest, Inbox
from inbox_app.services import inbox_create

pytestmark = pytest.mark.django_db


def captured(inbox, number, *, age):
    return CapturedRequest.objects.create(
        inbox=inbox, number=number, method="POST", path="/", received_at=timezone.now() - age
    )


def test_prune_drops_requests_past_the_retention_and_keeps_the_rest(inbox, settings):
    settings.INBOX_RETENTION_DAYS = 7
    old = captured(inbox, 1, age=timedelta(days=7, minutes=1))
    recent = captured(inbox, 2, age=timedelta(days=6))

    assert jobs.inbox_prune() == (1, 0)

    assert list(CapturedRequest.objects.values_list("id", flat=True)) == [recent.id]
    assert not CapturedRequest.objects.filter(id=old.id).exists()


def test_prune_drops_expired_inboxes_with_their_requests(account, inbox):
    expired = inbox_create(profile=account.profile, mode="live", name="old")
    captured(expired, 1, age=timedelta(minutes=1))
    Inbox.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert jobs.inbox_prune() == (0, 1)

    assert list(Inbox.objects.values_list("id", flat=True)) == [inbox.id]
    assert not CapturedRequest.objects.exists()


def test_the_inbox_prune_is_on_the_daily_schedule():
    schedule = Schedule.objects.get(name=schedules.INBOX_PRUNE_SCHEDULE_NAME)

    assert (schedule.func, schedule.schedule_type) == ("inbox_app.jobs.inbox_prune", Schedule.DAILY)
