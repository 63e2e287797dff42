"""Secrets are masked at the storage boundary: what an attempt record keeps of a request.

The stored request headers show ``***`` for the callback auth key and the
signatures, and any secret a receiver echoes back in its answer (or that
ends up in an error text) is replaced by ``***`` before it is stored.
"""

from tasks_app.models import Profile

MASK = "***"
SECRET_HEADERS = ("scale-callback-auth", "webhook-signature")


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored and shown: secrets replaced by ``***``."""
    return {name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def secret_values(*, profile: Profile, headers: dict[str, str]) -> list[str]:
    """Every secret an attempt could leak: keys, signing secrets (with and without
    their ``whsec_`` prefix) and the signatures it sent."""
    values = [profile.live_callback_auth_key, profile.test_callback_auth_key, *profile.signing_secrets()]
    values += [v.removeprefix("whsec_") for v in values if v.startswith("whsec_")]
    for name, value in headers.items():
        if name.lower() == "webhook-signature":
            values += [part.partition(",")[2] for part in value.split()]
    return [v for v in values if v]


def scrub(text: str, secret_values: list[str]) -> str:
    """``text`` with every occurrence of a secret replaced by ``***`` (a receiver
    may echo our request headers back in its answer or error)."""
    for value in secret_values:
        if value in text:
            text = text.replace(value, MASK)
    return text
