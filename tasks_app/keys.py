"""Generation and hashing of the secrets an account holds (SPEC §3).

API keys are only ever stored hashed. They carry 128 random bits, so a single
SHA-256 is the right hash (as for GitHub or Stripe tokens): a slow password
hash would add nothing but latency to every request.
"""

import base64
import hashlib
import secrets
import time

from django.db import models


class Mode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


def mode_field(mode: str, name: str) -> str:
    """The profile field holding the ``name`` setting of ``mode``: ``live_signing_secret``…"""
    return f"{Mode(mode).value}_{name}"


API_KEY_VISIBLE_PREFIX = 9  # "live_" + 4 hex: enough to tell keys apart in the admin


def generate_api_key(mode: Mode) -> str:
    return f"{mode.value}_{secrets.token_hex(16)}"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_link_token() -> str:
    """The token of a one-time link (portal sign-in links, team invitations): 128 random bits."""
    return secrets.token_urlsafe(16)


# What is stored of a link's token: its SHA-256, as of an API key (128 random bits need no slow hash).
hash_link_token = hash_api_key


def api_key_prefix(key: str) -> str:
    return key[:API_KEY_VISIBLE_PREFIX]


def generate_callback_auth_key() -> str:
    return secrets.token_hex(16)


def generate_signing_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def generate_task_id() -> str:
    """24 lowercase hex, shaped like Scale's (MongoDB ObjectId) ids.

    The first 8 hex are the creation time in seconds, so ids sort roughly by
    creation; the remaining 16 are random.
    """
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def mask_secret(value: str) -> str:
    """What an operator may see of a secret: its first few characters."""
    if not value:
        return ""
    return value[:API_KEY_VISIBLE_PREFIX] + "…"
