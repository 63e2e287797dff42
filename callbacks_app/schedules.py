"""The periodic django-q2 schedules (callbacks_app's, and the inbox's prune), ensured after every ``migrate``.

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
# The callback inbox's retention (SPEC §15) rides on the same daily schedule mechanism; named by
# its dotted path, so that callbacks_app imports nothing of inbox_app.
INBOX_PRUNE_SCHEDULE_NAME = "inbox: prune old captured requests and expired inboxes"
INBOX_PRUNE_SCHEDULE = {"func": "inbox_app.jobs.inbox_prune", "schedule_type": Schedule.DAILY, "repeats": -1}
SCHEDULES = {PRUNE_SCHEDULE_NAME: PRUNE_SCHEDULE, INBOX_PRUNE_SCHEDULE_NAME: INBOX_PRUNE_SCHEDULE}


def ensure_schedules(*, apps=None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create or correct the daily prune schedules (idempotent)."""
    if apps is None:
        from django.apps import apps
    try:
        schedule_model = apps.get_model("django_q", "Schedule")
    except LookupError:  # django_q not migrated (yet) on this database
        return
    for name, spec in SCHEDULES.items():
        schedule, created = schedule_model.objects.using(using).get_or_create(
            name=name, defaults={**spec, "next_run": timezone.now() + timedelta(hours=1)}
        )
        if not created and any(getattr(schedule, field) != value for field, value in spec.items()):
            for field, value in spec.items():
                setattr(schedule, field, value)
            schedule.save(using=using, update_fields=list(spec))


def ensure_schedules_after_migrate(sender, app_config=None, using=DEFAULT_DB_ALIAS, apps=None, **kwargs):
    """``post_migrate`` receiver."""
    ensure_schedules(apps=apps, using=using)
