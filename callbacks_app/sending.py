"""Sending deliveries: claim the due ones, send them, record every attempt.

Who may send a delivery is decided by a lease taken with a conditional UPDATE
(``lease_token`` / ``leased_until``), which works the same on SQLite and
PostgreSQL: two workers never send the same attempt, and a delivery whose
worker died is taken again once its lease expires.

A ``drain`` job (``deliveries_drain``) keeps up to ``DRAIN_IN_FLIGHT`` sends
in flight on a thread pool, claims more as slots free up, and records results
as they come back, a batch per transaction. So the queue and the database are
paid per batch rather than per callback, and a slow receiver holds one slot,
not the worker. ``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` caps how many sends one
target may hold at once: a target that hangs until the timeout delays its own
callbacks, not everybody else's.
"""

import logging
import secrets
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from callbacks_app import retry, transport
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.queueing import request_drain
from callbacks_app.signing import sign
from callbacks_app.targets import email_target
from tasks_app.models import Profile, Task

logger = logging.getLogger(__name__)

MASK = "***"
SECRET_HEADERS = ("scale-callback-auth", "webhook-signature")
UNFINISHED_ATTEMPT = "The attempt did not finish: its worker stopped (killed or timed out)."

DRAIN_IN_FLIGHT = 32  # sends in flight per drain job (per worker process)
DRAIN_TIME_BUDGET = 10.0  # seconds a drain job takes new work before it hands over
CANDIDATES_PER_SLOT = 4  # due rows looked at per free slot, to fill it despite per-target caps
RECORD_GATHER = 0.01  # seconds to wait for more finished sends to record together


def new_lease_token() -> str:
    return secrets.token_hex(16)


def send_lease() -> timedelta:
    """How long a worker holds a delivery while sending one attempt."""
    return timedelta(seconds=settings.CALLBACK_CONNECT_TIMEOUT + settings.CALLBACK_TIMEOUT + 10)


def max_attempts() -> int:
    """The first attempt and one per entry of the retry schedule."""
    return 1 + len(settings.CALLBACK_RETRY_SCHEDULE)


def held_by_nobody(now) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def deliveries_due(*, now):
    """Pending deliveries that are due and that no worker holds."""
    return Delivery.objects.filter(
        held_by_nobody(now), status=Delivery.Status.PENDING, next_attempt_at__lte=now
    )


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as stored and shown: secrets replaced by ``***``."""
    return {
        name: MASK if name.lower() in SECRET_HEADERS else value for name, value in headers.items()
    }


@dataclass
class _Send:
    token: str
    delivery: Delivery
    attempt: DeliveryAttempt
    headers: dict[str, str]


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


def deliveries_to_send(*, now, limit: int) -> list[str]:
    """Up to ``limit`` due delivery ids, oldest due first, within the per-target caps.

    A target may hold at most ``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` sends in
    flight across all workers: one that hangs until the timeout holds that
    many slots, and everything else keeps flowing through the others.
    """
    cap = settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET
    in_flight = dict(
        Delivery.objects.filter(status=Delivery.Status.PENDING, leased_until__gte=now)
        .values_list("target")
        .annotate(n=Count("id"))
        .order_by()
    )
    candidates = (
        deliveries_due(now=now)
        .order_by("next_attempt_at")
        .values_list("id", "target")[: limit * CANDIDATES_PER_SLOT]
    )
    picked = []
    for delivery_id, target in candidates:
        if in_flight.get(target, 0) >= cap:
            continue
        in_flight[target] = in_flight.get(target, 0) + 1
        picked.append(delivery_id)
        if len(picked) == limit:
            break
    return picked


def _claim(*, ids: list[str]) -> list[_Send]:
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
        claimed = (
            deliveries_due(now=now)
            .filter(id__in=ids)
            .update(
                lease_token=token,
                leased_until=now + send_lease(),
                attempt_count=F("attempt_count") + 1,
                first_attempt_at=Coalesce("first_attempt_at", Value(now)),
            )
        )
        if not claimed:
            return []
        deliveries = list(Delivery.objects.select_related("task").filter(lease_token=token))
        live = []
        for delivery in deliveries:
            if (
                delivery.attempt_count > max_attempts()
                or now >= delivery.first_attempt_at + retry.RETRY_WINDOW
            ):
                _finish_exhausted(delivery=delivery, token=token, now=now)
            else:
                live.append(delivery)
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery=delivery,
                number=delivery.attempt_count,
                started_at=now,
                error=UNFINISHED_ATTEMPT,
            )
            for delivery in live
        )
    owners = {delivery.task.owner_id for delivery in live}
    profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=owners)}
    return [
        _Send(
            token=token,
            delivery=delivery,
            attempt=attempt,
            headers=_request_headers(
                delivery=delivery,
                profile=profiles[delivery.task.owner_id],
                attempt=attempt.number,
                now=now,
            ),
        )
        for delivery, attempt in zip(live, attempts)
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
    _record_task_outcome(delivery=delivery, succeeded=False, now=now)


def _send(*, delivery: Delivery, headers: dict[str, str]) -> transport.CallbackResult:
    """One attempt over HTTP or email; touches no database (it runs on the sender threads).

    The transports return a result for every network outcome; anything else
    they raise is a bug, recorded as a failed attempt rather than lost.
    """
    started = time.monotonic()
    try:
        return _transport_send(delivery=delivery, headers=headers)
    except Exception as exc:
        logger.exception("Sending delivery %s failed unexpectedly", delivery.id, extra={"delivery_id": delivery.id})
        return transport.CallbackResult(
            ok=False,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=f"Internal error while sending: {type(exc).__name__}",
        )


def _transport_send(*, delivery: Delivery, headers: dict[str, str]) -> transport.CallbackResult:
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


def _outcome(*, send: _Send, result: transport.CallbackResult, now) -> dict:
    """The delivery's new state after the attempt gave ``result``."""
    if result.ok:
        return {"status": Delivery.Status.SUCCEEDED, "finished_at": now, "next_attempt_at": None}
    due = None
    if result.status_code != 410:  # Gone: the receiver asks us to stop
        due = retry.next_attempt_at(
            attempts_made=send.attempt.number,
            first_attempt_at=send.delivery.first_attempt_at,
            now=now,
            minimum_delay=result.retry_after,
        )
    if due is None:
        return {"status": Delivery.Status.FAILED, "finished_at": now, "next_attempt_at": None}
    return {"next_attempt_at": due}


def _executemany(sql: str, rows: list[tuple]) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _record(results: list[tuple[_Send, transport.CallbackResult]]) -> None:
    """Write the attempts and the deliveries' new states, a few statements per batch.

    This is the hot path of delivery: the ORM's per-row ``update()`` and
    ``bulk_update()`` cost milliseconds a row in expression building, so the
    batch is written with ``executemany`` of plain parametrised UPDATEs, values
    adapted by the backend's own ``connection.ops``.
    """
    ops = connection.ops
    now = timezone.now()
    at = ops.adapt_datetimefield_value
    with transaction.atomic():
        ids = [send.delivery.id for send, _ in results]
        holders = {
            delivery_id: (token, status)
            for delivery_id, token, status in Delivery.objects.select_for_update()
            .filter(id__in=ids)
            .values_list("id", "lease_token", "status")
        }
        delivery_rows, task_rows, lost = [], [], []
        for send, result in results:
            if holders.get(send.delivery.id) != (send.token, Delivery.Status.PENDING):
                # The attempt outlived its lease and another worker took the
                # delivery over, or a resend superseded it meanwhile: the
                # attempt is recorded, the delivery's state is no longer ours.
                lost.append(send)
                continue
            outcome = _outcome(send=send, result=result, now=now)
            status = outcome.get("status", Delivery.Status.PENDING)
            delivery_rows.append(
                (status, at(outcome.get("finished_at")), at(outcome["next_attempt_at"]), send.delivery.id)
            )
            if status in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED):
                succeeded = status == Delivery.Status.SUCCEEDED
                task_rows.append(
                    (succeeded, at(now) if succeeded else None, send.delivery.task_id,
                     send.delivery.task_id, at(send.delivery.created_at))
                )
        _executemany(
            f"UPDATE {Delivery._meta.db_table} SET status = %s, finished_at = %s, next_attempt_at = %s, "
            "lease_token = NULL, leased_until = NULL WHERE id = %s",
            delivery_rows,
        )
        # callback_succeeded follows the most recent finished delivery of the task.
        _executemany(
            f"UPDATE {Task._meta.db_table} SET callback_succeeded = %s, callback_succeeded_at = %s "
            f"WHERE id = %s AND NOT EXISTS (SELECT 1 FROM {Delivery._meta.db_table} d "
            "WHERE d.task_id = %s AND d.created_at > %s AND d.status IN ('succeeded', 'failed'))",
            task_rows,
        )
        _executemany(
            f"UPDATE {DeliveryAttempt._meta.db_table} SET duration_ms = %s, status_code = %s, error = %s, "
            "response_excerpt = %s, request_headers = %s, succeeded = %s WHERE id = %s",
            [
                (result.duration_ms, result.status_code, result.error, result.body_excerpt,
                 ops.adapt_json_value(masked_headers(send.headers), None), result.ok, send.attempt.id)
                for send, result in results
            ],
        )

    for send in lost:
        logger.warning(
            "Lost the lease of delivery %s during attempt %s",
            send.delivery.id,
            send.attempt.number,
            extra={"delivery_id": send.delivery.id},
        )
    for send, result in results:
        log = logger.info if result.ok else logger.warning
        log(
            "Callback %s attempt %s to %s: %s",
            send.delivery.id,
            send.attempt.number,
            send.delivery.target_kind,
            "delivered" if result.ok else (result.error or f"HTTP {result.status_code}"),
            extra={
                "delivery_id": send.delivery.id,
                "task_id": send.delivery.task_id,
                "attempt": send.attempt.number,
            },
        )


def callback_deliver(*, delivery_id: str) -> DeliveryAttempt | None:
    """Make the next attempt of one delivery, in this thread, if it is due and free.

    Returns the recorded attempt, or None when there was nothing to do (not
    due, finished, or another worker holds it).
    """
    sends = _claim(ids=[delivery_id])
    if not sends:
        return None
    (send,) = sends
    _record([(send, _send(delivery=send.delivery, headers=send.headers))])
    return send.attempt


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _sender_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=DRAIN_IN_FLIGHT, thread_name_prefix="scalehooks-send")
        return _pool


def deliveries_drain(*, time_budget: float = DRAIN_TIME_BUDGET, in_flight: int = DRAIN_IN_FLIGHT) -> int:
    """Send due deliveries until none is left or the time budget is spent; how many were sent.

    Keeps up to ``in_flight`` sends going, claims more as they finish, and
    records finished ones a batch per transaction. Work left when the budget
    is spent is handed to a new drain job.
    """
    pool = _sender_pool()
    deadline = time.monotonic() + time_budget
    pending: dict[Future, _Send] = {}
    sent = 0
    idle_claims = 0
    while True:
        taking = time.monotonic() < deadline
        free = in_flight - len(pending)
        # Claim in batches (half the slots at least), so that claims stay few and large.
        if taking and (free >= in_flight // 2 or not pending):
            sends = _claim(ids=deliveries_to_send(now=timezone.now(), limit=free))
            for send in sends:
                pending[pool.submit(_send, delivery=send.delivery, headers=send.headers)] = send
            if sends and len(sends) == free:
                request_drain()  # more may be due: let another worker help
            idle_claims = 0 if sends else idle_claims + 1
        if not pending:
            break
        # While taking new work, look again soon; back off while nothing new comes.
        timeout = min(0.5, 0.01 * 2**idle_claims) if taking else None
        done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        if done:
            # Sends started together finish together: gather those that finish
            # within a few more milliseconds into the same transaction.
            more, _ = wait(set(pending) - done, timeout=RECORD_GATHER)
            finished = done | more
            _record([(pending.pop(future), future.result()) for future in finished])
            sent += len(finished)
    if time.monotonic() >= deadline and deliveries_due(now=timezone.now()).exists():
        request_drain(force=True)
    return sent
