"""Callback deliveries: create them with the state change, send them, record every attempt.

The ``Delivery`` row is a transactional outbox. ``callback_delivery_create``
runs inside the caller's transaction and only the enqueue waits for the
commit. Who may send a delivery is decided by a lease taken with a
conditional UPDATE (``lease_token`` / ``leased_until``), which works the same
on SQLite and PostgreSQL: two workers never send the same attempt, and a
delivery whose worker died is taken again once its lease expires.
"""

import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app import retry, transport
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.payloads import callback_payload
from callbacks_app.signing import active_signing_secrets, sign
from callbacks_app.targets import email_target
from tasks_app.errors import NoCallbackTarget, TaskStateConflict
from tasks_app.models import Profile, Task

logger = logging.getLogger(__name__)

MASK = "***"
SECRET_HEADERS = ("scale-callback-auth", "webhook-signature")


def new_lease_token() -> str:
    return secrets.token_hex(16)


def send_lease() -> timedelta:
    """How long a worker holds a delivery while sending one attempt."""
    return timedelta(seconds=settings.CALLBACK_CONNECT_TIMEOUT + settings.CALLBACK_TIMEOUT + 10)


def dispatch_lease() -> timedelta:
    """How long a dispatched delivery may wait in the queue before it is dispatched again."""
    return timedelta(seconds=settings.CALLBACK_DISPATCH_LEASE)


def callback_target(task: Task) -> str:
    """The task's ``callback_url``, else its account's default; "" when neither is set."""
    if task.callback_url:
        return task.callback_url
    profile = Profile.objects.filter(user_id=task.owner_id).only("default_callback_url").first()
    return profile.default_callback_url if profile else ""


def enqueue_delivery(delivery_id: str, lease_token: str) -> None:
    """Hand a delivery to django-q2. A failure here loses nothing: the dispatcher
    finds the delivery again once its dispatch lease expires."""
    try:
        async_task(
            "callbacks_app.jobs.deliver_callback",
            delivery_id,
            lease_token,
            task_name=f"deliver {delivery_id}",
        )
    except Exception:
        logger.exception(
            "Could not enqueue delivery %s; the dispatcher will retry it",
            delivery_id,
            extra={"delivery_id": delivery_id},
        )


def callback_delivery_create(
    *, task: Task, event: str, not_before: datetime | None = None, enqueue: bool = True
) -> Delivery | None:
    """Record the callback ``event`` of ``task`` as of now; None when there is no target.

    Call it inside the transaction that changes the task: the delivery row
    commits (or rolls back) with the state change, and it is queued on commit.

    ``not_before`` (a later time) makes the delivery wait: it is not queued now
    and the dispatcher sends it when it falls due. ``enqueue=False`` leaves the
    first attempt to the caller, who sends it with the returned delivery's
    ``lease_token`` (``deliveries_deliver_until_finished``); should the caller
    not do so, the dispatcher takes the delivery over once that lease expires.
    """
    target = callback_target(task)
    if not target:
        return None
    now = timezone.now()
    waits = not_before is not None and not_before > now
    token = None if waits else new_lease_token()
    delivery = Delivery.objects.create(
        task=task,
        event=event,
        target=target,
        target_kind=(
            Delivery.TargetKind.EMAIL if email_target(target) else Delivery.TargetKind.HTTP
        ),
        payload=callback_payload(task),
        next_attempt_at=not_before if waits else now,
        lease_token=token,
        leased_until=None if waits else now + dispatch_lease(),
    )
    if token and enqueue:
        transaction.on_commit(partial(enqueue_delivery, delivery.id, token))
    return delivery


def _lock_task_of(*, delivery_id: str) -> None:
    """Lock the task row of a delivery for the rest of the transaction.

    Lock order: whoever changes a task and its deliveries in one transaction
    locks the task first (``task_complete``, ``callback_resend``), so the
    delivery services do the same before they touch a delivery row that is
    followed by a task update. Otherwise a resend (task, then delivery) and a
    worker recording an attempt (delivery, then task) deadlock on PostgreSQL.
    A no-op on SQLite, whose IMMEDIATE transactions are serialised anyway.
    """
    list(
        Task.objects.select_for_update(of=("self",))
        .filter(deliveries__id=delivery_id)
        .values_list("id", flat=True)
    )


UNFINISHED_ATTEMPT = "The attempt did not finish: its worker stopped (killed or timed out)."


def max_attempts() -> int:
    """The first attempt and one per entry of the retry schedule."""
    return 1 + len(settings.CALLBACK_RETRY_SCHEDULE)


def _claim(*, delivery_id: str, lease_token: str | None) -> tuple[str, Delivery, DeliveryAttempt] | None:
    """Take the send lease of a due delivery and open its next attempt.

    A job may send when it holds the dispatch lease it was queued with, or
    when nobody holds a live lease (a redelivered job, a sweep). The attempt
    is counted and its row written before anything is sent, so an attempt
    whose worker is killed still counts (and shows) as an attempt: a target
    that crashes workers cannot be retried forever.
    """
    now = timezone.now()
    held_by_nobody = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    may_take = held_by_nobody | Q(lease_token=lease_token) if lease_token else held_by_nobody
    token = new_lease_token()
    with transaction.atomic():
        _lock_task_of(delivery_id=delivery_id)
        claimed = Delivery.objects.filter(
            may_take,
            id=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
        ).update(
            lease_token=token,
            leased_until=now + send_lease(),
            attempt_count=F("attempt_count") + 1,
            first_attempt_at=Coalesce("first_attempt_at", Value(now)),
        )
        if not claimed:
            return None
        delivery = Delivery.objects.select_related("task").get(id=delivery_id)
        window_closed = now >= delivery.first_attempt_at + retry.RETRY_WINDOW + retry.WINDOW_GRACE
        if delivery.attempt_count > max_attempts() or window_closed:
            # Out of attempts (the last one was cut off by a dying worker): finish it.
            Delivery.objects.filter(id=delivery_id).update(
                status=Delivery.Status.FAILED,
                attempt_count=F("attempt_count") - 1,
                finished_at=now,
                next_attempt_at=None,
                lease_token=None,
                leased_until=None,
            )
            _record_task_outcome(delivery=delivery, succeeded=False, now=now)
            return None
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempt_count,
            started_at=now,
            error=UNFINISHED_ATTEMPT,
        )
    return token, delivery, attempt


def _request_headers(*, delivery: Delivery, profile: Profile, attempt: int, now) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.callback_auth_key(delivery.task.mode),
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(
            secrets=active_signing_secrets(profile, now=now),
            msg_id=delivery.id,
            timestamp=now,
            body=delivery.payload,
        ),
        "scale-callback-event": delivery.event,
        "scale-callback-attempt": str(attempt),
    }


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored and shown: secrets replaced by ``***``."""
    return {
        name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()
    }


def _secret_values(*, profile: Profile, headers: dict[str, str]) -> list[str]:
    """Every secret an attempt could leak: keys, signing secrets (with and without
    their ``whsec_`` prefix) and the signatures it sent."""
    values = [
        profile.live_callback_auth_key,
        profile.test_callback_auth_key,
        profile.signing_secret,
        profile.previous_signing_secret,
    ]
    values += [v.removeprefix("whsec_") for v in values if v.startswith("whsec_")]
    for name, value in headers.items():
        if name.lower() == "webhook-signature":
            values += [part.partition(",")[2] for part in value.split()]
    return [v for v in values if v]


def scrub(text: str, secret_values: list[str]) -> str:
    """``text`` with every occurrence of a secret replaced by ``***`` (a receiver
    may echo our request headers back in its answer or error)."""
    for value in secret_values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def email_message_id(delivery_id: str) -> str:
    """The Message-ID of every email of a delivery: ``<delivery id@domain of CALLBACK_EMAIL_FROM>``."""
    address = parseaddr(settings.CALLBACK_EMAIL_FROM)[1]
    domain = address.rpartition("@")[2] or "scalehooks"
    return f"<{delivery_id}@{domain}>"


def _send(*, delivery: Delivery, headers: dict[str, str]) -> tuple[dict[str, str], transport.CallbackResult]:
    """Send one attempt; returns the headers actually sent and the outcome."""
    if delivery.target_kind == Delivery.TargetKind.EMAIL:
        task = delivery.task
        address = email_target(delivery.target)
        subject = f"Task {task.id} {task.status}"
        message_id = email_message_id(delivery.id)
        # The callback auth key is not sent by email (relays see the message
        # in clear); the signature lets the receiver check it all the same.
        extra = {
            name: value
            for name, value in headers.items()
            if name.lower().startswith(("webhook-", "scale-callback-"))
            and name.lower() != "scale-callback-auth"
        }
        result = transport.send_callback_email(
            to=address, subject=subject, body=delivery.payload, message_id=message_id, headers=extra
        )
        sent = {
            "From": settings.CALLBACK_EMAIL_FROM,
            "To": address,
            "Subject": subject,
            "Message-ID": message_id,
            **extra,
        }
        return sent, result
    result = transport.send_callback_http(
        url=delivery.target, body=delivery.payload.encode("utf-8"), headers=headers
    )
    return headers, result


def _record_task_outcome(*, delivery: Delivery, succeeded: bool, now) -> None:
    """Set ``callback_succeeded`` unless a newer delivery of the task already finished."""
    newer_finished = Delivery.objects.filter(
        task_id=delivery.task_id,
        created_at__gt=delivery.created_at,
        status__in=(Delivery.Status.SUCCEEDED, Delivery.Status.FAILED),
    ).exists()
    if newer_finished:
        return
    Task.objects.filter(id=delivery.task_id).update(
        callback_succeeded=succeeded,
        callback_succeeded_at=now if succeeded else None,
    )


def callback_deliver(*, delivery_id: str, lease_token: str | None = None) -> DeliveryAttempt | None:
    """Make the next attempt of a delivery if it is due and ours to send.

    Returns the recorded attempt, or None when there was nothing to do (not
    due, finished, or another worker holds it).
    """
    claim = _claim(delivery_id=delivery_id, lease_token=lease_token)
    if claim is None:
        return None
    token, delivery, attempt = claim
    profile = Profile.objects.get(user_id=delivery.task.owner_id)
    headers = _request_headers(
        delivery=delivery, profile=profile, attempt=attempt.number, now=attempt.started_at
    )
    sent_headers, result = _send(delivery=delivery, headers=headers)
    _record_attempt(
        delivery=delivery,
        token=token,
        attempt=attempt,
        headers=sent_headers,
        result=result,
        secret_values=_secret_values(profile=profile, headers=headers),
    )
    return attempt


def deliveries_deliver_until_finished(
    *,
    delivery_tokens: dict[str, str | None],
    timeout: float | None = None,
    on_attempt: Callable[[DeliveryAttempt], None] | None = None,
    on_finished: Callable[[Delivery], None] | None = None,
    poll: float = 1.0,
) -> dict[str, Delivery]:
    """Send deliveries from this process, attempt after attempt as each falls due, until all finish.

    ``delivery_tokens`` maps each delivery id to the dispatch lease token it
    was created with (``Delivery.lease_token`` right after creation), or None.
    The token only lets the first attempt be taken before that lease expires;
    every attempt goes through ``callback_deliver``, so a django-q2 worker
    sending the same delivery meanwhile is never run concurrently with us.
    Returns the deliveries as they are at the end (unfinished ones only when
    ``timeout`` seconds passed first).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    remaining = dict(delivery_tokens)
    done: dict[str, Delivery] = {}
    while remaining:
        for delivery_id, token in list(remaining.items()):
            attempt = callback_deliver(delivery_id=delivery_id, lease_token=token)
            if attempt is not None and on_attempt is not None:
                on_attempt(attempt)  # as recorded: _record_attempt updated it in place
            delivery = Delivery.objects.get(id=delivery_id)
            if delivery.is_finished:
                done[delivery_id] = delivery
                del remaining[delivery_id]
                if on_finished is not None:
                    on_finished(delivery)
        if not remaining or (deadline is not None and time.monotonic() >= deadline):
            break
        now = timezone.now()
        due = [
            max(next_at or now, leased or now)
            for next_at, leased in Delivery.objects.filter(id__in=remaining).values_list(
                "next_attempt_at", "leased_until"
            )
        ]
        wait = min(((min(due) - now).total_seconds() if due else poll), poll)
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
        time.sleep(max(wait, 0.05))
    for delivery_id in remaining:
        done[delivery_id] = Delivery.objects.get(id=delivery_id)
    return {delivery_id: done[delivery_id] for delivery_id in delivery_tokens}


def _outcome(*, delivery: Delivery, attempt: DeliveryAttempt, result, now) -> dict:
    """The delivery's new state after ``attempt`` gave ``result``."""
    if result.ok:
        return {"status": Delivery.Status.SUCCEEDED, "finished_at": now, "next_attempt_at": None}
    due = None
    if result.status_code != 410:  # Gone: the receiver asks us to stop
        due = retry.next_attempt_at(
            attempts_made=attempt.number,
            first_attempt_at=delivery.first_attempt_at,
            now=now,
            minimum_delay=result.retry_after,
        )
    if due is None:
        return {"status": Delivery.Status.FAILED, "finished_at": now, "next_attempt_at": None}
    return {"next_attempt_at": due}


def _record_attempt(*, delivery, token, attempt, headers, result, secret_values=()) -> None:
    now = timezone.now()
    outcome = _outcome(delivery=delivery, attempt=attempt, result=result, now=now)
    error = scrub(result.error, secret_values)
    attempt.duration_ms = result.duration_ms
    attempt.status_code = result.status_code
    attempt.error = error
    attempt.response_excerpt = scrub(result.body_excerpt, secret_values)
    attempt.request_headers = masked_headers(headers)
    attempt.succeeded = result.ok
    with transaction.atomic():
        _lock_task_of(delivery_id=delivery.id)
        attempt.save()
        updated = Delivery.objects.filter(
            id=delivery.id, lease_token=token, status=Delivery.Status.PENDING
        ).update(lease_token=None, leased_until=None, **outcome)
        if not updated:
            # A resend superseded the delivery during this attempt, or the
            # attempt outlived its lease and another worker took the delivery
            # over: the attempt is recorded, the delivery's state is no longer
            # ours to set.
            superseded = Delivery.objects.filter(
                id=delivery.id, lease_token=token, status=Delivery.Status.SUPERSEDED
            ).update(lease_token=None, leased_until=None)
            if superseded:
                # A resend waiting for this attempt may go now.
                _release_waiting_resends(delivery=delivery, now=now)
            else:
                logger.warning(
                    "Lost the lease of delivery %s during attempt %s",
                    delivery.id,
                    attempt.number,
                    extra={"delivery_id": delivery.id},
                )
        elif outcome.get("status") in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED):
            _record_task_outcome(
                delivery=delivery, succeeded=outcome["status"] == Delivery.Status.SUCCEEDED, now=now
            )

    log = logger.info if result.ok else logger.warning
    log(
        "Callback %s attempt %s to %s: %s",
        delivery.id,
        attempt.number,
        delivery.target_kind,
        "delivered" if result.ok else (error or f"HTTP {result.status_code}"),
        extra={"delivery_id": delivery.id, "task_id": delivery.task_id, "attempt": attempt.number},
    )


def _release_waiting_resends(*, delivery: Delivery, now) -> None:
    """Make a resend that waited for this (superseded) delivery's attempt due now.

    ``callback_resend`` delays a new delivery until the lease of an attempt in
    flight ends; once that attempt is over the new one may go at once.
    """
    Delivery.objects.filter(
        task_id=delivery.task_id,
        status=Delivery.Status.PENDING,
        created_at__gte=delivery.created_at,
        attempt_count=0,
        leased_until__isnull=True,
        next_attempt_at__gt=now,
    ).exclude(id=delivery.id).update(next_attempt_at=now)


RESENDABLE_STATUSES = (Task.Status.COMPLETED, Task.Status.ERROR)


def callback_resend_refusal(*, task: Task) -> Exception | None:
    """Why the task's callback cannot be resent now (the error ``callback_resend``
    would raise), or None when it can."""
    if task.status not in RESENDABLE_STATUSES:
        return TaskStateConflict(
            f"Cannot resend the callback of task {task.id}: it is {task.status} "
            "(allowed only when completed or error)."
        )
    if not callback_target(task):
        return NoCallbackTarget(
            f"Task {task.id} has no callback_url and the account has no default callback URL."
        )
    return None


def _attempt_in_flight_until(*, task: Task, now) -> datetime | None:
    """When the lease of the task's attempt being sent right now ends, if one is.

    An attempt is in flight when its delivery holds a live lease and its
    attempt row is still marked unfinished (``_claim`` writes both in one
    transaction, ``_record_attempt`` clears both in one). Superseded
    deliveries count: their worker may still be waiting for an answer.
    """
    leased = Delivery.objects.filter(
        task=task,
        status__in=(Delivery.Status.PENDING, Delivery.Status.SUPERSEDED),
        leased_until__gt=now,
    ).values_list("id", "attempt_count", "leased_until")
    ends = [
        leased_until
        for delivery_id, attempt_count, leased_until in leased
        if DeliveryAttempt.objects.filter(
            delivery_id=delivery_id, number=attempt_count, error=UNFINISHED_ATTEMPT
        ).exists()
    ]
    return max(ends, default=None)


def callback_resend(*, task_id: str, enqueue: bool = True) -> Delivery:
    """Send the task's callback again, as the task is now, to its current target (SPEC §6.7).

    A fresh delivery with a fresh retry schedule; the task's older pending
    deliveries are superseded, so at most one delivery of a task is live. If
    an older delivery's attempt is being sent at this moment, the new delivery
    waits until that attempt is recorded (or its lease ends): a resend is never
    sent concurrently with another attempt of the same task.

    Raises ``Task.DoesNotExist``, ``TaskStateConflict`` unless the task is
    completed or error, and ``NoCallbackTarget`` when there is nowhere to send
    it. ``enqueue=False``: see ``callback_delivery_create``.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task_id)
        refusal = callback_resend_refusal(task=task)
        if refusal is not None:
            raise refusal
        now = timezone.now()
        # Lock the pending deliveries first: a worker claiming one of them
        # commits before we look at leases, or finds it superseded after.
        pending = list(
            Delivery.objects.select_for_update()
            .filter(task=task, status=Delivery.Status.PENDING)
            .values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=pending, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SUPERSEDED, finished_at=now, next_attempt_at=None
        )
        delivery = callback_delivery_create(
            task=task,
            event=Delivery.Event.RESENT,
            not_before=_attempt_in_flight_until(task=task, now=now),
            enqueue=enqueue,
        )
    logger.info(
        "Callback of task %s resent as delivery %s (%s superseded)",
        task.id,
        delivery.id,
        len(pending),
        extra={"delivery_id": delivery.id, "task_id": task.id},
    )
    return delivery


def deliveries_prune(*, older_than: datetime, batch_size: int = 1000) -> int:
    """Delete finished deliveries (and their attempts) that finished before ``older_than``.

    Pending deliveries are never pruned, whatever their age. Deletes in
    batches so that no single transaction holds locks for long. Returns the
    number of deliveries deleted.
    """
    deleted = 0
    while True:
        batch = list(
            Delivery.objects.filter(status__in=Delivery.FINISHED, finished_at__lt=older_than)
            .values_list("id", flat=True)[:batch_size]
        )
        if not batch:
            break
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=batch).delete()
            deleted += Delivery.objects.filter(id__in=batch).delete()[1].get(Delivery._meta.label, 0)
        if len(batch) < batch_size:
            break
    if deleted:
        logger.info("Pruned %s finished deliveries older than %s", deleted, older_than.isoformat())
    return deleted
