"""Recording callback outcomes on tasks: ``callback_succeeded`` and ``callback_succeeded_at``.

The delivery engine (``callbacks_app.engine``) reports each delivery that
finished here; tasks_app owns the task table and writes it. The task shows
the outcome of its most recent finished delivery: ``callback_outcome_of`` is
the creation time of the delivery whose outcome it shows, and an outcome is
written only if its delivery is not older than that.

Whoever changes a task and its deliveries in one transaction locks the task
first (docs/architecture.md, "Leases instead of locks"): the engine locks the
tasks whose outcomes it is about to record (``tasks_app.locks.tasks_lock``)
before it locks their deliveries.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from scalehooks.db import arrays_of, update_each
from tasks_app.models import Task


@dataclass(frozen=True)
class CallbackOutcome:
    task_id: str
    delivery_created_at: datetime  # of the delivery that finished: newer ones win
    succeeded: bool
    at: datetime  # when it finished


def tasks_callback_outcome_record(*, outcomes: list[CallbackOutcome]) -> None:
    """Set ``callback_succeeded`` of each outcome's task, unless it shows a newer delivery's.

    One statement per batch on PostgreSQL, ``executemany`` on SQLite (see
    ``scalehooks.db.update_each``). Call it in the transaction that writes the
    deliveries' new states, after ``tasks_app.locks.tasks_lock`` of their tasks.
    """
    newest: dict[str, CallbackOutcome] = {}
    for outcome in outcomes:  # one row per task: a statement sees none of its own writes
        kept = newest.get(outcome.task_id)
        if kept is None or outcome.delivery_created_at >= kept.delivery_created_at:
            newest[outcome.task_id] = outcome
    at = connection.ops.adapt_datetimefield_value
    rows = [
        (o.succeeded, at(o.at) if o.succeeded else None, at(o.delivery_created_at), o.task_id)
        for o in newest.values()
    ]
    table = Task._meta.db_table
    update_each(
        per_row=(
            f"UPDATE {table} SET callback_succeeded = v.succeeded, callback_succeeded_at = v.succeeded_at, "
            "callback_outcome_of = v.outcome_of "
            "FROM (SELECT %s AS succeeded, %s AS succeeded_at, %s AS outcome_of, %s AS task_id) AS v "
            f"WHERE {table}.id = v.task_id "
            f"AND ({table}.callback_outcome_of IS NULL OR {table}.callback_outcome_of <= v.outcome_of)"
        ),
        per_batch=(
            f"UPDATE {table} AS t SET callback_succeeded = v.succeeded, "
            "callback_succeeded_at = v.succeeded_at, callback_outcome_of = v.outcome_of "
            f"FROM unnest({arrays_of('boolean', 'timestamptz', 'timestamptz', 'varchar')}) "
            "AS v(succeeded, succeeded_at, outcome_of, task_id) "
            "WHERE t.id = v.task_id AND (t.callback_outcome_of IS NULL OR t.callback_outcome_of <= v.outcome_of)"
        ),
        rows=rows,
    )
