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

from django.db import connection

from tasks_app.models import Task

_FIELDS = tuple(Task._meta.concrete_fields)
_ATTNAMES = [field.attname for field in _FIELDS]
_BY_NAME = {field.name: field for field in _FIELDS}
# What the check before a completion reads: the state, what validates a response, the batch.
_CHECK_FIELDS = tuple(
    _BY_NAME[name] for name in ("id", "owner", "is_test", "type", "status", "params", "batch")
)


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _columns(fields) -> str:
    return ", ".join(_quoted(field.column) for field in fields)


def _from_db(fields, row) -> list:
    """``row``'s values as the fields hold them (JSON decoded, datetimes made aware, ...)."""
    values = []
    for field, value in zip(fields, row, strict=True):
        column = field.get_col(Task._meta.db_table)
        for converter in (*connection.ops.get_db_converters(column), *field.get_db_converters(connection)):
            value = converter(value, column, connection)
        values.append(value)
    return values


def _to_db(name: str, value):
    return _BY_NAME[name].get_db_prep_value(value, connection)


def task_to_check(task_id: str) -> Task | None:
    """The task with only what a completion checks before it writes (state, type, params, batch)."""
    sql = f"SELECT {_columns(_CHECK_FIELDS)} FROM {_quoted(Task._meta.db_table)} WHERE {_quoted('id')} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [task_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return Task.from_db(connection.alias, [f.attname for f in _CHECK_FIELDS], _from_db(_CHECK_FIELDS, row))


def task_leave_pending(*, task_id: str, status: str, response, now, completed: bool) -> Task | None:
    """``pending`` → ``status`` with ``response`` (and ``completed_at = now`` when ``completed``),
    in one conditional statement; the whole task as it now is, or None when it was not pending
    (or does not exist): nothing was written then.

    Call it inside the transaction that records the event's callback: the row
    stays locked until it ends, as ``SELECT … FOR UPDATE`` would have kept it.
    """
    assignments = [("status", status), ("response", response), ("updated_at", now)]
    if completed:
        assignments.append(("completed_at", now))
    set_clause = ", ".join(f"{_quoted(_BY_NAME[name].column)} = %s" for name, _ in assignments)
    sql = (
        f"UPDATE {_quoted(Task._meta.db_table)} SET {set_clause} "
        f"WHERE {_quoted('id')} = %s AND {_quoted('status')} = %s RETURNING {_columns(_FIELDS)}"
    )
    params = [_to_db(name, value) for name, value in assignments] + [task_id, Task.Status.PENDING]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return Task.from_db(connection.alias, _ATTNAMES, _from_db(_FIELDS, row))
