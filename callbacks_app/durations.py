"""How long attempts take: p50 and p95 of their durations, from the ledger, by one computation
that the dashboard (every attempt), the portal's targets page and ``GET /v1/callback_targets``
(an account side's attempts by target origin) all show.

A percentile is the nearest rank: the smallest duration that at least 50 % (95 %) of the
attempts took no longer than, a duration some attempt really took. The database does the work in
one query: the attempts grouped by duration (a few thousand distinct values at most), a running
count over them (``SUM(COUNT(*)) OVER (ORDER BY duration_ms)``), and the first duration whose
running count reaches 50 % and 95 % of the total; several windows (1 h and 24 h) share the pass,
each with its own running count. Every attempt counts from the moment it is claimed: an attempt
under way counts with 0 ms until its answer is recorded.

- Every attempt (the dashboard): read from ``attempt_latency_idx`` (started_at, duration_ms) alone.
- An account side's attempts by origin: its deliveries created since ``ATTEMPTS_SPAN`` before the
  window (``delivery_portal_idx``), then their attempts (``attempt_number_unique``). A delivery's
  attempts come within the retry window (24 h and 5 minutes) of its first, which comes at once
  unless it waits behind an earlier delivery of its task to the same target (SPEC §6.9) or a
  paused target: twice the retry window covers a delivery that waited a whole one. The attempts
  of a delivery that waited longer than that are left out.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.retry import RETRY_WINDOW, WINDOW_GRACE

ATTEMPTS_SPAN = 2 * (RETRY_WINDOW + WINDOW_GRACE)


@dataclass(frozen=True)
class Latency:
    attempts: int
    p50_ms: int | None  # None: no attempt
    p95_ms: int | None


NO_ATTEMPT = Latency(0, None, None)


def _percentiles_sql(source: str, windows: int, *, keyed: bool) -> str:
    """For each window i (0 the widest, the one ``source`` is limited to): the attempts and their
    p50 and p95, by key when ``keyed``. ``source`` yields (k when keyed, started_at, duration_ms);
    the statement's parameters are the windows' starts but the first, each twice (its running
    count, its total), then the source's."""
    counts = ["COUNT(*)"] + ["SUM(CASE WHEN started_at >= %s THEN 1 ELSE 0 END)"] * (windows - 1)
    partition = "PARTITION BY k " if keyed else ""
    running = ", ".join(
        f"SUM({count}) OVER ({partition}ORDER BY duration_ms) AS r{i}, SUM({count}) OVER ({partition.strip()}) AS t{i}"
        for i, count in enumerate(counts)
    )
    figures = ", ".join(
        f"MAX(t{i}), "
        f"MIN(CASE WHEN t{i} > 0 AND 100 * r{i} >= 50 * t{i} THEN duration_ms END), "
        f"MIN(CASE WHEN t{i} > 0 AND 100 * r{i} >= 95 * t{i} THEN duration_ms END)"
        for i in range(windows)
    )
    key = "k, " if keyed else ""
    return f"""
        SELECT {key or "'', "}{figures}
        FROM (
            SELECT {key}duration_ms, {running}
            FROM ({source}) AS source
            GROUP BY {key}duration_ms
        ) AS ranked
        {"GROUP BY k" if keyed else ""}
    """


def _latencies(
    source: str, source_params: list, *, now: datetime, windows: Mapping[str, timedelta], keyed: bool = True
) -> dict:
    """``{(key, window name): Latency}`` of the keys ``source`` yields attempts of ("" unkeyed)."""
    names = sorted(windows, key=lambda name: windows[name], reverse=True)  # the widest first
    adapt = connection.ops.adapt_datetimefield_value
    starts = [adapt(now - windows[name]) for name in names]
    sql = _percentiles_sql(source, len(names), keyed=keyed)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(start for start in starts[1:] for _ in range(2)), *source_params])
        rows = cursor.fetchall()
    found = {}
    for key, *figures in rows:
        for i, name in enumerate(names):
            total, p50, p95 = figures[3 * i : 3 * i + 3]
            found[(key, name)] = (
                Latency(int(total), int(p50), int(p95)) if total and p50 is not None else NO_ATTEMPT
            )
    return found


def attempt_latency(*, since: datetime) -> Latency:
    """Every attempt started since ``since`` (the dashboard)."""
    table = DeliveryAttempt._meta.db_table
    source = f"SELECT started_at, duration_ms FROM {table} WHERE started_at >= %s"
    now = timezone.now()
    found = _latencies(
        source,
        [connection.ops.adapt_datetimefield_value(since)],
        now=now,
        windows={"all": now - since},
        keyed=False,
    )
    return found.get(("", "all"), NO_ATTEMPT)


def latency_by_origin(
    *, owner_id: int, is_test: bool, now: datetime, windows: Mapping[str, timedelta]
) -> dict[tuple[str, str], Latency]:
    """The attempts of one account side (live or test), by target origin and window:
    ``{(origin, window name): Latency}``, for the origins that had an attempt in the widest window."""
    adapt = connection.ops.adapt_datetimefield_value
    widest = now - max(windows.values())
    source = (
        f"SELECT d.target_origin AS k, a.started_at AS started_at, a.duration_ms AS duration_ms "
        f"FROM {Delivery._meta.db_table} AS d "
        f"JOIN {DeliveryAttempt._meta.db_table} AS a ON a.delivery_id = d.id "
        "WHERE d.owner_id = %s AND d.is_test = %s AND d.created_at >= %s AND a.started_at >= %s"
    )
    params = [owner_id, is_test, adapt(widest - ATTEMPTS_SPAN), adapt(widest)]
    return _latencies(source, params, now=now, windows=windows)
