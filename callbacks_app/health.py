"""Target health (SPEC §16): how each account's callbacks of each mode fare at each target origin.

``targets_health_record`` is called by ``engine.recording`` in the transaction
that records a batch of attempts. It never reads the ledger: per batch it
reads and writes the ``TargetHealth`` rows of the origins the batch touched
(locked, in id order, after the deliveries' rows: every recorder takes them in
that order) and their current ``TargetHealthSlot``, a constant number of
statements whatever the batch's size. The transitions of a row's state happen
here under its lock, so each happens, and records its alert, exactly once
however many workers and clusters record at once (on SQLite the transaction
holds the database's write lock from its start: the same guarantee).

Success rates over 1 h and 24 h are read from the slots
(``callbacks_app.health_selectors.target_figures``); p50/p95 durations from the ledger
(``callbacks_app.durations``), not from the slots' histogram (``DURATION_BUCKETS_MS``), whose
bucket bounds are no percentile.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django_q.tasks import async_task

from callbacks_app import health_sql
from callbacks_app.failure_classes import failure_class
from callbacks_app.holds import held_windows_extend
from callbacks_app.models import TargetAlert, TargetHealth, TargetHealthSlot
from scalehooks.db import arrays_of, update_each

DURATION_BUCKETS_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 15000)
EXCERPT_KEPT = 500  # characters of the last error's answer kept (and mailed)
RELEASE_JOB = "callbacks_app.jobs.targets_waiting_release"  # a recovered target's waiting deliveries


@dataclass(frozen=True)
class RecordedAttempt:
    """One attempt as health counts it (in the order the batch recorded them)."""

    owner_id: int
    mode: str
    origin: str
    ok: bool
    duration_ms: int
    status_code: int | None
    error: str  # scrubbed
    excerpt: str  # scrubbed; "" for a private target's answer (operators only)
    exhausted: bool  # the attempt finished its delivery as failed
    delivery_id: str


@dataclass
class _Tally:
    attempts: int = 0
    succeeded: int = 0
    exhausted: int = 0
    trailing_failures: int = 0  # failures after the batch's last success (all when none)
    any_success: bool = False
    last_failure: RecordedAttempt | None = None
    durations: list[int] = field(default_factory=list)


def _tallies(attempts: list[RecordedAttempt]) -> dict[tuple, _Tally]:
    tallies: dict[tuple, _Tally] = defaultdict(_Tally)
    for attempt in attempts:
        tally = tallies[(attempt.owner_id, attempt.mode, attempt.origin)]
        tally.attempts += 1
        tally.durations.append(attempt.duration_ms)
        if attempt.ok:
            tally.succeeded += 1
            tally.any_success = True
            tally.trailing_failures = 0
        else:
            tally.trailing_failures += 1
            tally.last_failure = attempt
            tally.exhausted += attempt.exhausted
    return tallies


SLOT = timedelta(minutes=10)


def slot_of(moment: datetime) -> datetime:
    """The start of the ten minutes ``moment`` falls in."""
    return moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)


def _bucket_index(duration_ms: int) -> int:
    for i, bound in enumerate(DURATION_BUCKETS_MS):
        if duration_ms <= bound:
            return i
    return len(DURATION_BUCKETS_MS)


def _locked_rows(keys: list[tuple], *, slot_start: datetime) -> dict[tuple, tuple]:
    """The health rows of ``keys`` with their slot of ``slot_start`` (``health_sql.rows_locked``),
    the rows created when missing; locked in id order."""
    rows = health_sql.rows_locked(keys=keys, slot_start=slot_start)
    if any(key not in rows for key in keys):
        TargetHealth.objects.bulk_create(
            [TargetHealth(owner_id=o, mode=m, origin=g) for o, m, g in keys if (o, m, g) not in rows],
            ignore_conflicts=True,
        )
        rows = health_sql.rows_locked(keys=keys, slot_start=slot_start)
    return rows


def batch_health_record(*, results: list, failed_ids: set[str], now: datetime) -> list[TargetAlert]:
    """``targets_health_record`` of a batch ``engine.recording`` records: its (claim, sent) pairs,
    ``failed_ids`` the deliveries it finished as failed; the alerts are fanned out after the commit.

    The error and excerpt of each origin's last failure (the only ones kept) are scrubbed
    of the account's secrets here, as the attempt rows are; a private target's answer
    (operators only, SPEC §8) is not kept. Operators' alerts (``ops.alert`` deliveries)
    are not counted: they are not the account's target.
    """
    from callbacks_app.alerts import alerts_fan_out_on_commit
    from callbacks_app.masking import scrub, secret_values

    counted = [(claim, sent.result) for claim, sent in results if not claim.delivery.is_ops_alert]
    last_failure = {
        (claim.delivery.owner_id, claim.delivery.target_origin, claim.delivery.mode): i
        for i, (claim, result) in enumerate(counted)
        if not result.ok and not result.private_target
    }
    kept = set(last_failure.values())
    attempts = []
    for i, (claim, result) in enumerate(counted):
        delivery = claim.delivery
        secrets = secret_values(profile=claim.profile, headers=claim.headers) if i in kept else []
        attempts.append(
            RecordedAttempt(
                owner_id=delivery.owner_id,
                mode=delivery.mode,
                origin=delivery.target_origin,
                ok=result.ok,
                duration_ms=result.duration_ms,
                status_code=result.status_code,
                error=scrub(result.error, secrets) if i in kept else "",
                excerpt=scrub(result.body_excerpt, secrets) if i in kept else "",
                exhausted=delivery.id in failed_ids,
                delivery_id=delivery.id,
            )
        )
    alerts = targets_health_record(attempts=attempts, now=now)
    alerts_fan_out_on_commit(alerts=alerts)
    recovered = [alert.health_id for alert in alerts if alert.kind == TargetAlert.Kind.RECOVERED]
    if recovered:  # their waiting deliveries go at once, in a job of their own (lock order)
        transaction.on_commit(lambda: async_task(RELEASE_JOB, recovered, task_name="recovered targets"))
    return alerts


def targets_health_record(
    *, attempts: list[RecordedAttempt], now: datetime, exhausted: Counter | None = None
) -> list[TargetAlert]:
    """Count a batch of recorded attempts (and ``exhausted``: deliveries per key that failed with
    no attempt recorded) into the health of their targets; the alerts it causes.

    Called inside the recording's transaction; the alerts are written here and
    fanned out after the commit (``callbacks_app.alerts``).
    """
    if not attempts and not exhausted:
        return []
    tallies = _tallies(attempts)
    for key, count in (exhausted or {}).items():
        tallies[key].exhausted += count
    start = slot_of(now)
    rows = _locked_rows(list(tallies), slot_start=start)
    alerts, changed_rows, changed_slots = [], [], []
    for key, tally in tallies.items():
        row, slot = rows[key]
        alerts += _apply(row, tally, now=now)
        slot = slot or TargetHealthSlot(health=row, start=start)
        _count_slot(slot, tally)
        changed_rows.append(row)
        changed_slots.append(slot)
    _rows_write(changed_rows)
    health_sql.slots_write(changed_slots)
    return TargetAlert.objects.bulk_create(alerts) if alerts else []


def _rows_write(rows: list[TargetHealth]) -> None:
    """Write the rows' ``HEALTH_FIELDS``: one statement per batch (``update_each``); the ORM's
    ``bulk_update`` builds a CASE per field and row, a second for a batch of 30 origins."""
    ops = connection.ops
    table = TargetHealth._meta.db_table
    types = [HEALTH_FIELD_TYPES[name] for name in HEALTH_FIELDS]
    values = []
    for row in rows:
        line = []
        for name, kind in zip(HEALTH_FIELDS, types, strict=True):
            value = getattr(row, name)
            line.append(ops.adapt_datetimefield_value(value) if kind == "timestamptz" else value)
        values.append((*line, row.id))
    update_each(
        per_row=f"UPDATE {table} SET "
        + ", ".join(f"{name} = %s" for name in HEALTH_FIELDS)
        + " WHERE id = %s",
        per_batch=(
            f"UPDATE {table} AS t SET "
            + ", ".join(f"{name} = v.{name}" for name in HEALTH_FIELDS)
            + " FROM unnest("
            + arrays_of(*types, "bigint")
            + ") AS v("
            + ", ".join(HEALTH_FIELDS)
            + ", id) WHERE t.id = v.id"
        ),
        rows=values,
    )


# The columns the recording writes, with their PostgreSQL types (for unnest).
HEALTH_FIELD_TYPES = {
    "state": "varchar",
    "consecutive_failures": "integer",
    "first_failure_at": "timestamptz",
    "last_success_at": "timestamptz",
    "last_attempt_at": "timestamptz",
    "last_error_class": "varchar",
    "last_status_code": "smallint",
    "last_error": "text",
    "last_excerpt": "text",
    "last_error_at": "timestamptz",
    "failing_since": "timestamptz",
    "failing_emailed_at": "timestamptz",
    "paused_at": "timestamptz",
    "windows_frozen_at": "timestamptz",
    "paused_by": "varchar",
    "next_probe_at": "timestamptz",
    "probe_delivery_id": "varchar",
    "exhausted_unreported": "integer",
    "exhausted_alerted_at": "timestamptz",
}
HEALTH_FIELDS = list(HEALTH_FIELD_TYPES)


def _count_slot(slot: TargetHealthSlot, tally: _Tally) -> None:
    slot.attempts += tally.attempts
    slot.succeeded += tally.succeeded
    slot.exhausted += tally.exhausted
    counts = list(slot.durations) or [0] * (len(DURATION_BUCKETS_MS) + 1)
    for duration in tally.durations:
        counts[_bucket_index(duration)] += 1
    slot.durations = counts


def _apply(row: TargetHealth, tally: _Tally, *, now: datetime) -> list[TargetAlert]:
    """The batch's effect on one locked row, and the alerts of the transitions it made."""
    alerts = []
    if tally.attempts:
        alerts += _attempts_apply(row, tally, now=now)
    if tally.exhausted:
        alert = _exhausted(row, count=tally.exhausted, now=now)
        if alert is not None:
            alerts.append(alert)
    return alerts


def _attempts_apply(row: TargetHealth, tally: _Tally, *, now: datetime) -> list[TargetAlert]:
    alerts = []
    was = row.state
    row.last_attempt_at = now
    row.probe_delivery_id = ""  # a paused target's probe was attempted: the next waits for its time
    if tally.last_failure is not None:
        failure = tally.last_failure
        row.last_error_class = failure_class(status_code=failure.status_code, error=failure.error)
        row.last_status_code = failure.status_code
        row.last_error = failure.error[:EXCERPT_KEPT]
        row.last_excerpt = failure.excerpt[:EXCERPT_KEPT]
        row.last_error_at = now
    if tally.any_success:
        row.last_success_at = now
        row.consecutive_failures = tally.trailing_failures
        row.first_failure_at = now if tally.trailing_failures else None
        if was in (TargetHealth.State.FAILING, TargetHealth.State.PAUSED) and not tally.trailing_failures:
            if row.failing_since is not None:
                alerts.append(_recovered(row, now=now))
            else:  # paused by hand while healthy: its probe resumes it, with nothing to tell
                held_windows_extend(row, now=now)
                row.state = TargetHealth.State.HEALTHY
                unpause(row)
    else:
        row.consecutive_failures += tally.trailing_failures
        row.first_failure_at = row.first_failure_at or now
    threshold = settings.CALLBACK_TARGET_ALERT_FAILURES
    if row.state == TargetHealth.State.HEALTHY and row.consecutive_failures >= threshold:
        alerts.append(_failing(row, now=now))
    if row.state == TargetHealth.State.FAILING and _pause_due(row, now=now):
        alerts.append(target_pause(row, now=now, by="automatic"))
    return alerts


def _details(row: TargetHealth, **extra) -> dict:
    """What every alert says about its target (no secret: error and excerpt are scrubbed)."""
    return {
        "origin": row.origin,
        "mode": row.mode,
        "consecutive_failures": row.consecutive_failures,
        "failure_class": row.last_error_class,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "last_excerpt": row.last_excerpt,
        "first_failure_at": row.first_failure_at.isoformat() if row.first_failure_at else None,
        **extra,
    }


def _failing(row: TargetHealth, *, now: datetime) -> TargetAlert:
    row.state = TargetHealth.State.FAILING
    row.failing_since = row.first_failure_at or now
    window = timedelta(hours=settings.CALLBACK_TARGET_FAILING_EMAIL_HOURS)
    email = row.failing_emailed_at is None or now - row.failing_emailed_at >= window
    if email:
        row.failing_emailed_at = now
    return TargetAlert(
        health=row, kind=TargetAlert.Kind.FAILING, details=_details(row), email=email, created_at=now
    )


def _recovered(row: TargetHealth, *, now: datetime) -> TargetAlert:
    failing_since = row.failing_since
    was_paused = row.state == TargetHealth.State.PAUSED
    row.state = TargetHealth.State.HEALTHY
    row.failing_since = None
    if was_paused:
        held_windows_extend(row, now=now)
    unpause(row)
    return TargetAlert(
        health=row,
        kind=TargetAlert.Kind.RECOVERED,
        details=_details(
            row,
            failing_since=failing_since.isoformat() if failing_since else None,
            was_paused=was_paused,
        ),
        email=True,
        created_at=now,
    )


def _exhausted(row: TargetHealth, *, count: int, now: datetime) -> TargetAlert | None:
    """A delivery.exhausted alert naming every delivery exhausted since the previous one,
    at most one per ``CALLBACK_TARGET_EXHAUSTED_ALERT_MINUTES``; else the count waits for the next."""
    row.exhausted_unreported += count
    window = timedelta(minutes=settings.CALLBACK_TARGET_EXHAUSTED_ALERT_MINUTES)
    if row.exhausted_alerted_at is not None and now - row.exhausted_alerted_at < window:
        return None
    count, row.exhausted_unreported, row.exhausted_alerted_at = row.exhausted_unreported, 0, now
    return TargetAlert(
        health=row,
        kind=TargetAlert.Kind.EXHAUSTED,
        details=_details(row, count=count),
        email=True,
        created_at=now,
    )


def _pause_due(row: TargetHealth, *, now: datetime) -> bool:
    hours = settings.CALLBACK_TARGET_PAUSE_AFTER_HOURS
    return (
        bool(hours)
        and row.first_failure_at is not None
        and now - row.first_failure_at >= timedelta(hours=hours)
    )


def probe_interval() -> timedelta:
    return timedelta(minutes=settings.CALLBACK_TARGET_PROBE_MINUTES)


def target_pause(row: TargetHealth, *, now: datetime, by: str) -> TargetAlert:
    """Pause ``row`` (locked by the caller): its deliveries wait, one probe every ``probe_interval``."""
    row.state = TargetHealth.State.PAUSED
    row.paused_at, row.paused_by, row.windows_frozen_at = now, by, now
    row.next_probe_at = now + probe_interval()
    row.probe_delivery_id = ""
    return TargetAlert(
        health=row,
        kind=TargetAlert.Kind.PAUSED,
        details=_details(row, paused_by=by),
        email=True,
        created_at=now,
    )


def unpause(row: TargetHealth) -> None:
    row.paused_at, row.paused_by, row.next_probe_at, row.probe_delivery_id = None, "", None, ""
    row.windows_frozen_at = None


SLOTS_KEPT = timedelta(hours=25)  # the 24 h figures read no older slot


def slots_prune(*, now: datetime) -> int:
    """Delete the slots no figure reads any more (daily, with the ledger's prune)."""
    deleted, _ = TargetHealthSlot.objects.filter(start__lt=now - SLOTS_KEPT).delete()
    return deleted
