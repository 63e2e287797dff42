"""django-q2 job functions of the inbox, named by dotted path in ``callbacks_app.schedules``."""

from inbox_app import services


def inbox_prune() -> tuple[int, int]:
    """Daily: captured requests past ``INBOX_RETENTION_DAYS`` and expired inboxes."""
    return services.inbox_prune()
