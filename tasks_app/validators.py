"""Validation of outgoing targets at save time (SPEC §8): callback targets and attachment URLs."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from callbacks_app.targets import email_target
from scalehooks.outgoing.policy import is_forbidden_address, literal_address

MAX_CALLBACK_URL_LENGTH = 2048


def _refuse_forbidden_literal(hostname: str, *, what: str) -> None:
    """A host that literally denotes a forbidden address is refused now; a name is
    checked at send time, against every address it resolves to."""
    address = literal_address(hostname)
    if address is not None and is_forbidden_address(address):
        raise ValidationError(f"{what} to {address} are not allowed (private or reserved address).")


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
    _refuse_forbidden_literal(hostname, what="Callbacks")
    return value


def validate_attachment_url(value: str) -> str:
    """An attachment URL (already a valid URL for its task type) whose host is not a
    literal forbidden address: downloads go through the same guard as callbacks."""
    try:
        hostname = urlsplit(value).hostname
    except ValueError:
        raise ValidationError("Not a valid URL.") from None
    if hostname:
        _refuse_forbidden_literal(hostname, what="Downloads")
    return value
