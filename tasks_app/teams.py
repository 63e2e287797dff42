"""An account's team (SPEC §12): its owner, its teammates, and the addresses it invited.

The owner is the profile's user and is shown with the role ``admin`` (Scale's highest); its role
cannot be changed. A teammate is a ``Membership``: a user of this service without API keys, who
signs in to the portal (§14), made only by accepting an invitation mailed to the address
(``tasks_app.invitations``: an invitation never attaches an existing user, SPEC §8 "People").
An invited address is listed as pending (``status`` "invited") until it is accepted or expires.
Case variants of an address are one address everywhere.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower

from scalehooks.audit import audit_record
from tasks_app.accounts import email_normalized
from tasks_app.invitations import invitations_create, invitations_pending
from tasks_app.models import Membership, Profile

OWNER_ROLE = Membership.Role.ADMIN
ACTIVE = "active"  # the owner, and teammates who accepted
INVITED = "invited"  # a pending invitation


@dataclass(frozen=True)
class Teammate:
    email: str
    role: str
    first_name: str
    last_name: str
    alert_emails: bool  # gets the callback target alerts by email (SPEC §16); the owner always does
    status: str = ACTIVE


def _teammate(user, role: str, alert_emails: bool) -> Teammate:
    return Teammate(
        email=user.email,
        role=role,
        first_name=user.first_name,
        last_name=user.last_name,
        alert_emails=alert_emails,
    )


def teammates_list(*, account: Profile) -> list[Teammate]:
    """The owner first, then the teammates in the order they joined, then the pending invitations
    in the order they were made."""
    members = Membership.objects.filter(account=account).select_related("user")
    invited = invitations_pending(account=account)
    return [
        _teammate(account.user, OWNER_ROLE, True),
        *(_teammate(m.user, m.role, m.alert_emails) for m in members),
        *(Teammate(i.email, i.role, "", "", alert_emails=False, status=INVITED) for i in invited),
    ]


def _addresses(emails: list[str]) -> list[str]:
    return list(dict.fromkeys(email_normalized(email) for email in emails))


def teammates_invite(*, account: Profile, emails: list[str], role: str) -> list[Teammate]:
    """Invite each address with ``role`` (``tasks_app.invitations``): a pending invitation whose
    link is mailed to the address. The owner and teammates are left as they are. The answer is
    the same whoever holds an address: the whole team, the invitations listed as pending."""
    with transaction.atomic():
        invitations_create(account=account, emails=emails, role=role)
        audit_record(
            action="team.invite",
            target=account,
            account_id=account.user_id,
            emails=_addresses(emails),
            role=role,
        )
    return teammates_list(account=account)


def _not_the_owner(account: Profile, addresses: list[str], why: str) -> None:
    if account.user.email.lower() in addresses:
        raise ValidationError({"emails": [f"{account.user.email} is the account's owner: {why}."]})


def _members(account: Profile, addresses: list[str]):
    """The account's memberships of ``addresses``, locked for an update."""
    return (
        Membership.objects.select_for_update()
        .alias(address=Lower("user__email"))
        .filter(account=account, address__in=addresses)
    )


def teammates_role_set(*, account: Profile, emails: list[str], role: str) -> list[Teammate]:
    """Give each teammate or pending invitation ``role``. The owner's role cannot change, and an
    address that is neither is refused (a ``ValidationError`` naming it); nothing is changed then.
    Returns the whole team."""
    addresses = _addresses(emails)
    _not_the_owner(account, addresses, "its role cannot change")
    with transaction.atomic():
        members = _members(account, addresses)
        invited = invitations_pending(account=account).select_for_update().filter(email__in=addresses)
        found = {m.user.email.lower() for m in members.select_related("user")} | {i.email for i in invited}
        missing = [address for address in addresses if address not in found]
        if missing:
            raise ValidationError(
                {"emails": [f"Neither a teammate nor invited to this account: {', '.join(missing)}."]}
            )
        members.update(role=role)
        invited.update(role=role)
        audit_record(
            action="team.set_role", target=account, account_id=account.user_id, emails=addresses, role=role
        )
    return teammates_list(account=account)


def teammates_alert_emails_set(*, account: Profile, emails: list[str], alert_emails: bool) -> list[Teammate]:
    """Whether each teammate gets the callback target alerts by email (SPEC §16). The owner always
    does. Only a teammate who accepted an invitation may be opted in: accepting confirmed the
    address (§6.6). A pending invitation (or, to opt in, a teammate who accepted none) or any other
    address is refused (a ``ValidationError`` naming it) and nothing is changed then. Returns the
    whole team."""
    addresses = _addresses(emails)
    _not_the_owner(account, addresses, "it always gets alerts")
    with transaction.atomic():
        members = _members(account, addresses)
        found = {m.user.email.lower(): m for m in members.select_related("user")}
        invited = set(
            invitations_pending(account=account).filter(email__in=addresses).values_list("email", flat=True)
        )
        unconfirmed = [a for a in addresses if a in invited or (a in found and found[a].accepted_at is None)]
        unknown = [a for a in addresses if a not in found and a not in invited]
        errors = []
        if unconfirmed and alert_emails:
            errors.append(
                "No invitation accepted yet, and alert emails go only to addresses confirmed by accepting "
                f"one: {', '.join(unconfirmed)}."
            )
        if unknown:
            errors.append(f"Not a teammate of this account: {', '.join(unknown)}.")
        if errors:
            raise ValidationError({"emails": errors})
        members.update(alert_emails=alert_emails)
        audit_record(
            action="team.set_alert_emails",
            target=account,
            account_id=account.user_id,
            emails=addresses,
            alert_emails=alert_emails,
        )
    return teammates_list(account=account)
