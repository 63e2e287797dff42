"""The claim's hot path in hand-written SQL: the lease taken in one statement, the attempts opened in one.

Every batch a drain job sends is claimed first (``engine.leases.deliveries_claim``),
so the claim's cost is paid per batch, and part of it per callback. Through the
ORM the attempt rows went through ``bulk_create`` (37 % of the claim's CPU in a
cProfile, docs/benchmarks.md): here they are one multi-row ``INSERT … RETURNING
id``, and the lease one conditional ``UPDATE`` whose condition is the one
``picking.deliveries_due`` states (pending, due, held by nobody).

The rule (docs/architecture.md): hand-written SQL lives only in the module of its
hot path (this one; ``tasks_app/completion_sql.py``), is the same text on SQLite
(≥ 3.35, for RETURNING) and PostgreSQL, passes values through the fields' own
database conversions, and each statement is tested on both backends
(tests/callbacks_app/engine/test_claim_sql.py). Only ``callbacks_app`` tables here.
"""

from django.db import connection

from callbacks_app.models import Delivery, DeliveryAttempt

_ATTEMPT_COLUMNS = (
    "delivery_id",
    "number",
    "started_at",
    "duration_ms",
    "status_code",
    "error",
    "response_excerpt",
    "request_headers",
    "succeeded",
    "private_target",
    "due_at",
)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _datetime(value):
    return DeliveryAttempt._meta.get_field("started_at").get_db_prep_value(value, connection)


def deliveries_lease(*, ids: list[str], token: str, now, until) -> int:
    """Take the send lease (``token`` until ``until``) of those of ``ids`` that are pending, due
    at ``now`` and held by nobody; count the attempt and stamp the first one. How many were taken."""
    if not ids:
        return 0
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {_q(Delivery._meta.db_table)} SET {_q('lease_token')} = %s, {_q('leased_until')} = %s, "
        f"{_q('attempt_count')} = {_q('attempt_count')} + 1, "
        f"{_q('first_attempt_at')} = COALESCE({_q('first_attempt_at')}, %s) "
        f"WHERE {_q('id')} IN ({marks}) AND {_q('status')} = %s AND {_q('next_attempt_at')} <= %s "
        f"AND ({_q('leased_until')} IS NULL OR {_q('leased_until')} < %s)"
    )
    now_db = _datetime(now)
    params = [token, _datetime(until), now_db, *ids, Delivery.Status.PENDING, now_db, now_db]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def attempts_open(*, deliveries: list[Delivery], now) -> list[DeliveryAttempt]:
    """One "did not finish" attempt row per delivery (number = its ``attempt_count``, ``due_at``
    = its ``next_attempt_at`` as claimed), in one ``INSERT``; the attempts, in the same order."""
    if not deliveries:
        return []
    headers = DeliveryAttempt._meta.get_field("request_headers").get_db_prep_value({}, connection)
    started = _datetime(now)
    rows, params = [], []
    for delivery in deliveries:
        rows.append("(" + ", ".join(["%s"] * len(_ATTEMPT_COLUMNS)) + ")")
        params += [
            delivery.id,
            delivery.attempt_count,
            started,
            0,
            None,
            DeliveryAttempt.UNFINISHED,
            "",
            headers,
            False,
            False,
            _datetime(delivery.next_attempt_at),
        ]
    sql = (
        f"INSERT INTO {_q(DeliveryAttempt._meta.db_table)} ({', '.join(_q(c) for c in _ATTEMPT_COLUMNS)}) "
        f"VALUES {', '.join(rows)} RETURNING {_q('id')}, {_q('delivery_id')}"
    )
    with connection.cursor() as cursor:
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
