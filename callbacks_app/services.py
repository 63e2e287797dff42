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
from datetime import timedelta
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
from callbacks_app.signing import sign
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


def callback_delivery_create(*, task: Task, event: str) -> Delivery | None:
    """Record the callback ``event`` of ``task`` as of now; None when there is no target.

    Call it inside the transaction that changes the task: the delivery row
    commits (or rolls back) with the state change, and it is queued on commit.
    """
    target = callback_target(task)
    if not target:
        return None
    now = timezone.now()
    token = new_lease_token()
    delivery = Delivery.objects.create(
        task=task,
        event=event,
        target=target,
        target_kind=(
            Delivery.TargetKind.EMAIL if email_target(target) else Delivery.TargetKind.HTTP
        ),
        payload=callback_payload(task),
        next_attempt_at=now,
        lease_token=token,
        leased_until=now + dispatch_lease(),
    )
    transaction.on_commit(partial(enqueue_delivery, delivery.id, token))
    return delivery


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
        if delivery.attempt_count > max_attempts() or now >= delivery.first_attempt_at + retry.RETRY_WINDOW:
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
    signing_secrets = [profile.signing_secret]
    return {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.callback_auth_key(delivery.task.mode),
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(
            secrets=signing_secrets, msg_id=delivery.id, timestamp=now, body=delivery.payload
        ),
        "scale-callback-event": delivery.event,
        "scale-callback-attempt": str(attempt),
    }


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored and shown: secrets replaced by ``***``."""
    return {
        name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()
    }


def _send(*, delivery: Delivery, headers: dict[str, str]) -> transport.CallbackResult:
    if delivery.target_kind == Delivery.TargetKind.EMAIL:
        task = delivery.task
        return transport.send_callback_email(
            to=email_target(delivery.target),
            subject=f"Task {task.id} {task.status}",
            body=delivery.payload,
            message_id=f"<{delivery.id}@scalehooks>",
            headers={
                name: value
                for name, value in headers.items()
                if name.lower().startswith(("webhook-", "scale-callback-"))
                and name.lower() != "scale-callback-auth"
            },
        )
    return transport.send_callback_http(
        url=delivery.target, body=delivery.payload.encode("utf-8"), headers=headers
    )


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
    result = _send(delivery=delivery, headers=headers)
    _record_attempt(delivery=delivery, token=token, attempt=attempt, headers=headers, result=result)
    return attempt


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


def _record_attempt(*, delivery, token, attempt, headers, result) -> None:
    now = timezone.now()
    outcome = _outcome(delivery=delivery, attempt=attempt, result=result, now=now)
    attempt.duration_ms = result.duration_ms
    attempt.status_code = result.status_code
    attempt.error = result.error
    attempt.response_excerpt = result.body_excerpt
    attempt.request_headers = masked_headers(headers)
    attempt.succeeded = result.ok
    with transaction.atomic():
        attempt.save()
        updated = Delivery.objects.filter(
            id=delivery.id, lease_token=token, status=Delivery.Status.PENDING
        ).update(lease_token=None, leased_until=None, **outcome)
        if not updated:
            # The attempt outlived its lease and another worker took the
            # delivery over, or a resend superseded it meanwhile: the attempt
            # is recorded, the delivery's state is no longer ours to set.
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
        "delivered" if result.ok else (result.error or f"HTTP {result.status_code}"),
        extra={"delivery_id": delivery.id, "task_id": delivery.task_id, "attempt": attempt.number},
    )


RESENDABLE_STATUSES = (Task.Status.COMPLETED, Task.Status.ERROR)


def callback_resend(*, task_id: str) -> Delivery:
    """Send the task's callback again, as the task is now, to its current target (SPEC §6.7).

    A fresh delivery with a fresh retry schedule; the task's older pending
    deliveries are superseded, so at most one delivery of a task is live.
    Raises ``TaskStateConflict`` unless the task is completed or error, and
    ``NoCallbackTarget`` when there is nowhere to send it.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task_id)
        if task.status not in RESENDABLE_STATUSES:
            raise TaskStateConflict(
                f"Cannot resend the callback of task {task.id}: it is {task.status} "
                "(allowed only when completed or error)."
            )
        if not callback_target(task):
            raise NoCallbackTarget(
                f"Task {task.id} has no callback_url and the account has no default callback URL."
            )
        now = timezone.now()
        task.deliveries.filter(status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SUPERSEDED, finished_at=now, next_attempt_at=None
        )
        return callback_delivery_create(task=task, event=Delivery.Event.RESENT)
