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
from tasks_app.locks import tasks_lock
from tasks_app.models import Profile
from tasks_app.profiles_sql import profiles_of


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

    Sending reads nothing of a delivery's task or batch (its mode is the delivery's
    ``is_test``, an email's subject is in its frozen payload), so a claim reads no
    task. It writes one only when it finishes a delivery of it (out of attempts, or
    held past its window: the task records the outcome), and then locks that task
    first, as whoever changes a task and its deliveries does: should the lease find
    such a delivery whose task it has not locked, it is taken again, its tasks locked
    before it (``_TasksFirst``; rare: a worker died during the last attempt).
    """
    if not ids:
        return []
    now = timezone.now()
    token = new_lease_token()
    tasks_locked: frozenset[str] = frozenset()
    while True:
        try:
            live = _lease(ids=ids, token=token, now=now, tasks_locked=tasks_locked)
            break
        except _TasksFirst as first:
            tasks_locked = first.task_ids
    # An operators' alert has no account (``owner_id`` None): no profile, signed with OPS_WEBHOOK_SECRET.
    profiles = profiles_of(user_ids={claim.delivery.owner_id for claim in live} - {None})
    for claim in live:
        claim.profile = profiles[claim.delivery.owner_id] if claim.delivery.owner_id is not None else None
        claim.headers = request_headers(
            delivery=claim.delivery, profile=claim.profile, attempt=claim.attempt.number, now=now
        )
    return live


class _TasksFirst(Exception):
    """The lease found deliveries it finishes whose tasks it did not lock first: these must be."""

    def __init__(self, task_ids: frozenset[str]):
        self.task_ids = task_ids


def _lease(*, ids: list[str], token: str, now, tasks_locked: frozenset[str]) -> list[Claim]:
    """``deliveries_claim``'s transaction: the claims (no profile nor headers yet) of the deliveries
    leased and still to be sent. Raises ``_TasksFirst`` (rolled back) where it would finish a
    delivery of a task it did not lock before the lease (rows lock: PostgreSQL)."""
    with transaction.atomic():
        tasks_lock(task_ids=tasks_locked)
        deliveries = claim_sql.deliveries_lease(ids=ids, token=token, now=now, until=now + send_lease())
        if not deliveries:
            return []
        windows = {d.id: d.first_attempt_at + retry.RETRY_WINDOW + retry.WINDOW_GRACE for d in deliveries}
        finishing = frozenset(
            d.task_id
            for d in deliveries
            if d.task_id is not None and (d.attempt_count > max_attempts() or now >= windows[d.id])
        )
        if connection.features.has_select_for_update and not finishing <= tasks_locked:
            raise _TasksFirst(tasks_locked | finishing)
        live, exhausted = [], []
        holds = email_holds(deliveries=deliveries, now=now)
        for delivery in deliveries:
            window_end = windows[delivery.id]
            if delivery.id in holds:
                _hold(delivery=delivery, token=token, now=now, hold=holds[delivery.id], window_end=window_end)
            elif delivery.attempt_count > max_attempts() or now >= window_end:
                _finish_exhausted(delivery=delivery, token=token, now=now)
                exhausted.append(delivery)
            else:
                live.append(delivery)
        _exhausted_health_record(deliveries=exhausted, now=now)
        attempts = claim_sql.attempts_open(deliveries=live, now=now)
    return [
        Claim(token=token, delivery=delivery, attempt=attempt, profile=None, headers={})
        for delivery, attempt in zip(live, attempts, strict=True)
    ]


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
