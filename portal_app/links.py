"""One-time portal links (SPEC §14): issued by ``POST /v1/portal/sessions`` and ``manage.py
portal_link``, used once by the sign-in page.

The token carries 128 random bits and is stored only as its SHA-256 (``tasks_app.keys``, as
API keys and team invitations are). Using a link is one conditional UPDATE (unused and unexpired → used),
so two tabs opening the same link cannot both sign in.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from portal_app.access import portal_account_of
from portal_app.models import PortalLink
from scalehooks.errors import DomainError, NotFound
from tasks_app.keys import generate_link_token, hash_link_token
from tasks_app.models import Membership, Profile

LINK_LIFETIME = timedelta(minutes=15)


class LinkUsed(DomainError):
    """The link was used already: a link signs in once."""


class LinkExpired(DomainError):
    """The link is older than its 15 minutes."""


@dataclass(frozen=True)
class IssuedLink:
    """A new link: its path (to be shown once) and when it stops working."""

    path: str
    expires_at: datetime


def account_member(*, account: Profile, email: str):
    """The person of ``account`` with this email whom the portal may sign in: its owner or one
    of its teammates, never a staff or superuser account (``portal_account_of``); a
    ``ValidationError``, the same for anybody else, whether or not such a user exists."""
    email = email.strip().lower()
    if account.user.email.lower() == email:
        user = account.user
    else:
        membership = (
            Membership.objects.filter(account=account, user__email__iexact=email)
            .select_related("user")
            .first()
        )
        user = membership.user if membership else None
    if user is None or portal_account_of(user) != account:
        raise ValidationError({"email": [f"{email} is not the owner or a teammate of this account."]})
    return user


def portal_link_create(*, user, account: Profile, mode: str, key_hash: str = "") -> IssuedLink:
    """A one-time link signing ``user`` in to ``account``'s ``mode`` side. ``key_hash``: the
    stored hash of the API key that asked for it (the session it opens ends when that key is
    rotated); empty for the command line. ``ValidationError`` for a user the portal may not
    sign in (a staff or superuser account, a non-member)."""
    if portal_account_of(user) != account:
        raise ValidationError({"email": ["The portal signs in the people of this account only."]})
    token = generate_link_token()
    link = PortalLink.objects.create(
        token_hash=hash_link_token(token),
        user=user,
        account=account,
        mode=mode,
        key_hash=key_hash,
        expires_at=timezone.now() + LINK_LIFETIME,
    )
    return IssuedLink(path=reverse("portal:link", args=[token]), expires_at=link.expires_at)


def portal_link_check(*, token: str) -> PortalLink:
    """The link of ``token`` if it may still sign in; ``NotFound``, ``LinkUsed`` or ``LinkExpired``."""
    link = (
        PortalLink.objects.filter(token_hash=hash_link_token(token)).select_related("user", "account").first()
    )
    if link is None:
        raise NotFound("No such sign-in link.")
    if link.used_at is not None:
        raise LinkUsed("This link was already used. Ask for a new one.")
    if link.expires_at <= timezone.now():
        raise LinkExpired("This link has expired: a link is valid for 15 minutes. Ask for a new one.")
    return link


def portal_link_use(*, token: str) -> PortalLink:
    """Mark the link used and return it; the same errors as ``portal_link_check``. Of two
    concurrent uses, one wins; the other sees ``LinkUsed``."""
    link = portal_link_check(token=token)
    now = timezone.now()
    won = PortalLink.objects.filter(id=link.id, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if not won:
        raise LinkUsed("This link was already used. Ask for a new one.")
    link.used_at = now
    return link
