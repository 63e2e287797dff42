"""The claim's hot path in hand-written SQL: the lease taken in one statement, the attempts opened in one.

Every batch a dispatcher sends is claimed first (``engine.leases.deliveries_claim``),
so the claim's cost is paid per batch, and part of it per callback. Through the
ORM the attempt rows went through ``bulk_create`` (37 % of the claim's CPU in a
cProfile, docs/benchmarks.md): here they are one multi-row ``INSERT … RETURNING
id`` (the columns every new attempt has alike as literals: 4 values a row), and
the lease one conditional ``UPDATE`` whose condition is the one
``picking.deliveries_due`` states (pending, due, held by nobody), ``RETURNING``
the leased deliveries as they now are: no read after it (the ORM's
``select_related`` read of the claimed rows had been half of the claim's CPU).
Both run on Django's own cursor, the lease's ids passed as one array on PostgreSQL
(one text whatever their number; the attempt rows' text varies with their number).

The rule (docs/architecture.md): hand-written SQL lives only in the module of its
hot path, is the same text on SQLite (≥ 3.35, for RETURNING) and PostgreSQL,
passes values through the fields' own database conversions, names only
``callbacks_app``'s tables, and each statement is tested on both backends
(tests/callbacks_app/engine/test_claim_sql.py).
"""

from callbacks_app.models import Delivery, DeliveryAttempt
from scalehooks.db import field_converters, from_row, one_of, per_connection

_DELIVERY_FIELDS = tuple(Delivery._meta.concrete_fields)
_DELIVERY_ATTNAMES = [field.attname for field in _DELIVERY_FIELDS]

# An attempt row as the claim opens it: what differs from row to row, then what every one has
# alike (as ``DeliveryAttempt(error=UNFINISHED)`` saves it), written as literals.
_ATTEMPT_VALUES = ("delivery_id", "number", "started_at", "due_at")
_ATTEMPT_LITERALS = {
    "duration_ms": "0",
    "status_code": "NULL",
    "error": "'" + DeliveryAttempt.UNFINISHED.replace("'", "''") + "'",
    "response_excerpt": "''",
    "request_headers": "'{}'",
    "succeeded": "FALSE",
    "private_target": "FALSE",
}


class _Statements:
    """One connection's fixed parts of the two statements, and the delivery columns' converters."""

    def __init__(self, conn):
        q = conn.ops.quote_name
        self.lease_head = (
            f"UPDATE {q(Delivery._meta.db_table)} SET {q('lease_token')} = %s, {q('leased_until')} = %s, "
            f"{q('attempt_count')} = {q('attempt_count')} + 1, "
            f"{q('first_attempt_at')} = COALESCE({q('first_attempt_at')}, %s) "
            f"WHERE {q('id')} "
        )
        self.lease_tail = (
            f" AND {q('status')} = %s AND {q('next_attempt_at')} <= %s "
            f"AND ({q('leased_until')} IS NULL OR {q('leased_until')} < %s) "
            f"RETURNING {', '.join(q(field.column) for field in _DELIVERY_FIELDS)}"
        )
        columns = (*_ATTEMPT_VALUES, *_ATTEMPT_LITERALS)
        self.attempts_head = (
            f"INSERT INTO {q(DeliveryAttempt._meta.db_table)} ({', '.join(q(c) for c in columns)}) VALUES "
        )
        self.attempt_row = f"(%s, %s, %s, %s, {', '.join(_ATTEMPT_LITERALS.values())})"
        self.attempts_tail = f" RETURNING {q('id')}, {q('delivery_id')}"
        self.converters = field_converters(conn, Delivery, _DELIVERY_FIELDS)
        self.datetime = DeliveryAttempt._meta.get_field("started_at")


_connection = per_connection(_Statements)


def _delivery(conn, statements: _Statements, row) -> Delivery:
    return Delivery.from_db(conn.alias, _DELIVERY_ATTNAMES, from_row(conn, statements.converters, row))


def deliveries_lease(*, ids: list[str], token: str, now, until) -> list[Delivery]:
    """Take the send lease (``token`` until ``until``) of those of ``ids`` that are pending, due
    at ``now`` and held by nobody; count the attempt and stamp the first one. The deliveries
    taken, as they now are, newest first (``Delivery``'s ordering)."""
    if not ids:
        return []
    conn, statements = _connection()
    at = statements.datetime.get_db_prep_value
    now_db = at(now, conn)
    condition, listed = one_of(Delivery._meta.pk, conn, ids)
    sql = statements.lease_head + condition + statements.lease_tail
    params = [token, at(until, conn), now_db, *listed, Delivery.Status.PENDING, now_db, now_db]
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    deliveries = [_delivery(conn, statements, row) for row in rows]
    deliveries.sort(key=lambda delivery: delivery.created_at, reverse=True)
    return deliveries


def attempts_open(*, deliveries: list[Delivery], now) -> list[DeliveryAttempt]:
    """One "did not finish" attempt row per delivery (number = its ``attempt_count``, ``due_at``
    = its ``next_attempt_at`` as claimed), in one ``INSERT``; the attempts, in the same order."""
    if not deliveries:
        return []
    conn, statements = _connection()
    at = statements.datetime.get_db_prep_value
    started = at(now, conn)
    params = []
    for delivery in deliveries:
        params += [delivery.id, delivery.attempt_count, started, at(delivery.next_attempt_at, conn)]
    sql = (
        statements.attempts_head
        + ", ".join([statements.attempt_row] * len(deliveries))
        + statements.attempts_tail
    )
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {delivery_id: attempt_id for attempt_id, delivery_id in cursor.fetchall()}
    return [
        DeliveryAttempt(
            id=ids[delivery.id],
            delivery=delivery,
            number=delivery.attempt_count,
            started_at=now,
            error=DeliveryAttempt.UNFINISHED,
            due_at=delivery.next_attempt_at,
        )
        for delivery in deliveries
    ]
