"""django-q2 job functions: they take ids (or nothing), and call the service of the same name.

Queued by their dotted path (``callbacks_app.schedules.PRUNE_FUNC`` names the daily one).
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from callbacks_app import alerts, confirmations, health, pausing, recovery, services


def deliveries_prune() -> int:
    """Daily (see ``callbacks_app.schedules``): drop deliveries finished more than
    ``CALLBACK_RETENTION_DAYS`` days ago."""
    now = timezone.now()
    health.slots_prune(now=now)  # target health's ten-minute slots older than its 24 h figures
    return services.deliveries_prune(older_than=now - timedelta(days=settings.CALLBACK_RETENTION_DAYS))


def email_confirmation_send(confirmation_id: int) -> bool:
    return confirmations.email_confirmation_send(confirmation_id=confirmation_id)


def deliveries_recover(recovery_id: int) -> None:
    """The portal's recovery of a window (``callbacks_app.recovery``)."""
    recovery.deliveries_recover_run(recovery_id=recovery_id)


def alerts_fan_out(alert_ids: list[int]) -> int:
    return alerts.alerts_fan_out(alert_ids=alert_ids)


def targets_waiting_release(target_ids: list[int]) -> int:
    """Recovered targets' waiting deliveries, due at once (``pausing.target_waiting_release``)."""
    return sum(pausing.target_waiting_release(target_id=target_id) for target_id in target_ids)
