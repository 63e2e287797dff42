"""The pick's hot path in hand-written SQL: what is in flight per origin, what is due, whether a target is paused.

A dispatcher picks before every claim, and a claim woken by one commit takes
one delivery, so the pick's fixed cost is paid per callback at moderate rates.
Through the ORM its three queries cost 2.1 ms of CPU a pick, nearly all of it
in compiling them (docs/benchmarks.md, "The engine's CPU alone"); here their
text is built once per connection, with only the exclusion lists varying.

The rule (docs/architecture.md): hand-written SQL lives only in the module of
its hot path, is the same text on SQLite and PostgreSQL, runs on Django's own
cursor, passes values through the fields' own conversions, and each statement is tested on both backends
(tests/callbacks_app/engine/test_pick_sql.py). Each statement here says the
same as its ORM counterpart in ``engine.picking`` / ``pausing`` (same
conditions, same order), which the tests compare.
"""

from collections.abc import Collection

from callbacks_app.models import Delivery, TargetHealth
from scalehooks.db import per_connection


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        table = q(Delivery._meta.db_table)
        self.in_flight = (
            f"SELECT {q('target_origin')}, {q('owner_id')}, COUNT(*) FROM {table} "
            f"WHERE {q('status')} = %s AND {q('leased_until')} >= %s "
            f"GROUP BY {q('target_origin')}, {q('owner_id')}"
        )
        # Due and held by nobody, in two parts, each read from an index that holds only its rows:
        # never leased since its last attempt (delivery_unleased_due_idx), or leased by a worker
        # that died (the lapsed end of delivery_in_flight_origin_idx). One index of both would
        # put the sends in flight, the oldest due, at its head: every pick would step over them
        # (0.8 ms more a pick with 750 in flight on SQLite).
        columns = f"{q('id')}, {q('owner_id')}, {q('target_origin')}, {q('next_attempt_at')}"
        pending = f"{q('status')} = '{Delivery.Status.PENDING}'"
        lease_index = " INDEXED BY delivery_in_flight_origin_idx" if conn.vendor == "sqlite" else ""
        self.due_parts = (
            f"SELECT {columns} FROM {table} WHERE {pending} AND {q('leased_until')} IS NULL "
            f"AND {q('next_attempt_at')} <= %s",
            # The due time as an expression no index serves, and on SQLite the index named: else
            # SQLite reads this part from delivery_due_idx, every pending row (with statistics, a
            # scan of all of it), rather than from the few lapsed leases.
            f"SELECT {columns} FROM {table}{lease_index} WHERE {pending} AND {q('leased_until')} IS NOT NULL "
            f"AND {q('leased_until')} < %s AND (CASE WHEN {q('next_attempt_at')} <= %s THEN 1 ELSE 0 END) = 1",
        )
        self.due_order = f" ORDER BY {q('next_attempt_at')} LIMIT %s"
        self.not_in = {column: f" AND {q(column)} NOT IN " for column in ("target_origin", "owner_id", "id")}
        # An operators' alert has no account (owner_id NULL), and ``NULL NOT IN (…)`` is not true:
        # the exclusion of accounts says what it does with them (``accounts_out`` holds None or not).
        self.operators_kept = f" AND ({q('owner_id')} IS NULL OR {q('owner_id')} NOT IN "
        self.operators_out = f" AND {q('owner_id')} IS NOT NULL"
        self.paused = f"SELECT 1 FROM {q(TargetHealth._meta.db_table)} WHERE {q('state')} = %s LIMIT 1"
        self.datetime = Delivery._meta.get_field("next_attempt_at")


_connection = per_connection(_Statements)


def sends_in_flight(*, now) -> list[tuple[str, int, int]]:
    """(origin, account, deliveries leased there now) triples, across all workers: ``picking.sends_in_flight``."""
    conn, st = _connection()
    with conn.cursor() as cursor:
        cursor.execute(st.in_flight, [Delivery.Status.PENDING, st.datetime.get_db_prep_value(now, conn)])
        return cursor.fetchall()


def due_candidates(
    *,
    now,
    window: int,
    origins_out: Collection[str] = (),
    accounts_out: Collection[int] = (),
    ids_out: Collection[str] = (),
) -> list[tuple[str, int, str]]:
    """Up to ``window`` (id, account, origin) rows of pending deliveries due at ``now`` that nobody
    holds, oldest due first, none of ``origins_out``, ``accounts_out`` or ``ids_out``
    (``picking.deliveries_due`` with those exclusions, without paused targets' exclusion). An
    operators' alert's account is None: left out only when ``accounts_out`` holds None."""
    conn = _connection()[0]
    sql, params = due_statement(
        now=now, window=window, origins_out=origins_out, accounts_out=accounts_out, ids_out=ids_out
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[:3] for row in cursor.fetchall()]


def due_statement(
    *,
    now,
    window: int,
    origins_out: Collection[str] = (),
    accounts_out: Collection[int] = (),
    ids_out: Collection[str] = (),
) -> tuple[str, list]:
    """The text and parameters of ``due_candidates``'s statement (bench/ledger_scale.py explains it)."""
    conn, st = _connection()
    now_db = st.datetime.get_db_prep_value(now, conn)
    exclusions, excluded = [], []
    accounts = [account for account in accounts_out if account is not None]
    for column, values in (("target_origin", origins_out), ("owner_id", accounts), ("id", ids_out)):
        if values:
            head = st.not_in[column]
            if column == "owner_id" and None not in accounts_out:
                head = st.operators_kept
            tail = ")" if head is st.operators_kept else ""
            exclusions.append(head + "(" + ", ".join(["%s"] * len(values)) + ")" + tail)
            excluded += list(values)
    if None in accounts_out:
        exclusions.append(st.operators_out)
    excluding = "".join(exclusions)
    # The lapsed leases are few (workers that died): all of them, ordered by the outer query.
    unleased, lapsed = st.due_parts[0] + excluding + st.due_order, st.due_parts[1] + excluding
    sql = (
        f"SELECT * FROM (SELECT * FROM ({unleased}) AS unleased UNION ALL "
        f"SELECT * FROM ({lapsed}) AS lapsed) AS due{st.due_order}"
    )
    return sql, [now_db, *excluded, window, now_db, now_db, *excluded, window]


def any_target_paused() -> bool:
    """Whether some target is paused (one row of the partial index of targets not healthy)."""
    conn, st = _connection()
    with conn.cursor() as cursor:
        cursor.execute(st.paused, [TargetHealth.State.PAUSED])
        return cursor.fetchone() is not None
