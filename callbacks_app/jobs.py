"""django-q2 job functions: they take ids (or nothing), and call a service."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from callbacks_app.sending import deliveries_drain
from callbacks_app.services import deliveries_prune


def drain_deliveries() -> None:
    deliveries_drain()


def prune_deliveries() -> int:
    """Daily (see ``callbacks_app.schedules``): drop deliveries finished more than
    ``CALLBACK_RETENTION_DAYS`` days ago."""
    older_than = timezone.now() - timedelta(days=settings.CALLBACK_RETENTION_DAYS)
    return deliveries_prune(older_than=older_than)
