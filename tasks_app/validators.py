"""Validation of callback targets at save time (SPEC §8)."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from callbacks_app.targets import email_target
from scalehooks.outgoing.policy import is_forbidden_address, literal_address

MAX_CALLBACK_URL_LENGTH = 2048


def validate_callback_target(value: str) -> str:
    """An ``http(s)`` URL without credentials, an email address or a ``mailto:`` URL."""
    if value == "":
        return value
    if len(value) > MAX_CALLBACK_URL_LENGTH:
        raise ValidationError(f"Must be at most {MAX_CALLBACK_URL_LENGTH} characters.")
    if email_target(value):
        return value
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Must be an http(s) URL or an email address.")
    if not hostname:
        raise ValidationError("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("Credentials in the URL are not allowed.")
    address = literal_address(hostname)
    if address is not None and is_forbidden_address(address):
        raise ValidationError(f"Callbacks to {address} are not allowed (private or reserved address).")
    return value
