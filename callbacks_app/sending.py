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
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from callbacks_app import retry, transport
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.queueing import WATCH, request_drain, watch_release, watch_take
from callbacks_app.signing import active_signing_secrets, sign
from callbacks_app.targets import email_target
from tasks_app.models import Profile, Task

logger = logging.getLogger(__name__)

MASK = "***"
SECRET_HEADERS = ("scale-callback-auth", "webhook-signature")

DRAIN_IN_FLIGHT = 64  # sends in flight per drain job (per worker process)
DRAIN_TIME_BUDGET = 10.0  # seconds a drain job takes new work before it hands over
CANDIDATES_PER_SLOT = 4  # due rows looked at per free slot, to fill it despite per-target caps
RECORD_GATHER = 0.01  # seconds to wait for more finished sends to record together
PER_JOB_TARGET_SLOTS = DRAIN_IN_FLIGHT // 2  # slots of one drain job one target may hold
PICK_PASSES = 3  # candidate queries per pick at most
CLAIM_EVERY = 0.02  # seconds between claims while work trickles in (at once while it piles up)
DRAIN_LINGER = 0.5  # seconds the watching drain job stays after the last work it found
HELP_LAG = 0.1  # seconds: a watcher that claims deliveries due longer ago than this asks for help
HELP_EVERY = 0.5  # seconds between a lagging watcher's calls for help


# The task's large columns, which sending never reads (the payload is frozen in
# the delivery): not fetched with each claimed delivery.
TASK_FIELDS_NOT_SENT = (
    "instruction", "params", "response", "metadata", "tags", "audits", "customer_review_comments",
    "prior_responses",
)


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
    profile: Profile
    headers: dict[str, str]


@dataclass
class _Sent:
    headers: dict[str, str]  # as actually sent (an email's differ from an HTTP request's)
    result: transport.CallbackResult


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


def sends_in_flight_by_target(*, now):
    """(target, deliveries being sent to it now) pairs, across all workers
    (served by the partial index ``delivery_in_flight_idx``)."""
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING, leased_until__gte=now)
        .values_list("target")
        .annotate(n=Count("id"))
        .order_by()
    )


def deliveries_to_send(*, now, limit: int, held: dict[str, int] | None = None) -> list[str]:
    """Up to ``limit`` due delivery ids, oldest due first, within the per-target caps.

    A target may hold at most ``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` sends in
    flight across all workers, and at most ``PER_JOB_TARGET_SLOTS`` of the
    slots of one drain job (``held``: the job's sends in flight by target):
    one that hangs until the timeout holds that many slots, and everything
    else keeps flowing through the others.
    """
    held = held or {}
    cap = settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET
    in_flight = dict(sends_in_flight_by_target(now=now))
    picked: list[str] = []
    # Capped targets are left out in the query: their deliveries are often the
    # oldest due ones, and must not crowd everybody else out of the candidates.
    # A target that reaches its cap during a pass is left out of the next one.
    for _ in range(PICK_PASSES):
        capped = {target for target, n in in_flight.items() if n >= cap}
        capped |= {target for target, n in held.items() if n >= PER_JOB_TARGET_SLOTS}
        window = (limit - len(picked)) * CANDIDATES_PER_SLOT
        candidates = list(
            deliveries_due(now=now)
            .exclude(target__in=capped)
            .exclude(id__in=picked)
            .order_by("next_attempt_at")
            .values_list("id", "target")[:window]
        )
        for delivery_id, target in candidates:
            if in_flight.get(target, 0) >= cap or held.get(target, 0) >= PER_JOB_TARGET_SLOTS:
                continue
            in_flight[target] = in_flight.get(target, 0) + 1
            held[target] = held.get(target, 0) + 1
            picked.append(delivery_id)
            if len(picked) == limit:
                return picked
        if len(candidates) < window:
            break  # every due delivery was looked at
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
        _lock_tasks_of(delivery_ids=ids)
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
        deliveries = list(
            Delivery.objects.select_related("task")
            .defer(*(f"task__{name}" for name in TASK_FIELDS_NOT_SENT))
            .filter(id__in=ids, lease_token=token)  # by primary key: no index on the token
        )
        live = []
        for delivery in deliveries:
            window_closed = now >= delivery.first_attempt_at + retry.RETRY_WINDOW + retry.WINDOW_GRACE
            if delivery.attempt_count > max_attempts() or window_closed:
                _finish_exhausted(delivery=delivery, token=token, now=now)
            else:
                live.append(delivery)
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery=delivery,
                number=delivery.attempt_count,
                started_at=now,
                error=DeliveryAttempt.UNFINISHED,
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
            profile=profiles[delivery.task.owner_id],
            headers=_request_headers(
                delivery=delivery,
                profile=profiles[delivery.task.owner_id],
                attempt=attempt.number,
                now=now,
            ),
        )
        for delivery, attempt in zip(live, attempts)
    ]


def _lock_tasks_of(*, delivery_ids: list[str]) -> None:
    """Lock the task rows of these deliveries for the rest of the transaction.

    Lock order: whoever changes a task and its deliveries in one transaction
    locks the task first (``task_complete``, ``callback_resend``), so the
    sending code does the same before it touches delivery rows whose task it
    may update; in id order, so that two batches cannot deadlock either.
    Skipped where rows cannot be locked (SQLite, whose IMMEDIATE transactions
    are serialised anyway): the query would cost a round trip and lock nothing.
    """
    if not connection.features.has_select_for_update:
        return
    list(
        Task.objects.select_for_update(of=("self",))
        .filter(deliveries__id__in=delivery_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )


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


def _send(*, delivery: Delivery, headers: dict[str, str]) -> _Sent:
    """One attempt over HTTP or email; touches no database (it runs on the sender threads).

    The transports return a result for every network outcome; anything else
    they raise is a bug, recorded as a failed attempt rather than lost.
    """
    started = time.monotonic()
    try:
        return _transport_send(delivery=delivery, headers=headers)
    except Exception as exc:
        logger.exception(
            "Sending delivery %s failed unexpectedly", delivery.id, extra={"delivery_id": delivery.id}
        )
        return _Sent(
            headers=headers,
            result=transport.CallbackResult(
                ok=False,
                duration_ms=int((time.monotonic() - started) * 1000),
                error=f"Internal error while sending: {type(exc).__name__}",
            ),
        )


def email_message_id(delivery_id: str) -> str:
    """The Message-ID of every email of a delivery: ``<delivery id@domain of CALLBACK_EMAIL_FROM>``."""
    address = parseaddr(settings.CALLBACK_EMAIL_FROM)[1]
    domain = address.rpartition("@")[2] or "scalehooks"
    return f"<{delivery_id}@{domain}>"


def _transport_send(*, delivery: Delivery, headers: dict[str, str]) -> _Sent:
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
        return _Sent(headers=sent, result=result)
    result = transport.send_callback_http(
        url=delivery.target, body=delivery.payload.encode("utf-8"), headers=headers
    )
    return _Sent(headers=headers, result=result)


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


def _update_each(*, per_row: str, per_batch: str, rows: list[tuple]) -> None:
    """Run the UPDATE ``per_row`` once for each of ``rows``, in one statement on PostgreSQL.

    On PostgreSQL, ``per_batch`` runs instead: the same UPDATE joined to the
    rows passed as arrays, one per column (``FROM unnest(...)``), so the
    server parses, plans and runs one statement per batch instead of one per
    row (measured with batches of 8: half the database's CPU for recording,
    0.61 → 0.34 ms a callback). SQLite runs ``per_row`` with ``executemany``,
    which reuses one prepared statement.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(per_batch, [list(column) for column in zip(*rows)])
        else:
            cursor.executemany(per_row, rows)


def _record(results: list[tuple[_Send, _Sent]]) -> None:
    """Write the attempts and the deliveries' new states, a few statements per batch.

    This is the hot path of delivery: the ORM's per-row ``update()`` and
    ``bulk_update()`` cost milliseconds a row in expression building, so the
    batch is written with plain parametrised UPDATEs (``_update_each``), values
    adapted by the backend's own ``connection.ops``.
    """
    ops = connection.ops
    now = timezone.now()
    at = ops.adapt_datetimefield_value
    ids = [send.delivery.id for send, _ in results]
    errors = {}
    with transaction.atomic():
        _lock_tasks_of(delivery_ids=ids)
        holders = {
            delivery_id: (token, status)
            for delivery_id, token, status in Delivery.objects.select_for_update()
            .filter(id__in=ids)
            .order_by("id")
            .values_list("id", "lease_token", "status")
        }
        delivery_rows, task_rows, attempt_rows, superseded, lost = [], [], [], [], []
        for send, sent in results:
            result = sent.result
            secrets = _secret_values(profile=send.profile, headers=send.headers)
            errors[send.delivery.id] = error = scrub(result.error, secrets)
            attempt_rows.append((
                result.duration_ms, result.status_code, error, scrub(result.body_excerpt, secrets),
                ops.adapt_json_value(masked_headers(sent.headers), None), result.ok, send.attempt.id,
            ))
            holder = holders.get(send.delivery.id)
            if holder == (send.token, Delivery.Status.SUPERSEDED):
                superseded.append(send)  # a resend superseded it during this attempt
                continue
            if holder != (send.token, Delivery.Status.PENDING):
                lost.append(send)  # the attempt outlived its lease: another worker took over
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
                     at(send.delivery.created_at))
                )
        delivery_table, task_table = Delivery._meta.db_table, Task._meta.db_table
        _update_each(
            per_row=(
                f"UPDATE {delivery_table} SET status = %s, finished_at = %s, next_attempt_at = %s, "
                "lease_token = NULL, leased_until = NULL WHERE id = %s"
            ),
            per_batch=(
                f"UPDATE {delivery_table} AS d SET status = v.status, finished_at = v.finished_at, "
                "next_attempt_at = v.next_attempt_at, lease_token = NULL, leased_until = NULL "
                "FROM unnest(%s::varchar[], %s::timestamptz[], %s::timestamptz[], %s::varchar[]) "
                "AS v(status, finished_at, next_attempt_at, id) WHERE d.id = v.id"
            ),
            rows=delivery_rows,
        )
        # callback_succeeded follows the most recent finished delivery of the task
        # (the deliveries' new states written above count).
        _update_each(
            per_row=(
                f"UPDATE {task_table} SET callback_succeeded = %s, callback_succeeded_at = %s "
                f"WHERE id = %s AND NOT EXISTS (SELECT 1 FROM {delivery_table} newer "
                f"WHERE newer.task_id = {task_table}.id AND newer.created_at > %s "
                "AND newer.status IN ('succeeded', 'failed'))"
            ),
            per_batch=(
                f"UPDATE {task_table} AS t SET callback_succeeded = v.succeeded, "
                "callback_succeeded_at = v.succeeded_at "
                "FROM unnest(%s::boolean[], %s::timestamptz[], %s::varchar[], %s::timestamptz[]) "
                "AS v(succeeded, succeeded_at, task_id, created_at) "
                f"WHERE t.id = v.task_id AND NOT EXISTS (SELECT 1 FROM {delivery_table} newer "
                "WHERE newer.task_id = t.id AND newer.created_at > v.created_at "
                "AND newer.status IN ('succeeded', 'failed'))"
            ),
            rows=task_rows,
        )
        attempt_table = DeliveryAttempt._meta.db_table
        _update_each(
            per_row=(
                f"UPDATE {attempt_table} SET duration_ms = %s, status_code = %s, error = %s, "
                "response_excerpt = %s, request_headers = %s, succeeded = %s WHERE id = %s"
            ),
            per_batch=(
                f"UPDATE {attempt_table} AS a SET duration_ms = v.duration_ms, status_code = v.status_code, "
                "error = v.error, response_excerpt = v.response_excerpt, "
                "request_headers = v.request_headers, succeeded = v.succeeded "
                "FROM unnest(%s::integer[], %s::smallint[], %s::text[], %s::text[], %s::jsonb[], "
                "%s::boolean[], %s::bigint[]) "
                "AS v(duration_ms, status_code, error, response_excerpt, request_headers, succeeded, id) "
                "WHERE a.id = v.id"
            ),
            rows=attempt_rows,
        )
        for send in superseded:
            Delivery.objects.filter(id=send.delivery.id, lease_token=send.token).update(
                lease_token=None, leased_until=None
            )
            _release_waiting_resends(delivery=send.delivery, now=now)

    for send in lost:
        logger.warning(
            "Lost the lease of delivery %s during attempt %s",
            send.delivery.id,
            send.attempt.number,
            extra={"delivery_id": send.delivery.id},
        )
    for send, sent in results:
        log = logger.info if sent.result.ok else logger.warning
        log(
            "Callback %s attempt %s to %s: %s",
            send.delivery.id,
            send.attempt.number,
            send.delivery.target_kind,
            "delivered" if sent.result.ok else (errors[send.delivery.id] or f"HTTP {sent.result.status_code}"),
            extra={
                "delivery_id": send.delivery.id,
                "task_id": send.delivery.task_id,
                "attempt": send.attempt.number,
            },
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
    send.attempt.refresh_from_db()
    return send.attempt


def deliveries_deliver_until_finished(
    *,
    delivery_ids: list[str],
    timeout: float | None = None,
    on_attempt: Callable[[DeliveryAttempt], None] | None = None,
    on_finished: Callable[[Delivery], None] | None = None,
    poll: float = 1.0,
) -> dict[str, Delivery]:
    """Send deliveries from this process, attempt after attempt as each falls due, until all finish.

    Every attempt goes through ``callback_deliver``, so a django-q2 worker
    sending the same delivery meanwhile never runs concurrently with us (its
    attempts are not reported to ``on_attempt``). Returns the deliveries as
    they are at the end (unfinished ones only when ``timeout`` seconds passed
    first).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    remaining = list(delivery_ids)
    done: dict[str, Delivery] = {}
    while remaining:
        for delivery_id in list(remaining):
            attempt = callback_deliver(delivery_id=delivery_id)
            if attempt is not None and on_attempt is not None:
                on_attempt(attempt)
            delivery = Delivery.objects.get(id=delivery_id)
            if delivery.is_finished:
                done[delivery_id] = delivery
                remaining.remove(delivery_id)
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
        wait_for = min(((min(due) - now).total_seconds() if due else poll), poll)
        if deadline is not None:
            wait_for = min(wait_for, deadline - time.monotonic())
        time.sleep(max(wait_for, 0.05))
    for delivery_id in remaining:
        done[delivery_id] = Delivery.objects.get(id=delivery_id)
    return {delivery_id: done[delivery_id] for delivery_id in delivery_ids}


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _sender_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # Room beyond one job's slots: sends that outlive their job (a hanging
            # receiver) keep their threads until the timeout.
            _pool = ThreadPoolExecutor(max_workers=4 * DRAIN_IN_FLIGHT, thread_name_prefix="scalehooks-send")
        return _pool


def _lagging(sends: list[_Send]) -> bool:
    """Whether some of these sends waited more than ``HELP_LAG`` seconds past their due time."""
    if not sends:
        return False
    oldest = min(send.delivery.next_attempt_at for send in sends)
    return (timezone.now() - oldest).total_seconds() > HELP_LAG


def deliveries_drain(
    *, time_budget: float = DRAIN_TIME_BUDGET, in_flight: int = DRAIN_IN_FLIGHT, linger: float = DRAIN_LINGER
) -> int:
    """Send due deliveries until none is left or the time budget is spent; how many were sent.

    Keeps up to ``in_flight`` sends going, claims more as they finish, and
    records finished ones a batch per transaction. While work keeps coming,
    claims are paced (``CLAIM_EVERY``) so that each claim and each record
    takes a batch, not a callback at a time.

    The first drain job to start takes the watch of the ledger
    (``queueing.watch_take``): while it holds it, kicks queue no more jobs,
    and it stays until nothing has come for ``linger`` seconds. A job that
    finds the watch taken helps while there is work and leaves when idle.

    Work left when the budget is spent is handed to a new drain job; sends
    still in flight then (a receiver that hangs) are recorded by this
    process's recorder thread, so the worker is free at once.
    """
    pool = _sender_pool()
    holder = new_lease_token()
    watch_until = watch_take(holder=holder)
    deadline = time.monotonic() + time_budget
    pending: dict[Future, _Send] = {}
    sent = 0
    idle_claims = 0
    last_claim = last_help = 0.0
    last_work = time.monotonic()
    backlog = True  # claim at once
    while time.monotonic() < deadline:
        if watch_until is not None and watch_until - timezone.now() < WATCH / 2:
            watch_until = watch_take(holder=holder)
        free = in_flight - len(pending)
        claimed_nothing = False
        if free == 0 and watch_until is not None and time.monotonic() - last_help >= HELP_EVERY:
            # Every slot taken (by a busy stream, or by receivers that hang): while
            # it watches, no kick brings another job, so ask for one.
            request_drain(help=True)
            last_help = time.monotonic()
        if free > 0 and (backlog or time.monotonic() - last_claim >= CLAIM_EVERY):
            held: dict[str, int] = {}
            for send in pending.values():
                held[send.delivery.target] = held.get(send.delivery.target, 0) + 1
            sends = _claim(ids=deliveries_to_send(now=timezone.now(), limit=free, held=held))
            last_claim = time.monotonic()
            for send in sends:
                pending[pool.submit(_send, delivery=send.delivery, headers=send.headers)] = send
            backlog = bool(sends) and len(sends) == free
            # More may be due than this job keeps up with: ask another worker to help.
            # The watcher asks at most every HELP_EVERY seconds while it lags behind.
            lagging = watch_until is not None and last_claim - last_help >= HELP_EVERY and _lagging(sends)
            if backlog or lagging:
                request_drain(help=True)
                last_help = last_claim
            if sends:
                last_work, idle_claims = last_claim, 0
            else:
                claimed_nothing, idle_claims = True, idle_claims + 1
        if not pending and claimed_nothing:
            if watch_until is None:
                break  # a helper: leaves as soon as it finds nothing
            if time.monotonic() - last_work >= linger:
                # Give the watch up first, then look once more (see callbacks_app.queueing).
                watch_release(holder=holder)
                watch_until = None
                if not deliveries_due(now=timezone.now()).exists():
                    break
                watch_until = watch_take(holder=holder)
                backlog, last_work = True, time.monotonic()
                continue
        # Look again soon while work comes; back off while nothing new comes.
        timeout = min(0.5, 0.01 * 2**idle_claims, CLAIM_EVERY if free > 0 else 0.5)
        if pending:
            done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            done = set()
            time.sleep(timeout)
        if done:
            # Sends started together finish together: gather those that finish
            # within a few more milliseconds into the same transaction.
            more, _ = wait(set(pending) - done, timeout=RECORD_GATHER)
            finished = done | more
            _record([(pending.pop(future), future.result()) for future in finished])
            sent += len(finished)
    if watch_until is not None:
        watch_release(holder=holder)
    if pending:
        _recorder().adopt(pending)
    if time.monotonic() >= deadline and deliveries_due(now=timezone.now()).exists():
        request_drain(force=True)
    return sent


class _Recorder:
    """Records sends that outlive the drain job that started them (a hanging receiver).

    One daemon thread per process, started on first use. Should the process
    die first, those attempts stay "did not finish" and their deliveries are
    taken over when the send lease runs out, as for any killed worker.
    """

    def __init__(self):
        self._pending: dict[Future, _Send] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="scalehooks-recorder", daemon=True).start()

    def adopt(self, pending: dict[Future, _Send]) -> None:
        with self._lock:
            self._pending.update(pending)
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                futures = dict(self._pending)
            if not futures:
                self._wake.clear()
                continue
            done, _ = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            if not done:
                continue
            with self._lock:
                for future in done:
                    self._pending.pop(future, None)
            try:
                _record([(futures[future], future.result()) for future in done])
            except Exception:
                logger.exception("Recording sends that outlived their drain job failed")
            finally:
                close_old_connections()


_recorder_instance: _Recorder | None = None


def _recorder() -> _Recorder:
    global _recorder_instance
    with _pool_lock:
        if _recorder_instance is None:
            _recorder_instance = _Recorder()
        return _recorder_instance
