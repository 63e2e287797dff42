"""The recording's locks in hand-written SQL: a batch's tasks, then its deliveries.

A dispatcher writes every batch of finished attempts in one
transaction (``engine.recording``) that first locks the batch's tasks, then
its deliveries, reading who holds each delivery's lease. Through the ORM the
two ``SELECT … FOR UPDATE`` cost about 1 ms of CPU a batch in compiling
(docs/benchmarks.md, "The engine's CPU alone"), paid per callback when
batches are small; here each is one text per connection, prepared on
PostgreSQL, the ids passed as one array.

The rule (docs/architecture.md): hand-written SQL lives only in the module of
its hot path, passes values through the fields' own conversions, and each
statement is tested on both backends against its ORM counterpart
(tests/callbacks_app/engine/test_record_sql.py). SQLite locks nothing row by
row (its write transaction is the lock), so there the tasks are not read and
the deliveries' read is a plain ``IN`` list.
"""

from callbacks_app.models import Delivery
from scalehooks.db import hot_cursor, one_of, per_connection
from tasks_app.models import Task


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        deliveries, tasks = q(Delivery._meta.db_table), q(Task._meta.db_table)
        ids, _ = one_of(Delivery._meta.pk, conn, [])
        # Lock order (``engine.leases``): tasks first, each in id order, then deliveries.
        self.tasks = (
            f"SELECT {q('id')} FROM {tasks} WHERE {q('id')} IN "
            f"(SELECT {q('task_id')} FROM {deliveries} WHERE {q('id')} {ids}) "
            f"ORDER BY {q('id')} FOR UPDATE"
        )
        self.holders = (
            f"SELECT {q('id')}, {q('lease_token')}, {q('status')} FROM {deliveries} WHERE {q('id')} "
        )
        self.holders_locked = f" ORDER BY {q('id')} FOR UPDATE"


_connection = per_connection(_Statements)


def tasks_lock(*, delivery_ids: list[str]) -> None:
    """Lock the task rows of these deliveries for the rest of the transaction, in id order.

    Whoever changes a task and its deliveries in one transaction locks the task
    first (``task_complete``, ``callback_resend``), so the recording does the same
    before it touches delivery rows whose task it may update. Skipped where rows
    cannot be locked (SQLite, whose write transactions are serialised anyway).
    """
    conn, st = _connection()
    if not conn.features.has_select_for_update or not delivery_ids:
        return
    with hot_cursor(conn) as cursor:
        cursor.execute(st.tasks, one_of(Delivery._meta.pk, conn, delivery_ids)[1])
        cursor.fetchall()


def lease_holders(*, ids: list[str]) -> dict[str, tuple[str | None, str]]:
    """``{delivery id: (lease token, status)}`` of these deliveries, locked in id order where rows lock."""
    conn, st = _connection()
    if not ids:
        return {}
    condition, params = one_of(Delivery._meta.pk, conn, ids)
    locked = st.holders_locked if conn.features.has_select_for_update else ""
    with hot_cursor(conn) as cursor:
        cursor.execute(st.holders + condition + locked, params)
        return {delivery_id: (token, status) for delivery_id, token, status in cursor.fetchall()}
