"""The periodic django-q2 schedules of callbacks_app, ensured after every ``migrate``.

A ``post_migrate`` handler rather than a data migration: it runs again after
every ``migrate`` (and after the test suite's flushes), so the schedule exists
whatever happened to the table, and it never duplicates a schedule. The
scheduler's next run time is left alone when the schedule already exists.
"""

from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from django_q.models import Schedule

PRUNE_SCHEDULE_NAME = "callbacks: prune old deliveries"
PRUNE_FUNC = "callbacks_app.jobs.deliveries_prune"
PRUNE_SCHEDULE = {"func": PRUNE_FUNC, "schedule_type": Schedule.DAILY, "repeats": -1}


def ensure_schedules(*, apps=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create or correct the daily prune schedule (idempotent)."""
    if apps is None:
        from django.apps import apps
    try:
        schedule_model = apps.get_model("django_q", "Schedule")
    except LookupError:  # django_q not migrated (yet) on this database
        return
    schedule, created = schedule_model.objects.using(using).get_or_create(
        name=PRUNE_SCHEDULE_NAME,
        defaults={**PRUNE_SCHEDULE, "next_run": timezone.now() + timedelta(hours=1)},
    )
    if not created and any(getattr(schedule, field) != value for field, value in PRUNE_SCHEDULE.items()):
        for field, value in PRUNE_SCHEDULE.items():
            setattr(schedule, field, value)
        schedule.save(using=using, update_fields=list(PRUNE_SCHEDULE))


def ensure_schedules_after_migrate(sender, app_config=None, using=DEFAULT_DB_ALIAS, apps=None, **kwargs):
    """``post_migrate`` receiver."""
    ensure_schedules(apps=apps, using=using)
