"""Recording callback outcomes on tasks: ``callback_succeeded`` and ``callback_succeeded_at``.

The delivery engine (``callbacks_app.engine``) reports each delivery that
finished here; tasks_app owns the task table and writes it. The task shows
the outcome of its most recent finished delivery: an outcome is written unless
a newer delivery of the same task already finished.
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
    """Set ``callback_succeeded`` of each outcome's task, unless a newer delivery of it finished.

    One statement per batch on PostgreSQL, ``executemany`` on SQLite (see
    ``scalehooks.db.update_each``). Call it in the transaction that writes the
    deliveries' new states: those count as finished deliveries.
    """
    at = connection.ops.adapt_datetimefield_value
    rows = [
        (o.succeeded, at(o.at) if o.succeeded else None, o.task_id, at(o.delivery_created_at))
        for o in outcomes
    ]
    task_table = Task._meta.db_table
    delivery_table = Task._meta.get_field("deliveries").related_model._meta.db_table
    update_each(
        per_row=(
            f"UPDATE {task_table} SET callback_succeeded = %s, callback_succeeded_at = %s "
            f"WHERE id = %s AND NOT EXISTS (SELECT 1 FROM {delivery_table} newer "
            f"WHERE newer.task_id = {task_table}.id AND newer.created_at > %s "
            "AND newer.status IN ('succeeded', 'failed'))"
        ),
        per_batch=(
            f"UPDATE {task_table} AS t SET callback_succeeded = v.succeeded, "
            "callback_succeeded_at = v.succeeded_at "
            f"FROM unnest({arrays_of('boolean', 'timestamptz', 'varchar', 'timestamptz')}) "
            "AS v(succeeded, succeeded_at, task_id, created_at) "
            f"WHERE t.id = v.task_id AND NOT EXISTS (SELECT 1 FROM {delivery_table} newer "
            "WHERE newer.task_id = t.id AND newer.created_at > v.created_at "
            "AND newer.status IN ('succeeded', 'failed'))"
        ),
        rows=rows,
    )
