"""Secrets are masked at the storage boundary: what an attempt record keeps of a request.

The stored request headers show ``***`` for the callback auth key and the
signatures, and any secret a receiver echoes back in its answer (or that
ends up in an error text) is replaced by ``***`` before it is stored, however the
receiver re-encoded it (upper-cased, percent-encoded, …: ``echoed_forms``).
"""

import base64
import functools
import re
from urllib.parse import quote

from django.conf import settings

from tasks_app.models import Profile

MASK = "***"
SECRET_HEADERS = ("scale-callback-auth", "webhook-signature")


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored and shown: secrets replaced by ``***``."""
    return {name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def secret_values(*, profile: Profile | None, headers: dict[str, str]) -> list[str]:
    """Every secret an attempt could leak: keys, signing secrets (with and without
    their ``whsec_`` prefix) and the signatures it sent. ``profile`` None: an operators'
    alert, of no account, signed with ``OPS_WEBHOOK_SECRET``."""
    if profile is None:
        values = [settings.OPS_WEBHOOK_SECRET]
    else:
        values = [profile.live_callback_auth_key, profile.test_callback_auth_key, *profile.signing_secrets()]
    values += [v.removeprefix("whsec_") for v in values if v.startswith("whsec_")]
    for name, value in headers.items():
        if name.lower() == "webhook-signature":
            values += [part.partition(",")[2] for part in value.split()]
    return [v for v in values if v]


@functools.lru_cache(maxsize=4096)  # the keys and secrets of an account come back at every attempt
def echoed_forms(value: str) -> frozenset[str]:
    """The forms in which a receiver may echo a secret back, besides verbatim: percent-encoded
    (a query string, a form), with JSON's escaped slash, and, for a base64 secret, the hex
    of its bytes. ``scrub`` matches them ignoring case (an upper-cased key, ``%2b``)."""
    forms = {value, quote(value, safe=""), value.replace("/", "\\/")}
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) >= 16:  # a key, a signing secret or a signature: not a short word
        forms.add(raw.hex())
    return frozenset(forms)


def scrub(text: str, secret_values: list[str]) -> str:
    """``text`` with every occurrence of a secret replaced by ``***`` (a receiver
    may echo our request headers back in its answer or error), in any of its
    ``echoed_forms`` and in any case."""
    # Every form of a secret is at least as long as the secret: a short answer ("ok") holds none.
    if not text or not secret_values or len(text) < min(len(value) for value in secret_values):
        return text
    # Most answers echo nothing: a substring test first, and a pattern only for what is
    # there (the signatures differ at every attempt, so a pattern of all would be compiled
    # anew each time: a millisecond on the recording path).
    lowered = text.lower()
    forms = {form for value in secret_values for form in echoed_forms(value) if form.lower() in lowered}
    if not forms:
        return text
    pattern = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, MASK, text, flags=re.IGNORECASE)
