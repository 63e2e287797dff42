"""The pick's hot path in hand-written SQL: what is in flight per origin, what is due, whether a target is paused.

A drain job picks before every claim, and a claim woken by one commit takes
one delivery, so the pick's fixed cost is paid per callback at moderate rates.
Through the ORM its three queries cost 2.1 ms of CPU a pick, nearly all of it
in compiling them (docs/benchmarks.md, "The drain's own thread"); here their
text is built once per connection, with only the exclusion lists varying.

The rule (docs/architecture.md): hand-written SQL lives only in the module of
its hot path, is the same text on SQLite and PostgreSQL (prepared there, through
``scalehooks.db.hot_cursor``), passes values through the fields' own conversions, and each statement is tested on both backends
(tests/callbacks_app/engine/test_pick_sql.py). Each statement here says the
same as its ORM counterpart in ``engine.picking`` / ``pausing`` (same
conditions, same order), which the tests compare.
"""

import weakref
from collections.abc import Collection

from django.db import DEFAULT_DB_ALIAS, connections

from callbacks_app.models import Delivery, TargetHealth
from scalehooks.db import hot_cursor


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        table = q(Delivery._meta.db_table)
        self.in_flight = (
            f"SELECT {q('target_origin')}, {q('owner_id')}, COUNT(*) FROM {table} "
            f"WHERE {q('status')} = %s AND {q('leased_until')} >= %s "
            f"GROUP BY {q('target_origin')}, {q('owner_id')}"
        )
        self.due = (
            f"SELECT {q('id')}, {q('owner_id')}, {q('target_origin')} FROM {table} "
            f"WHERE {q('status')} = %s AND {q('next_attempt_at')} <= %s "
            f"AND ({q('leased_until')} IS NULL OR {q('leased_until')} < %s)"
        )
        self.due_order = f" ORDER BY {q('next_attempt_at')} LIMIT %s"
        self.not_in = {column: f" AND {q(column)} NOT IN " for column in ("target_origin", "owner_id", "id")}
        self.paused = f"SELECT 1 FROM {q(TargetHealth._meta.db_table)} WHERE {q('state')} = %s LIMIT 1"
        self.datetime = Delivery._meta.get_field("next_attempt_at")


_statements: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _connection():
    conn = connections[DEFAULT_DB_ALIAS]
    statements = _statements.get(conn)
    if statements is None:
        statements = _statements[conn] = _Statements(conn)
    return conn, statements


def sends_in_flight(*, now) -> list[tuple[str, int, int]]:
    """(origin, account, deliveries leased there now) triples, across all workers: ``picking.sends_in_flight``."""
    conn, st = _connection()
    with hot_cursor(conn) as cursor:
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
    (``picking.deliveries_due`` with those exclusions, without paused targets' exclusion)."""
    conn, st = _connection()
    now_db = st.datetime.get_db_prep_value(now, conn)
    sql = [st.due]
    params = [Delivery.Status.PENDING, now_db, now_db]
    for column, values in (("target_origin", origins_out), ("owner_id", accounts_out), ("id", ids_out)):
        if values:
            sql.append(st.not_in[column] + "(" + ", ".join(["%s"] * len(values)) + ")")
            params += list(values)
    sql.append(st.due_order)
    params.append(window)
    with hot_cursor(conn) as cursor:
        # Prepared while it excludes nothing (the usual woken claim); its text varies otherwise.
        cursor.execute("".join(sql), params, prepare=len(sql) == 2)
        return cursor.fetchall()


def any_target_paused() -> bool:
    """Whether some target is paused (one row of the partial index of targets not healthy)."""
    conn, st = _connection()
    with hot_cursor(conn) as cursor:
        cursor.execute(st.paused, [TargetHealth.State.PAUSED])
        return cursor.fetchone() is not None
