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
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app import retry, transport
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.payloads import callback_payload
from callbacks_app.signing import sign
from callbacks_app.targets import email_target
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


def _claim(*, delivery_id: str, lease_token: str | None) -> str | None:
    """Take the send lease of a due delivery; the new token, or None if not ours to send.

    A job may send when it holds the dispatch lease it was queued with, or
    when nobody holds a live lease (a redelivered job, a sweep).
    """
    now = timezone.now()
    held_by_nobody = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    may_take = held_by_nobody | Q(lease_token=lease_token) if lease_token else held_by_nobody
    token = new_lease_token()
    claimed = (
        Delivery.objects.filter(
            may_take,
            id=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
        ).update(lease_token=token, leased_until=now + send_lease())
    )
    return token if claimed else None


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
    token = _claim(delivery_id=delivery_id, lease_token=lease_token)
    if token is None:
        return None
    delivery = Delivery.objects.select_related("task").get(id=delivery_id)
    profile = Profile.objects.get(user_id=delivery.task.owner_id)
    number = delivery.attempt_count + 1
    started_at = timezone.now()
    headers = _request_headers(delivery=delivery, profile=profile, attempt=number, now=started_at)
    result = _send(delivery=delivery, headers=headers)
    return _record_attempt(
        delivery=delivery,
        token=token,
        number=number,
        started_at=started_at,
        headers=headers,
        result=result,
    )


def _record_attempt(*, delivery, token, number, started_at, headers, result) -> DeliveryAttempt | None:
    now = timezone.now()
    first_attempt_at = delivery.first_attempt_at or started_at
    if result.ok:
        outcome = {"status": Delivery.Status.SUCCEEDED, "finished_at": now, "next_attempt_at": None}
    else:
        due = None
        if result.status_code != 410:  # Gone: the receiver asks us to stop
            due = retry.next_attempt_at(
                attempts_made=number,
                first_attempt_at=first_attempt_at,
                now=now,
                minimum_delay=result.retry_after,
            )
        if due is None:
            outcome = {"status": Delivery.Status.FAILED, "finished_at": now, "next_attempt_at": None}
        else:
            outcome = {"next_attempt_at": due}

    with transaction.atomic():
        updated = Delivery.objects.filter(id=delivery.id, lease_token=token).update(
            attempt_count=number,
            first_attempt_at=first_attempt_at,
            lease_token=None,
            leased_until=None,
            **outcome,
        )
        if not updated:
            # Our lease ran out and another worker took the delivery over: it
            # owns attempt `number` now. Ours is logged, not recorded twice.
            logger.warning(
                "Lost the lease of delivery %s during attempt %s",
                delivery.id,
                number,
                extra={"delivery_id": delivery.id},
            )
            return None
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            error=result.error,
            response_excerpt=result.body_excerpt,
            request_headers=masked_headers(headers),
            succeeded=result.ok,
        )
        if outcome.get("status") in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED):
            _record_task_outcome(
                delivery=delivery, succeeded=outcome["status"] == Delivery.Status.SUCCEEDED, now=now
            )

    log = logger.info if result.ok else logger.warning
    log(
        "Callback %s attempt %s to %s: %s",
        delivery.id,
        number,
        delivery.target_kind,
        "delivered" if result.ok else (result.error or f"HTTP {result.status_code}"),
        extra={"delivery_id": delivery.id, "task_id": delivery.task_id, "attempt": number},
    )
    return attempt
