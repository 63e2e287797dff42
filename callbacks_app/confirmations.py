"""Email targets are confirmed before anything is sent to them (issue 16, SPEC §6.6).

As AWS SNS does for email subscriptions: the first callback of an account to
an address asks for a confirmation email with a one-time link
(``email_confirmation_request``, in the transaction that records the
delivery; the email is sent by a django-q2 job, ``email_confirmation_send``).
The account's deliveries to that address wait, without spending attempts,
until the link is followed (``email_confirmation_confirm``, which makes them
due at once), within their 24 h retry window; then they fail with an error
saying so. The engine asks ``email_holds`` at every claim.

How long a link is valid: ``CONFIRMATION_LINK_VALID``, 48 hours, the time
after which SNS deletes an unconfirmed subscription (72 hours before May
2023). A delivery's 24 h window is the shorter, binding one; a later
callback to the address asks for a new link once the old one has expired.

Emails per account per hour (``CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR``, callbacks,
confirmations and team invitations together): an account over it has its email
deliveries held (not failed, no attempt spent) until the hour has room, within
their window. The team's invitations (``tasks_app.invitations``) are mailed
through the same budget and sender (``email_budget_has_room``, ``account_email_send``).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app.models import Delivery, DeliveryAttempt, EmailConfirmation
from callbacks_app.targets import email_target
from callbacks_app.wakeups import dispatchers_wake
from tasks_app.models import Invitation

logger = logging.getLogger(__name__)

CONFIRMATION_LINK_VALID = timedelta(hours=48)
# A confirmation email asked for this long ago and still not sent (a lost job, a mail
# server that refused it) is asked for again at the next callback or claim.
REQUEST_AGAIN_AFTER = timedelta(minutes=10)
# How long a held delivery waits before the claim looks at it again (a confirmation
# makes it due at once, so this is only how soon an unconfirmed one is seen expire).
HOLD_RECHECK = timedelta(minutes=5)
EMAIL_BUDGET_PERIOD = timedelta(hours=1)
SEND_JOB = "callbacks_app.jobs.email_confirmation_send"


def normalized_address(address: str) -> str:
    """The form an address is confirmed in: case does not make a new address."""
    return address.lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _request_due(confirmation: EmailConfirmation, *, now) -> bool:
    """Whether a (new) confirmation email should be asked for now."""
    if confirmation.is_confirmed:
        return False
    if confirmation.requested_at is None:
        return True
    if confirmation.sent_at is None:
        return confirmation.requested_at <= now - REQUEST_AGAIN_AFTER
    return confirmation.sent_at <= now - CONFIRMATION_LINK_VALID  # the link has expired


def _ask_for_email(confirmation_id: int) -> None:
    async_task(SEND_JOB, confirmation_id, task_name="email confirmation")


def email_confirmation_request(*, owner_id: int, target: str) -> EmailConfirmation | None:
    """The confirmation of the address ``target`` of the account; asks for its email when due.

    Call it in the transaction that records a delivery to ``target``: the email is
    queued on commit. None when ``target`` is not an email target.
    """
    address = email_target(target)
    if address is None:
        return None
    now = timezone.now()
    confirmation, _ = EmailConfirmation.objects.get_or_create(
        owner_id=owner_id, address=normalized_address(address)
    )
    if _request_due(confirmation, now=now):
        # Conditional: of two callbacks racing here, one asks.
        asked = EmailConfirmation.objects.filter(
            id=confirmation.id, requested_at=confirmation.requested_at
        ).update(requested_at=now)
        if asked:
            confirmation.requested_at = now
            transaction.on_commit(lambda: _ask_for_email(confirmation.id))
    return confirmation


def confirmation_link(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("email-confirmation", args=[token])


def email_confirmation_send(*, confirmation_id: int) -> bool:
    """Send the confirmation email with a fresh one-time link; True when the mail server took it.

    Not sent when the address is confirmed meanwhile, or when the account has sent
    ``CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR`` emails this hour (asked again later).
    """
    confirmation = EmailConfirmation.objects.filter(id=confirmation_id).first()
    if confirmation is None or confirmation.is_confirmed:
        return False
    if not email_budget_has_room(owner_id=confirmation.owner_id, now=timezone.now()):
        logger.warning(
            "Confirmation email to an address of account %s not sent: its email limit for the hour is reached",
            confirmation.owner_id,
            extra={"confirmation_id": confirmation.id},
        )
        return False
    token = secrets.token_urlsafe(32)
    EmailConfirmation.objects.filter(id=confirmation.id).update(token_hash=token_hash(token))
    sent = account_email_send(
        to=confirmation.address,
        subject="Confirm that ScaleHooks may send task callbacks to this address",
        body=(
            f"An account of ScaleHooks asked to send its task callbacks to {confirmation.address}.\n\n"
            "Nothing will be sent to this address unless you confirm it. To confirm, open this link "
            f"and press the button on the page:\n\n{confirmation_link(token)}\n\n"
            f"The link is valid for {int(CONFIRMATION_LINK_VALID.total_seconds() // 3600)} hours. "
            "If you did not expect this email, ignore it: nothing will be sent.\n"
        ),
        what="Confirmation",
        log_extra={"confirmation_id": confirmation.id},
    )
    if not sent:
        return False
    EmailConfirmation.objects.filter(id=confirmation.id).update(sent_at=timezone.now())
    return True


def email_budget_has_room(*, owner_id: int, now) -> bool:
    """Whether the account may send one more email this hour (``CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR``)."""
    sent = emails_sent_this_hour(owner_ids=[owner_id], now=now).get(owner_id, 0)
    return sent < settings.CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR


def account_email_send(*, to: str, subject: str, body: str, what: str, log_extra: dict) -> bool:
    """Send one email the service writes on an account's behalf (an address confirmation, a team
    invitation) through Django's email backend; True when the mail server took it. A refusal or
    failure is logged (``what`` names the email, by its kind only) and answers False."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.CALLBACK_EMAIL_FROM,
        to=[to],
        connection=get_connection(fail_silently=False, timeout=settings.CALLBACK_TIMEOUT),
    )
    try:
        message.send()
    except Exception as exc:  # smtplib, socket and backend errors alike: asked again later
        logger.warning("%s email not accepted: %s", what, type(exc).__name__, extra=log_extra)
        return False
    return True


def email_confirmation_for_token(*, token: str) -> EmailConfirmation | None:
    """The unconfirmed address whose valid link carries ``token``, else None."""
    if not token:
        return None
    confirmation = EmailConfirmation.objects.filter(token_hash=token_hash(token), confirmed_at=None).first()
    if confirmation is None or confirmation.sent_at is None:
        return None
    if confirmation.sent_at <= timezone.now() - CONFIRMATION_LINK_VALID:
        return None
    return confirmation


def email_confirmation_confirm(*, token: str) -> EmailConfirmation | None:
    """Confirm the address of ``token`` (the link works once) and make its waiting deliveries due now.

    None when the token is unknown, used or expired.
    """
    with transaction.atomic():
        confirmation = email_confirmation_for_token(token=token)
        if confirmation is None:
            return None
        now = timezone.now()
        confirmed = EmailConfirmation.objects.filter(id=confirmation.id, confirmed_at=None).update(
            confirmed_at=now, token_hash=""
        )
        if not confirmed:
            return None
        waiting = [
            delivery_id
            for delivery_id, target in Delivery.objects.filter(
                owner_id=confirmation.owner_id,
                status=Delivery.Status.PENDING,
                target_kind=Delivery.TargetKind.EMAIL,
                attempt_count=0,
                next_attempt_at__gt=now,
            ).values_list("id", "target")
            if normalized_address(email_target(target) or "") == confirmation.address
        ]
        Delivery.objects.filter(id__in=waiting, attempt_count=0).update(next_attempt_at=now)
        dispatchers_wake()
    logger.info(
        "Email callback address confirmed for account %s (%s deliveries released)",
        confirmation.owner_id,
        len(waiting),
        extra={"confirmation_id": confirmation.id},
    )
    confirmation.confirmed_at = now
    return confirmation


def emails_sent_this_hour(*, owner_ids, now) -> dict[int, int]:
    """Emails (callback attempts, confirmations, team invitations) each account sent in the last hour."""
    since = now - EMAIL_BUDGET_PERIOD
    counts: dict[int, int] = {}
    attempts = (
        DeliveryAttempt.objects.filter(
            delivery__owner_id__in=owner_ids,
            delivery__target_kind=Delivery.TargetKind.EMAIL,
            started_at__gt=since,
        )
        .values_list("delivery__owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    confirmations = (
        EmailConfirmation.objects.filter(owner_id__in=owner_ids, sent_at__gt=since)
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    invitations = (
        Invitation.objects.filter(account__user_id__in=owner_ids, sent_at__gt=since)
        .values_list("account__user_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for owner_id, n in [*attempts, *confirmations, *invitations]:
        counts[owner_id] = counts.get(owner_id, 0) + n
    return counts


@dataclass(frozen=True)
class Hold:
    """Why an email delivery may not be sent now, until when at most, and what it fails with."""

    until: object  # datetime
    error: str


def email_holds(*, deliveries, now) -> dict[str, Hold]:
    """The email deliveries among ``deliveries`` that must wait (by id), and why.

    A delivery waits while its address is not confirmed by its account, or while
    its account has no room left in its hourly email budget (counted as the
    deliveries are let through, so one claim cannot overshoot it).
    """
    emails = [d for d in deliveries if d.target_kind == Delivery.TargetKind.EMAIL]
    if not emails:
        return {}
    owners = {d.owner_id for d in emails}
    confirmations = {
        (c.owner_id, c.address): c for c in EmailConfirmation.objects.filter(owner_id__in=owners)
    }
    sent = emails_sent_this_hour(owner_ids=owners, now=now)
    budget = settings.CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR
    holds: dict[str, Hold] = {}
    for delivery in emails:
        address = normalized_address(email_target(delivery.target) or delivery.target)
        confirmation = confirmations.get((delivery.owner_id, address))
        if confirmation is None or not confirmation.is_confirmed:
            if confirmation is None or _request_due(confirmation, now=now):
                email_confirmation_request(owner_id=delivery.owner_id, target=delivery.target)
            holds[delivery.id] = Hold(
                until=now + HOLD_RECHECK,
                error=(
                    f"Not sent: the email address {address} was never confirmed (the link of the "
                    "confirmation email sent to it was not followed within the 24 h retry window)."
                ),
            )
        elif sent.get(delivery.owner_id, 0) >= budget:
            holds[delivery.id] = Hold(
                until=now + timedelta(minutes=1),
                error=(
                    f"Not sent: the account sent {budget} emails an hour (CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR) "
                    "throughout the 24 h retry window."
                ),
            )
        else:
            sent[delivery.owner_id] = sent.get(delivery.owner_id, 0) + 1
    return holds
