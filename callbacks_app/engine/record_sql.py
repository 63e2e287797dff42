"""The recording's lock of its deliveries in hand-written SQL, with who holds each one's lease.

A dispatcher writes every batch of finished attempts in one transaction
(``engine.recording``) that first locks the batch's tasks (through
``tasks_app.locks.tasks_lock``: the task table is tasks_app's), then its
deliveries, reading who holds each delivery's lease. Through the ORM the
``SELECT … FOR UPDATE`` was compiled anew for every batch (docs/benchmarks.md,
"The engine's CPU alone"), paid per callback when batches are small; here it
is one text per connection, prepared on PostgreSQL, the ids passed as one array.

The rule (docs/architecture.md): hand-written SQL lives only in the module of
its hot path, names only its app's tables, passes values through the fields'
own conversions, and each statement is tested on both backends against its ORM
counterpart (tests/callbacks_app/engine/test_record_sql.py). SQLite locks
nothing row by row (its write transaction is the lock), so there the read is a
plain ``IN`` list.
"""

from callbacks_app.models import Delivery
from scalehooks.db import one_of, per_connection


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        self.holders = (
            f"SELECT {q('id')}, {q('lease_token')}, {q('status')} FROM {q(Delivery._meta.db_table)} "
            f"WHERE {q('id')} "
        )
        self.holders_locked = f" ORDER BY {q('id')} FOR UPDATE"


_connection = per_connection(_Statements)


def lease_holders(*, ids: list[str]) -> dict[str, tuple[str | None, str]]:
    """``{delivery id: (lease token, status)}`` of these deliveries, locked in id order where rows lock."""
    conn, st = _connection()
    if not ids:
        return {}
    condition, params = one_of(Delivery._meta.pk, conn, ids)
    locked = st.holders_locked if conn.features.has_select_for_update else ""
    with conn.cursor() as cursor:
        cursor.execute(st.holders + condition + locked, params)
        return {delivery_id: (token, status) for delivery_id, token, status in cursor.fetchall()}
