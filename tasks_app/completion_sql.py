"""The completion hot path in hand-written SQL: a task leaves ``pending`` in one statement.

``task_complete`` and ``task_error`` are what a user's system calls for every
task, so their cost is paid per callback (docs/benchmarks.md, issue 15): through
the ORM, a ``SELECT … FOR UPDATE`` of the task's 25 columns, then an ``UPDATE``,
each compiled anew. Here the check reads the task (``task_to_check``), and then:

- on PostgreSQL, where the change writes nothing but the task and its callback's
  delivery, one statement does both, in its own transaction
  (``task_leave_pending_at_once``: a ``WITH`` query that updates the task, and
  an ``INSERT`` of the delivery for the row it updated; this module's SQL of the
  task, ``callbacks_app``'s of the delivery, composed by
  ``scalehooks.db.change_then_insert``). It is conditional on the
  row being the version the check read, since the delivery's payload was made from
  that read. Two round trips for a completion instead of five (check, ``BEGIN``,
  ``UPDATE``, ``INSERT``, ``COMMIT``);
- otherwise, in the caller's transaction, a conditional
  ``UPDATE … WHERE status = 'pending' RETURNING`` every column
  (``task_leave_pending``): the row lock, the state check and the read of the task
  as of the event (its callback's frozen payload, SPEC §6.2) in one statement.

Either way, a concurrent change that got there first makes it write nothing, and
the caller says why (``TaskStateConflict``).

The rule (docs/architecture.md): hand-written SQL lives only in the module of
its hot path (this one; ``callbacks_app/engine/claim_sql.py``), values go through
the fields' own database conversions both ways, and each statement is tested on
the backends that run it (tests/tasks_app/test_completion_sql.py): every one on
SQLite (≥ 3.35, for RETURNING) and PostgreSQL, but the ``WITH`` statement, which
SQLite cannot run (a ``WITH`` query there only reads).
"""

import copy

from callbacks_app.services import (
    callback_delivery_insert_part,
    callback_delivery_stored,
    callback_delivery_unsaved,
)
from scalehooks.db import change_then_insert, field_converters, from_row, per_connection
from tasks_app.models import Task

_FIELDS = tuple(Task._meta.concrete_fields)
_ATTNAMES = [field.attname for field in _FIELDS]
_BY_NAME = {field.name: field for field in _FIELDS}


class _Prepared:
    """One connection's statements and value converters, built on its first use (the ORM's
    compiling is what this module saves: none of it per call)."""

    def __init__(self, conn):
        quote = conn.ops.quote_name
        table = quote(Task._meta.db_table)
        columns = ", ".join(quote(f.column) for f in _FIELDS)
        # On PostgreSQL the check reads the row's version too: the transaction that wrote it
        # (``xmin``) and where (``ctid``, which a write moves even within one transaction).
        # The one-statement change below is conditional on it.
        self.versioned = conn.vendor == "postgresql"
        version = "xmin::text || '/' || ctid::text"
        self.check = f"SELECT {columns}{', ' + version if self.versioned else ''} FROM {table} WHERE {quote('id')} = %s"
        self.leave, self.leave_delivered = {}, {}
        for completed in (True, False):
            names = ("status", "response", "updated_at", *(("completed_at",) if completed else ()))
            sets = ", ".join(f"{quote(_BY_NAME[name].column)} = %s" for name in names)
            where = f"WHERE {quote('id')} = %s AND {quote('status')} = %s"
            self.leave[completed] = (names, f"UPDATE {table} SET {sets} {where} RETURNING {columns}")
            if self.versioned:
                self.leave_delivered[completed] = f"UPDATE {table} SET {sets} {where} AND {version} = %s"
        self.converters = field_converters(conn, Task, _FIELDS)


_connection = per_connection(_Prepared)


def task_to_check(task_id: str) -> tuple[Task, str | None] | None:
    """The whole task, as a completion checks it before it writes (state, type, params,
    batch), with its row's version where ``task_leave_pending_at_once`` can use it
    (PostgreSQL; None elsewhere). None when there is no such task."""
    conn, prepared = _connection()
    with conn.cursor() as cursor:
        cursor.execute(prepared.check, [task_id])
        row = cursor.fetchone()
    if row is None:
        return None
    version = row[-1] if prepared.versioned else None
    values = from_row(conn, prepared.converters, row[: len(_FIELDS)])
    return Task.from_db(conn.alias, _ATTNAMES, values), version


def _leave_params(conn, names, *, status: str, response, now) -> list:
    values = {"status": status, "response": response, "updated_at": now, "completed_at": now}
    return [_BY_NAME[name].get_db_prep_value(values[name], conn) for name in names]


def task_leave_pending(*, task_id: str, status: str, response, now, completed: bool) -> Task | None:
    """``pending`` → ``status`` with ``response`` (and ``completed_at = now`` when ``completed``),
    in one conditional statement; the whole task as it now is, or None when it was not pending
    (or does not exist): nothing was written then.

    Call it inside the transaction that records the event's callback: the row
    stays locked until it ends, as ``SELECT … FOR UPDATE`` would have kept it.
    """
    conn, prepared = _connection()
    names, sql = prepared.leave[completed]
    params = _leave_params(conn, names, status=status, response=response, now=now)
    with conn.cursor() as cursor:
        cursor.execute(sql, [*params, task_id, Task.Status.PENDING])
        row = cursor.fetchone()
    if row is None:
        return None
    return Task.from_db(conn.alias, _ATTNAMES, from_row(conn, prepared.converters, row))


def task_leave_pending_at_once(
    checked: tuple[Task, str | None], *, status: str, response, now, completed: bool, event: str
) -> Task | None:
    """As ``task_leave_pending``, and its callback's delivery stored (for ``event``), in one
    statement that is its own transaction outside an atomic block: on PostgreSQL (a ``WITH``
    query that updates the task, then an ``INSERT`` of the delivery for the row it updated:
    ``scalehooks.db.change_then_insert`` of this module's ``UPDATE`` and
    ``callback_delivery_insert_part``, each app's SQL of its own table), where the delivery
    needs no other row written with it (``callback_delivery_unsaved``). The task as it now is.

    Conditional on the row being still the one ``task_to_check`` read (``checked``), since
    the delivery's payload is made from that read. None when it was not (the task changed
    since, or it is not pending), or where this does not apply: nothing was written then.
    """
    read, version = checked
    if version is None:
        return None
    task = copy.copy(read)
    task.status, task.response, task.updated_at = status, response, now
    if completed:
        task.completed_at = now
    delivery = callback_delivery_unsaved(task=task, event=event, now=now)
    if delivery is None:
        return None
    conn, prepared = _connection()
    names = prepared.leave[completed][0]
    params = _leave_params(conn, names, status=status, response=response, now=now)
    change = (prepared.leave_delivered[completed], [*params, task.id, Task.Status.PENDING, version])
    if not change_then_insert(
        change=change, insert=callback_delivery_insert_part(delivery=delivery, now=now)
    ):
        return None
    callback_delivery_stored(delivery)
    return task
