"""Invitations to an account's team (SPEC §8 "People", §12): pending until the invited address's
holder accepts them through a link mailed to it.

An invitation never attaches an existing user. ``invitations_create`` (``POST /v1/teams/invite``)
records a pending ``Invitation`` per address (in lower case, in full: case variants are one
address) and, after the commit, a django-q2 job (``invitation_send``) mails the address a one-time
link, valid ``INVITATION_VALID`` (48 hours, as an address confirmation's), within the account's
hourly email budget (``CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR``, shared with callbacks and address
confirmations). An address that a user holds by then, of any kind (an operator, the owner or a
teammate of any account, anybody), is mailed nothing and gets no usable link; what the inviter sees
is the same for every address (the invitation listed as pending until it expires), so an
invitation reveals nothing of who has a user here.

The link's page (``portal_app.views.invitations``) shows who invites and the role on GET (a mail
scanner fetching the link accepts nothing); its button's POST accepts (``invitation_accept``): the
user (no usable password) and its ``Membership`` are made in one transaction, unless a user holds
the address by then. Accepting confirms the address (SPEC §6.6): alert emails go to teammates who
accepted, never to an address nobody confirmed.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app.services import account_email_send, email_budget_has_room
from scalehooks.audit import actor_set, audit_record
from scalehooks.errors import NotFound
from tasks_app.accounts import email_in_use, email_normalized
from tasks_app.errors import InvitationExpired, InvitationRefused, InvitationUsed
from tasks_app.keys import generate_link_token, hash_link_token
from tasks_app.models import Invitation, Membership, Profile

logger = logging.getLogger(__name__)

INVITATION_VALID = timedelta(hours=48)
SEND_JOB = "tasks_app.jobs.invitations_send"


def invitations_pending(*, account: Profile):
    """The account's invitations neither accepted nor expired, oldest first."""
    return Invitation.objects.filter(account=account, accepted_at=None, expires_at__gt=timezone.now())


def _team_addresses(account: Profile) -> set[str]:
    members = Membership.objects.filter(account=account).values_list(Lower("user__email"), flat=True)
    return {account.user.email.lower(), *members}


def invitations_create(*, account: Profile, emails: list[str], role: str) -> None:
    """Invite each address with ``role``; the links are mailed after the commit (``invitation_send``).

    The owner and the account's teammates are left as they are. An invitation still pending keeps
    its link, already mailed: inviting it again changes its role (and mails the link if it was
    never mailed: the hour's email budget was spent, the mail server failed). An expired or
    accepted one is made pending again for 48 hours, and mailed a new link. Who holds an address
    makes no difference here: the answer is the same for all.
    """
    now = timezone.now()
    team = _team_addresses(account)
    to_send = []
    with transaction.atomic():
        for address in dict.fromkeys(email_normalized(email) for email in emails):
            if address in team:
                continue
            invitation, created = Invitation.objects.select_for_update().get_or_create(
                account=account,
                email=address,
                defaults={"role": role, "invited_at": now, "expires_at": now + INVITATION_VALID},
            )
            if created:
                to_send.append(invitation.id)
            elif invitation.accepted_at is None and invitation.expires_at > now:
                Invitation.objects.filter(id=invitation.id).update(role=role)
                if invitation.sent_at is None:
                    to_send.append(invitation.id)
            else:
                Invitation.objects.filter(id=invitation.id).update(
                    role=role,
                    invited_at=now,
                    expires_at=now + INVITATION_VALID,
                    sent_at=None,
                    accepted_at=None,
                    token_hash="",
                )
                to_send.append(invitation.id)
        if to_send:
            transaction.on_commit(lambda: async_task(SEND_JOB, to_send, task_name="team invitations"))


def invitation_link(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("portal:invitation", args=[token])


def _email_body(invitation: Invitation, token: str) -> str:
    hours = int(INVITATION_VALID.total_seconds() // 3600)
    expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{invitation.account.user.email} invites you to their team on ScaleHooks, the task callback "
        f"service, as {invitation.role}.\n\n"
        "To accept, open this link and press the button on the page:\n\n"
        f"{invitation_link(token)}\n\n"
        f"The link works once, until {expires} ({hours} hours). Accepting makes you a teammate of "
        "that account: you are signed in to its portal, where you set a password.\n"
        "If you did not expect this email, ignore it: nothing happens unless you accept.\n"
    )


def invitation_send(*, invitation_id: int) -> bool:
    """Mail the invitation's one-time link (a new token); True when the mail server took it.

    Nothing is mailed when the invitation is no longer pending or was mailed already, or when the
    account has sent its emails of the hour (inviting the address again asks again). When a user
    holds the address, no link is made or mailed, and the email budget counts the invitation all
    the same (``sent_at``), so that it tells nothing either.
    """
    invitation = Invitation.objects.select_related("account__user").filter(id=invitation_id).first()
    now = timezone.now()
    if invitation is None or invitation.accepted_at or invitation.sent_at or invitation.expires_at <= now:
        return False
    owner_id = invitation.account.user_id
    if not email_budget_has_room(owner_id=owner_id, now=now):
        logger.warning(
            "Team invitation of account %s not mailed: its email limit for the hour is reached",
            owner_id,
            extra={"invitation_id": invitation.id},
        )
        return False
    refused = email_in_use(email=invitation.email)
    token = generate_link_token()
    token_hash = "" if refused else hash_link_token(token)
    claimed = Invitation.objects.filter(
        id=invitation.id, sent_at=None, accepted_at=None, invited_at=invitation.invited_at
    ).update(sent_at=now, token_hash=token_hash)
    if not claimed:
        return False  # another job mailed it, or it was invited again meanwhile
    if refused:
        logger.info(
            "Team invitation of account %s not mailed: a user holds the address",
            owner_id,
            extra={"invitation_id": invitation.id},
        )
        return False
    sent = account_email_send(
        to=invitation.email,
        subject=f"{invitation.account.user.email} invites you to their team on ScaleHooks",
        body=_email_body(invitation, token),
        what="Team invitation",
        log_extra={"invitation_id": invitation.id},
    )
    if not sent:  # asked again when the address is invited again
        Invitation.objects.filter(id=invitation.id, token_hash=token_hash).update(sent_at=None, token_hash="")
    return sent


def invitation_check(*, token: str) -> Invitation:
    """The pending invitation whose link carries ``token``. ``NotFound`` for an unknown token,
    ``InvitationUsed``, ``InvitationExpired``, and ``InvitationRefused`` when a user holds the
    address by now."""
    invitation = (
        Invitation.objects.select_related("account__user").filter(token_hash=hash_link_token(token)).first()
        if token
        else None
    )
    if invitation is None:
        raise NotFound("No such invitation.")
    if invitation.accepted_at is not None:
        raise InvitationUsed("This invitation was already accepted: its link works once.")
    if invitation.expires_at <= timezone.now():
        raise InvitationExpired(
            "This invitation has expired. Ask the person who invited you to invite you again."
        )
    if email_in_use(email=invitation.email):
        raise InvitationRefused(
            f"This invitation can no longer be accepted: {invitation.email} already has a user of this "
            "service. Sign in with it, or ask the person who invited you to invite another address."
        )
    return invitation


def invitation_accept(*, token: str) -> Membership:
    """Accept the invitation of ``token``: its user (no usable password) and ``Membership`` are made,
    the address confirmed. The link works once: of two concurrent uses, one wins. The errors of
    ``invitation_check``; nothing is changed then."""
    try:
        with transaction.atomic():
            invitation = invitation_check(token=token)
            now = timezone.now()
            won = Invitation.objects.filter(
                id=invitation.id, token_hash=invitation.token_hash, accepted_at=None, expires_at__gt=now
            ).update(accepted_at=now)
            if not won:
                raise InvitationUsed("This invitation was already accepted: its link works once.")
            user = get_user_model().objects.create_user(
                username=invitation.email, email=invitation.email, password=None
            )
            membership = Membership.objects.create(
                account=invitation.account, user=user, role=invitation.role, accepted_at=now
            )
            actor_set(label=invitation.email, user=user)
            audit_record(
                action="team.accept_invitation",
                target=invitation.account,
                account_id=invitation.account.user_id,
                email=invitation.email,
                role=invitation.role,
            )
    except IntegrityError:  # a user of that name was made meanwhile
        raise InvitationRefused(
            "This invitation can no longer be accepted: the address has a user."
        ) from None
    logger.info(
        "Team invitation accepted for account %s",
        invitation.account.user_id,
        extra={"invitation_id": invitation.id},
    )
    return membership
