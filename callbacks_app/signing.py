"""Standard Webhooks signatures, verifiable with the ``standardwebhooks`` package."""

from datetime import datetime

from standardwebhooks.webhooks import Webhook


def sign(*, secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per valid secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets)
