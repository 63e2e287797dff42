"""Leases: who may send a delivery, taken with a conditional UPDATE.

The lease (``lease_token`` / ``leased_until``) works the same on SQLite and
PostgreSQL: two workers never send the same attempt, and a delivery whose
worker died is taken again once its lease expires. This module owns the
lease's transitions: the claim (lease, attempt count, attempt row: two
hand-written statements, ``engine.claim_sql``), the
exhausted case (a claim finds no attempt left: the delivery fails, counted in its
target's health as a recorded last attempt is), the hold (an email delivery
that may not be sent yet, ``callbacks_app.confirmations.email_holds``, waits
with its attempt given back, or fails once its window closes), and the end of
the lease of a delivery that a resend superseded during its attempt.
"""

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from callbacks_app import retry
from callbacks_app.alerts import alerts_fan_out_on_commit
from callbacks_app.confirmations import Hold, email_holds
from callbacks_app.engine import claim_sql
from callbacks_app.envelope import request_headers
from callbacks_app.health import targets_health_record
from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.callback_outcomes import CallbackOutcome, tasks_callback_outcome_record
from tasks_app.models import Batch, Profile, Task

# What sending reads of a delivery's task or batch (``Delivery.mode``; an email's subject):
# all the claim fetches of them, the payload being frozen in the delivery.
TASK_FIELDS_SENT = claim_sql.TASK_FIELDS_SENT
BATCH_FIELDS_SENT = ("id", "is_test", "name")


@dataclass
class Claim:
    """A delivery this worker holds the send lease of, with its attempt opened and its headers."""

    token: str
    delivery: Delivery
    attempt: DeliveryAttempt
    profile: Profile | None  # the account's; None for an operators' alert (it has no account)
    headers: dict[str, str]

    @property
    def account_networks(self) -> list[str]:
        """The private networks the delivery's account was allowed (none for an operators' alert)."""
        return self.profile.allowed_networks if self.profile is not None else []


def new_lease_token() -> str:
    return secrets.token_hex(16)


def send_lease() -> timedelta:
    """How long a worker holds a delivery while sending one attempt.

    Longer than any attempt: an attempt takes at most ``CALLBACK_TIMEOUT`` in
    all, connect included, and never outlives the lease
    (``engine.attempt.attempt_time_limit``), so a delivery is never in flight twice.
    """
    return timedelta(seconds=settings.CALLBACK_CONNECT_TIMEOUT + settings.CALLBACK_TIMEOUT + 10)


def max_attempts() -> int:
    """The first attempt and one per entry of the retry schedule."""
    return 1 + len(settings.CALLBACK_RETRY_SCHEDULE)


def deliveries_claim(*, ids: list[str]) -> list[Claim]:
    """Take the send lease of those of ``ids`` that are still due and free, and open their attempts.

    The attempt is counted and its row written before anything is sent, so an
    attempt whose worker is killed still counts (and shows) as an attempt: a
    target that crashes workers cannot be retried forever.
    """
    if not ids:
        return []
    now = timezone.now()
    token = new_lease_token()
    with transaction.atomic():
        tasks = _tasks_locked_of(delivery_ids=ids)
        deliveries = claim_sql.deliveries_lease(ids=ids, token=token, now=now, until=now + send_lease())
        if not deliveries:
            return []
        _subjects_attach(deliveries=deliveries, tasks=tasks)
        live, exhausted = [], []
        holds = email_holds(deliveries=deliveries, now=now)
        for delivery in deliveries:
            window_end = delivery.first_attempt_at + retry.RETRY_WINDOW + retry.WINDOW_GRACE
            window_closed = now >= window_end
            if delivery.id in holds:
                _hold(delivery=delivery, token=token, now=now, hold=holds[delivery.id], window_end=window_end)
            elif delivery.attempt_count > max_attempts() or window_closed:
                _finish_exhausted(delivery=delivery, token=token, now=now)
                exhausted.append(delivery)
            else:
                live.append(delivery)
        _exhausted_health_record(deliveries=exhausted, now=now)
        attempts = claim_sql.attempts_open(deliveries=live, now=now)
    # An operators' alert has no account (``owner_id`` None): no profile, signed with OPS_WEBHOOK_SECRET.
    owners = {delivery.owner_id for delivery in live if delivery.owner_id is not None}
    profiles = claim_sql.profiles_of(user_ids=owners)
    claims = []
    for delivery, attempt in zip(live, attempts, strict=True):
        profile = profiles[delivery.owner_id] if delivery.owner_id is not None else None
        headers = request_headers(delivery=delivery, profile=profile, attempt=attempt.number, now=now)
        claims.append(
            Claim(token=token, delivery=delivery, attempt=attempt, profile=profile, headers=headers)
        )
    return claims


def _tasks_locked_of(*, delivery_ids: list[str]) -> dict[str, Task] | None:
    """These deliveries' tasks, locked in id order as ``record_sql.tasks_lock`` locks them, with
    what sending needs of them (by id); None where rows cannot be locked (SQLite):
    ``_subjects_attach`` reads them then."""
    if not connection.features.has_select_for_update:
        return None
    return claim_sql.tasks_for_sending(delivery_ids=delivery_ids, lock=True)


def _subjects_attach(*, deliveries: list[Delivery], tasks: dict[str, Task] | None) -> None:
    """Give each claimed delivery its task or batch, with what sending reads of it
    (``TASK_FIELDS_SENT``, ``BATCH_FIELDS_SENT``): nothing is read while it is sent."""
    if tasks is None:
        tasks = claim_sql.tasks_for_sending(
            delivery_ids=[d.id for d in deliveries if d.task_id is not None], lock=False
        )
    batch_ids = {d.batch_id for d in deliveries if d.batch_id is not None}
    batches = (
        {b.id: b for b in Batch.objects.filter(id__in=batch_ids).only(*BATCH_FIELDS_SENT)}
        if batch_ids
        else {}
    )
    for delivery in deliveries:
        if delivery.task_id is not None:
            delivery.task = tasks[delivery.task_id]
        if delivery.batch_id is not None:
            delivery.batch = batches[delivery.batch_id]


def _finish_exhausted(*, delivery: Delivery, token: str, now) -> None:
    """Out of attempts (the last one was cut off by a dying worker): finish it as failed."""
    Delivery.objects.filter(id=delivery.id, lease_token=token).update(
        status=Delivery.Status.FAILED,
        attempt_count=F("attempt_count") - 1,
        finished_at=now,
        next_attempt_at=None,
        lease_token=None,
        leased_until=None,
    )
    if delivery.task_id is None:
        return  # a batch's callback: no task records its outcome
    tasks_callback_outcome_record(
        outcomes=[
            CallbackOutcome(
                task_id=delivery.task_id, delivery_created_at=delivery.created_at, succeeded=False, at=now
            )
        ]
    )


def _exhausted_health_record(*, deliveries: list[Delivery], now) -> None:
    """Count the deliveries this claim failed (their last attempt, cut off by a dying worker,
    recorded nothing) in their targets' health (SPEC §16) as a recorded last attempt counts them:
    the slot's exhausted and the delivery.exhausted alert, but no attempt (the cut-off one has no
    outcome). Deliveries' rows, then health rows: the recorders' lock order."""
    keys = [(d.owner_id, d.mode, d.target_origin) for d in deliveries if not d.is_ops_alert]
    if keys:
        alerts_fan_out_on_commit(alerts=targets_health_record(attempts=[], exhausted=Counter(keys), now=now))


def _hold(*, delivery: Delivery, token: str, now, hold: Hold, window_end) -> None:
    """An email delivery that may not be sent now: it waits, its attempt given back, until
    ``hold.until`` (at most its window's end); once the window has closed it fails with
    ``hold.error`` in an attempt row that sent nothing."""
    if now < window_end:
        Delivery.objects.filter(id=delivery.id, lease_token=token).update(
            attempt_count=F("attempt_count") - 1,
            next_attempt_at=min(hold.until, window_end),
            lease_token=None,
            leased_until=None,
        )
        return
    Delivery.objects.filter(id=delivery.id, lease_token=token).update(
        status=Delivery.Status.FAILED,
        finished_at=now,
        next_attempt_at=None,
        lease_token=None,
        leased_until=None,
    )
    DeliveryAttempt.objects.create(
        delivery=delivery, number=delivery.attempt_count, started_at=now, error=hold.error
    )
    if delivery.task_id is None:  # a batch's callback: no task to record it on
        return
    tasks_callback_outcome_record(
        outcomes=[
            CallbackOutcome(
                task_id=delivery.task_id, delivery_created_at=delivery.created_at, succeeded=False, at=now
            )
        ]
    )


def lease_end(*, claim: Claim) -> None:
    """End the lease of a claim whose delivery a resend superseded during the attempt."""
    Delivery.objects.filter(id=claim.delivery.id, lease_token=claim.token).update(
        lease_token=None, leased_until=None
    )
