"""django-q2 job functions: they take ids, and call a service."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from callbacks_app.services import callback_deliver, deliveries_prune


def deliver_callback(delivery_id: str, lease_token: str | None = None) -> None:
    callback_deliver(delivery_id=delivery_id, lease_token=lease_token)


def prune_deliveries() -> int:
    """Daily (see ``callbacks_app.schedules``): drop deliveries finished more than
    ``CALLBACK_RETENTION_DAYS`` days ago."""
    older_than = timezone.now() - timedelta(days=settings.CALLBACK_RETENTION_DAYS)
    return deliveries_prune(older_than=older_than)
