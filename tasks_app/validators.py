"""Validation of outgoing targets at save time (SPEC §8): callback targets and attachment URLs."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from callbacks_app.targets import email_target
from scalehooks.outgoing.policy import (
    is_forbidden_address,
    is_own_inbox_url,
    literal_address,
    networks_parse,
)

MAX_CALLBACK_URL_LENGTH = 2048


def _refuse_forbidden_literal(hostname: str, *, what: str, account_networks=()) -> None:
    """A host that literally denotes a forbidden address is refused now (unless the settings or
    ``account_networks`` open it); a name is checked at send time, against every address it
    resolves to."""
    address = literal_address(hostname)
    if address is not None and is_forbidden_address(address, account_networks=account_networks):
        raise ValidationError(f"{what} to {address} are not allowed (private or reserved address).")


def validate_callback_target(value: str, *, allowed_networks=()) -> str:
    """An ``http(s)`` URL without credentials, an email address or a ``mailto:`` URL.

    A literal forbidden address is refused unless the settings or
    ``allowed_networks`` (the account's, ``Profile.allowed_networks``) open it,
    or the URL is one of this service's inboxes (``is_own_inbox_url``, SPEC §15)."""
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
    if not is_own_inbox_url(value):
        _refuse_forbidden_literal(hostname, what="Callbacks", account_networks=allowed_networks)
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


class CallbackTargetValidator:
    """``validate_callback_target`` as a serializer field's validator, with the
    account's allowed networks from the serializer's context (``allowed_networks``)."""

    requires_context = True

    def __call__(self, value, serializer_field):
        return validate_callback_target(
            value, allowed_networks=serializer_field.context.get("allowed_networks", ())
        )


MAX_ALLOWED_NETWORKS = 100


def validate_allowed_networks(values: list[str]) -> list[str]:
    """CIDRs an operator opens to one account, normalised (``10.1.2.3/8`` → ``10.0.0.0/8``)."""
    if len(values) > MAX_ALLOWED_NETWORKS:
        raise ValidationError(f"At most {MAX_ALLOWED_NETWORKS} networks.")
    networks = []
    for value in values:
        try:
            (network,) = networks_parse([str(value).strip()])
        except ValueError:
            raise ValidationError(f"Not a network in CIDR notation: {value!r}.") from None
        if str(network) not in networks:
            networks.append(str(network))
    return networks
