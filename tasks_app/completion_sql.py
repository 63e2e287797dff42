"""The completion hot path in hand-written SQL: a task leaves ``pending`` in one statement.

``task_complete`` and ``task_error`` are what a user's system calls for every
task, so their cost is paid per callback (docs/benchmarks.md, issue 15): through
the ORM, a ``SELECT … FOR UPDATE`` of the task's 25 columns, then an ``UPDATE``,
each compiled anew. Here a task leaves ``pending`` with one conditional
``UPDATE … WHERE status = 'pending' RETURNING`` every column: the row lock,
the state check and the read of the task as of the event (its callback's frozen
payload, SPEC §6.2) in one statement. A concurrent change that got there first
makes it return nothing, and the caller says why (``TaskStateConflict``).

The rule (docs/architecture.md): hand-written SQL lives only in the module of
its hot path (this one; ``callbacks_app/engine/claim_sql.py``), each statement
is the same text on SQLite (≥ 3.35, for RETURNING) and PostgreSQL, values go
through the fields' own database conversions both ways, and each is tested
on both backends (tests/tasks_app/test_completion_sql.py).
"""

from scalehooks.db import field_converters, from_row, hot_cursor, per_connection
from tasks_app.models import Task

_FIELDS = tuple(Task._meta.concrete_fields)
_ATTNAMES = [field.attname for field in _FIELDS]
_BY_NAME = {field.name: field for field in _FIELDS}
# What the check before a completion reads: the state, what validates a response, the batch.
_CHECK_FIELDS = tuple(
    _BY_NAME[name] for name in ("id", "owner", "is_test", "type", "status", "params", "batch")
)
_CHECK_ATTNAMES = [field.attname for field in _CHECK_FIELDS]


class _Prepared:
    """One connection's statements and value converters, built on its first use (the ORM's
    compiling is what this module saves: none of it per call)."""

    def __init__(self, conn):
        quote = conn.ops.quote_name
        table = quote(Task._meta.db_table)
        self.check = f"SELECT {', '.join(quote(f.column) for f in _CHECK_FIELDS)} FROM {table} WHERE {quote('id')} = %s"
        returning = ", ".join(quote(f.column) for f in _FIELDS)
        self.leave = {}
        for completed in (True, False):
            names = ("status", "response", "updated_at", *(("completed_at",) if completed else ()))
            sets = ", ".join(f"{quote(_BY_NAME[name].column)} = %s" for name in names)
            self.leave[completed] = (
                names,
                f"UPDATE {table} SET {sets} WHERE {quote('id')} = %s AND {quote('status')} = %s "
                f"RETURNING {returning}",
            )
        self.converters = field_converters(conn, Task, _FIELDS)
        self.check_converters = field_converters(conn, Task, _CHECK_FIELDS)


_connection = per_connection(_Prepared)


def task_to_check(task_id: str) -> Task | None:
    """The task with only what a completion checks before it writes (state, type, params, batch)."""
    conn, prepared = _connection()
    with hot_cursor(conn) as cursor:
        cursor.execute(prepared.check, [task_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return Task.from_db(conn.alias, _CHECK_ATTNAMES, from_row(conn, prepared.check_converters, row))


def task_leave_pending(*, task_id: str, status: str, response, now, completed: bool) -> Task | None:
    """``pending`` → ``status`` with ``response`` (and ``completed_at = now`` when ``completed``),
    in one conditional statement; the whole task as it now is, or None when it was not pending
    (or does not exist): nothing was written then.

    Call it inside the transaction that records the event's callback: the row
    stays locked until it ends, as ``SELECT … FOR UPDATE`` would have kept it.
    """
    conn, prepared = _connection()
    names, sql = prepared.leave[completed]
    values = {"status": status, "response": response, "updated_at": now, "completed_at": now}
    params = [_BY_NAME[name].get_db_prep_value(values[name], conn) for name in names]
    with hot_cursor(conn) as cursor:
        cursor.execute(sql, [*params, task_id, Task.Status.PENDING])
        row = cursor.fetchone()
    if row is None:
        return None
    return Task.from_db(conn.alias, _ATTNAMES, from_row(conn, prepared.converters, row))
