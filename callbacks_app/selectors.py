"""Reading deliveries (SPEC §6.8).

For the API, callers scope the task or batch first (``tasks_app.selectors.task_get``,
``batch_get``).
For the operators' dashboard and ``/metrics``, every figure is one aggregate query
that the database answers from an index (see the ``Meta.indexes`` of
``Delivery`` and ``DeliveryAttempt``): no rows are loaded into Python, so the
dashboard stays fast with millions of attempts.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, F, FloatField, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast

from callbacks_app.engine.picking import held_by_nobody
from callbacks_app.models import Delivery, DeliveryAttempt
from scalehooks import json_input
from scalehooks.errors import NotFound


def deliveries_of_task(*, task) -> QuerySet[Delivery]:
    """The task's deliveries, newest first, each with its attempts in order (payload deferred)."""
    return _log(Delivery.objects.filter(task=task))


def deliveries_of_batch(*, batch) -> QuerySet[Delivery]:
    """The batch's deliveries (its ``batch.completed`` callbacks), as ``deliveries_of_task``."""
    return _log(Delivery.objects.filter(batch=batch))


def _log(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    return (
        deliveries.defer("payload")
        .order_by("-created_at", "-id")
        .prefetch_related(Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number")))
    )


# --- the lists: a retrying or failed delivery with its last failed attempt -------------


def with_last_failure(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """``deliveries`` with their last failed attempt (an attempt under way is not one):
    ``last_failure_number``, ``_status``, ``_error``, ``_at`` and ``_private`` (None when none),
    read for the rows fetched only (``attempt_number_unique``, backwards)."""
    failures = (
        DeliveryAttempt.objects.filter(delivery=OuterRef("pk"), succeeded=False)
        .exclude(error=DeliveryAttempt.UNFINISHED)
        .order_by("-number")
    )
    columns = {
        "number": "number",
        "status": "status_code",
        "error": "error",
        "at": "started_at",
        "private": "private_target",
    }
    return deliveries.annotate(
        **{f"last_failure_{name}": Subquery(failures.values(column)[:1]) for name, column in columns.items()}
    )


@dataclass(frozen=True)
class DeliveryState:
    """What a list says of a delivery beside its status: failed attempts, the last error, the next
    attempt (from ``with_last_failure``)."""

    retrying: bool  # pending after a failed attempt
    failed_attempts: int
    last_error: str  # "" when none, or hidden (a private target's, for a customer)
    last_error_at: datetime | None
    next_attempt_at: datetime | None


PRIVATE_ERROR_HIDDEN = "hidden (private network)"


def delivery_state(delivery: Delivery, *, operator: bool) -> DeliveryState:
    """The state a list shows, for an operator (every error) or a customer (a private target's
    error hidden, SPEC §8)."""
    number = getattr(delivery, "last_failure_number", None)
    error = ""
    if number is not None:
        status = delivery.last_failure_status
        error = delivery.last_failure_error or (f"HTTP {status}" if status else "no answer")
        if delivery.last_failure_private and not operator:
            error = PRIVATE_ERROR_HIDDEN
    pending = delivery.status == Delivery.Status.PENDING
    if not hasattr(delivery, "last_failure_number"):  # not read through ``with_last_failure``
        number = delivery.attempt_count if pending and delivery.attempt_count else None
    return DeliveryState(
        retrying=pending and number is not None,
        failed_attempts=number or 0,
        last_error=error,
        last_error_at=getattr(delivery, "last_failure_at", None),
        next_attempt_at=delivery.next_attempt_at if pending else None,
    )


# --- one account's side: the portal's callbacks (SPEC §14) ---------------------------


def deliveries_of_account(*, owner, is_test: bool) -> QuerySet[Delivery]:
    """Every delivery of one account's side (live or test), newest first, payload deferred, with
    its batch (a list names it)."""
    return (
        Delivery.objects.filter(owner=owner, is_test=is_test)
        .select_related("batch")
        .defer("payload", "batch__metadata")
        .order_by("-created_at", "-id")
    )


def delivery_of_account(*, owner, is_test: bool, delivery_id: str) -> Delivery:
    """One delivery of the account's side with its attempts in order; ``NotFound`` for any other
    (another account's, the other side's, or none)."""
    found = (
        Delivery.objects.filter(owner=owner, is_test=is_test, id=delivery_id)
        .select_related("task", "batch")
        .prefetch_related(Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number")))
        .first()
    )
    if found is None:
        raise NotFound(f"No delivery {delivery_id}.")
    return found


@dataclass(frozen=True)
class OriginFailures:
    origin: str
    failed: int
    last_failed_at: datetime


def failed_deliveries_by_origin(
    *, owner, is_test: bool, since: datetime, limit: int = 10
) -> list[OriginFailures]:
    """Target origins of the account side with failed deliveries finished since ``since``, the
    most failures first (the portal's overview, beside the failing targets of
    ``health_selectors.targets_unwell``: a target fails after consecutive failed attempts,
    a delivery after its last retry)."""
    rows = (
        Delivery.objects.filter(
            owner=owner, is_test=is_test, status=Delivery.Status.FAILED, finished_at__gte=since
        )
        .order_by()
        .values("target_origin")
        .annotate(failed=Count("id"), last_failed_at=Max("finished_at"))
        .order_by("-failed", "target_origin")[:limit]
    )
    return [
        OriginFailures(
            origin=row["target_origin"], failed=row["failed"], last_failed_at=row["last_failed_at"]
        )
        for row in rows
    ]


# The filters of the portal's callbacks list, and the lookup each one is.
DELIVERY_FILTERS = {
    "status": "status",
    "event": "event",
    "task_id": "task_id",
    "unique_id": "task__unique_id",
    "target": "target__icontains",
    "since": "created_at__gte",
    "until": "created_at__lt",
}


def deliveries_filtered(*, owner, is_test: bool, filters: dict) -> QuerySet[Delivery]:
    """The account's deliveries matching ``filters`` (keys of ``DELIVERY_FILTERS``, and ``batch``:
    a batch's name, its own callbacks and its tasks'). Empty values are ignored."""
    deliveries = deliveries_of_account(owner=owner, is_test=is_test)
    lookups = {
        DELIVERY_FILTERS[k]: v for k, v in filters.items() if k in DELIVERY_FILTERS and v not in ("", None)
    }
    deliveries = deliveries.filter(**lookups)
    if filters.get("batch"):
        deliveries = deliveries.filter(Q(batch__name=filters["batch"]) | Q(task__batch=filters["batch"]))
    return deliveries


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    next_cursor: str | None  # None: the last page


def _cursor_encode(delivery: Delivery) -> str:
    raw = json.dumps({"c": delivery.created_at.isoformat(), "i": delivery.id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(token: str) -> tuple[datetime, str]:
    """(created_at, id) of the last delivery of the previous page; a ``ValidationError`` for a
    token that ``_cursor_encode`` did not write."""
    try:
        raw = json_input.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        created_at, delivery_id = datetime.fromisoformat(raw["c"]), raw["i"]
        if created_at.tzinfo is None or not isinstance(delivery_id, str):
            raise ValueError(token)
        return created_at.astimezone(UTC), delivery_id
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError, AttributeError):
        raise ValidationError({"cursor": ["Invalid cursor: start again from the first page."]}) from None


def deliveries_page(*, deliveries: QuerySet[Delivery], limit: int, cursor: str | None) -> DeliveryPage:
    """A page of ``deliveries`` (ordered newest first) after ``cursor``: keyset pagination on
    (created_at, id), so new deliveries never shift the later pages."""
    if cursor:
        created_at, delivery_id = _cursor_decode(cursor)
        deliveries = deliveries.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=delivery_id)
        )
    rows = list(deliveries[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(deliveries=rows, next_cursor=_cursor_encode(rows[-1]) if more else None)


# A retry is sent within 5 s of its due time when workers are free (SPEC §6.4):
# a pending delivery due longer ago than this, and that no worker is sending, is overdue.
OVERDUE_AFTER = timedelta(seconds=5)

FINISHED_OUTCOMES = (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED)


def overdue(*, now: datetime) -> Q:
    """What makes a pending delivery overdue at ``now``: due more than ``OVERDUE_AFTER`` ago, held by nobody."""
    return held_by_nobody(now) & Q(next_attempt_at__lt=now - OVERDUE_AFTER)


def deliveries_overdue(*, now: datetime) -> QuerySet[Delivery]:
    """The pending deliveries that are overdue at ``now`` (see ``overdue``)."""
    return Delivery.objects.filter(overdue(now=now), status=Delivery.Status.PENDING)


def delivery_outcomes(*, since: datetime) -> dict[str, int]:
    """Deliveries created since ``since``, counted by status (every status, 0 if none).

    One pass over ``delivery_created_status_idx`` with a conditional count per
    status: no GROUP BY, whose sort SQLite would otherwise avoid by scanning a
    status-first index over the whole table.
    """
    return Delivery.objects.filter(created_at__gte=since).aggregate(
        **{status: Count("status", filter=Q(status=status)) for status in Delivery.Status.values}
    )


@dataclass(frozen=True)
class PendingRetries:
    pending: int  # deliveries not finished yet
    retrying: int  # of which at least one attempt failed: waiting for a retry
    overdue: int  # due more than OVERDUE_AFTER ago and still not being sent (see ``overdue``)
    next_retry_at: datetime | None  # the earliest retry due from now on
    retrying_since: int  # the retrying ones created since ``since`` (the dashboard's window)


def pending_retries(*, now: datetime, since: datetime) -> PendingRetries:
    """The live state of the retry queue (not windowed, but for ``retrying_since``): one query on
    the pending deliveries."""
    figures = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(
        pending=Count("*"),
        retrying=Count("status", filter=Q(attempt_count__gt=0)),
        overdue=Count("status", filter=overdue(now=now)),
        next_retry_at=Min("next_attempt_at", filter=Q(attempt_count__gt=0, next_attempt_at__gte=now)),
        retrying_since=Count("status", filter=Q(attempt_count__gt=0, created_at__gte=since)),
    )
    return PendingRetries(**figures)


@dataclass(frozen=True)
class TargetFailures:
    target: str
    finished: int
    failed: int
    retrying: int  # pending after a failed attempt
    failure_rate: float  # (failed + retrying) / (finished + retrying): not delivered, so far


def worst_targets(*, since: datetime, limit: int = 10) -> list[TargetFailures]:
    """Targets whose deliveries created since ``since`` failed or are retrying, the highest share
    not delivered first.

    Filtered on ``created_at`` only (``delivery_created_status_idx``); the
    statuses are counted, not filtered, so no status index is chosen instead.
    """
    retrying = Q(status=Delivery.Status.PENDING, attempt_count__gt=0)
    rows = (
        Delivery.objects.filter(created_at__gte=since)
        .order_by()
        .values("target")
        .annotate(
            finished=Count("status", filter=Q(status__in=FINISHED_OUTCOMES)),
            failed=Count("status", filter=Q(status=Delivery.Status.FAILED)),
            retrying=Count("status", filter=retrying),
        )
        .filter(Q(failed__gt=0) | Q(retrying__gt=0))
        .annotate(
            failure_rate=Cast(F("failed") + F("retrying"), FloatField())
            / Cast(F("finished") + F("retrying"), FloatField())
        )
        .order_by("-failure_rate", "-failed", "-retrying", "target")[:limit]
    )
    return [TargetFailures(**row) for row in rows]


@dataclass(frozen=True)
class Bucket:
    start: datetime
    succeeded: int
    failed: int


def bucket_starts(*, since: datetime, until: datetime, seconds: int) -> list[datetime]:
    """The starts of the buckets of ``seconds`` (aligned on the Unix epoch, UTC) covering the window."""
    first, last = int(since.timestamp()) // seconds, int(until.timestamp()) // seconds
    return [
        datetime.fromtimestamp(number * seconds, tz=UTC)
        for number in range(first, last + 1)  # one per bucket of the window, not per row
    ]


def attempts_per_bucket(*, since: datetime, until: datetime, seconds: int) -> list[Bucket]:
    """Attempts started per time bucket of ``seconds``, succeeded and failed, empty buckets included.

    One query: the bucket bounds are a VALUES list, and each bucket's counts
    are range counts on ``attempt_latency_idx`` (started_at, duration_ms,
    succeeded), read from the index alone. No row is grouped or sorted, and the
    SQL is the same on SQLite and PostgreSQL.
    """
    starts = bucket_starts(since=since, until=until, seconds=seconds)
    table = DeliveryAttempt._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    bounds = ", ".join(["(%s, %s)"] * len(starts))
    params = [adapt(value) for start in starts for value in (start, start + timedelta(seconds=seconds))]
    counts = ", ".join(
        f"(SELECT COUNT(*) FROM {table} AS a WHERE a.started_at >= b.lo AND a.started_at < b.hi AND {outcome})"
        for outcome in ("a.succeeded", "NOT a.succeeded")
    )
    sql = f"WITH b(lo, hi) AS (VALUES {bounds}) SELECT {counts} FROM b ORDER BY b.lo"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Bucket(start=start, succeeded=succeeded, failed=failed)
        for start, (succeeded, failed) in zip(starts, rows, strict=True)
    ]
