"""An account's team (SPEC §12): its owner and the teammates it invited, each a user with a role.

The owner is the profile's user and is shown with the role ``admin`` (Scale's highest);
its role cannot be changed. A teammate is a ``Membership``: a user of this service without
API keys or a usable password, who will sign in to the portal (§14). A user belongs to one
account at most: inviting the owner or a teammate of another account is a conflict.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.db import transaction

from scalehooks.errors import Conflict
from tasks_app.models import Membership, Profile

OWNER_ROLE = Membership.Role.ADMIN


@dataclass(frozen=True)
class Teammate:
    email: str
    role: str
    first_name: str
    last_name: str
    alert_emails: bool  # gets the callback target alerts by email (SPEC §16); the owner always does


def _teammate(user, role: str, alert_emails: bool) -> Teammate:
    return Teammate(
        email=user.email,
        role=role,
        first_name=user.first_name,
        last_name=user.last_name,
        alert_emails=alert_emails,
    )


def teammates_list(*, account: Profile) -> list[Teammate]:
    """The owner first, then the teammates in the order they were invited."""
    members = Membership.objects.filter(account=account).select_related("user")
    return [
        _teammate(account.user, OWNER_ROLE, True),
        *(_teammate(m.user, m.role, m.alert_emails) for m in members),
    ]


def _normalized(emails: list[str]) -> list[str]:
    return list(dict.fromkeys(BaseUserManager.normalize_email(email) for email in emails))


def teammates_invite(*, account: Profile, emails: list[str], role: str) -> list[Teammate]:
    """Make each email a teammate with ``role`` (a new user for an unknown email). A teammate
    already in the team, and the owner, are left as they are. ``Conflict`` for the user of
    another account; nothing is changed then. Returns the whole team."""
    User = get_user_model()
    with transaction.atomic():
        for email in _normalized(emails):
            user = (
                User.objects.filter(email__iexact=email).first()
                or User.objects.filter(username=email).first()
            )
            if user is None:
                user = User.objects.create_user(username=email, email=email, password=None)
            elif user.pk == account.user_id or Membership.objects.filter(account=account, user=user).exists():
                continue
            elif Profile.objects.filter(user=user).exists() or Membership.objects.filter(user=user).exists():
                raise Conflict(f"{email} is already a user of another account.")
            Membership.objects.create(account=account, user=user, role=role)
    return teammates_list(account=account)


def teammates_role_set(*, account: Profile, emails: list[str], role: str) -> list[Teammate]:
    """Give each teammate ``role``. The owner's role cannot change, and an email that is not
    a teammate is refused (a ``ValidationError`` naming it); nothing is changed then.
    Returns the whole team."""
    emails = _normalized(emails)
    owner = account.user.email.lower()
    if owner in {email.lower() for email in emails}:
        raise ValidationError(
            {"emails": [f"{account.user.email} is the account's owner: its role cannot change."]}
        )
    with transaction.atomic():
        members = Membership.objects.select_for_update().filter(account=account, user__email__in=emails)
        found = {m.user.email.lower() for m in members.select_related("user")}
        missing = [email for email in emails if email.lower() not in found]
        if missing:
            raise ValidationError({"emails": [f"Not a teammate of this account: {', '.join(missing)}."]})
        members.update(role=role)
    return teammates_list(account=account)


def teammates_alert_emails_set(*, account: Profile, emails: list[str], alert_emails: bool) -> list[Teammate]:
    """Whether each teammate gets the callback target alerts by email (SPEC §16). The owner always
    does; an email that is not a teammate is refused (a ``ValidationError`` naming it) and nothing
    is changed then. Returns the whole team."""
    emails = _normalized(emails)
    if account.user.email.lower() in {email.lower() for email in emails}:
        raise ValidationError(
            {"emails": [f"{account.user.email} is the account's owner: it always gets alerts."]}
        )
    with transaction.atomic():
        members = Membership.objects.select_for_update().filter(account=account, user__email__in=emails)
        found = {m.user.email.lower() for m in members.select_related("user")}
        missing = [email for email in emails if email.lower() not in found]
        if missing:
            raise ValidationError({"emails": [f"Not a teammate of this account: {', '.join(missing)}."]})
        members.update(alert_emails=alert_emails)
    return teammates_list(account=account)
