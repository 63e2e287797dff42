"""Standard Webhooks signatures, verifiable with the ``standardwebhooks`` package."""

from datetime import datetime

from standardwebhooks.webhooks import Webhook


def sign(*, secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per valid secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets)


def active_signing_secrets(profile, *, mode: str, now: datetime) -> list[str]:
    """The secrets to sign a callback of ``mode`` with at ``now``: the mode's, and
    during the 24 h after a rotation also its previous one (SPEC §3, Standard
    Webhooks rotation), so that receivers still configured with the old secret
    keep verifying. Never the other mode's: a test secret cannot verify a live callback."""
    secrets = [profile.signing_secret_of(mode)]
    previous, expires_at = profile.previous_signing_secret_of(mode)
    if previous and expires_at is not None and expires_at > now:
        secrets.append(previous)
    return secrets
