"""The row locks of tasks and batches, for whoever changes them with their deliveries.

tasks_app owns the task and batch tables, and it alone locks their rows: the
lifecycle (``services``, ``batches``) and ``callbacks_app``, whose resends and
engine change a task's or a batch's deliveries and lock its row first, through
here. The lock order (docs/architecture.md, "Leases instead of locks"): a task,
then its batch, then deliveries; a batch's resend: the batch, then its
deliveries.

``tasks_lock`` is on the engine's hot path (once per recorded batch): one
hand-written statement, its text built once per connection, the ids as one
array on PostgreSQL (``scalehooks.db.one_of``), tested on both backends
(tests/tasks_app/test_locks.py).
"""

from scalehooks.db import one_of, per_connection
from tasks_app.models import Batch, Task


def task_locked(task_id: str) -> Task:
    """The task, locked for update until the surrounding transaction ends."""
    return Task.objects.select_for_update().get(id=task_id)


def batch_locked(**lookup) -> Batch:
    """The batch (with its project, which is not locked), locked for update until the
    surrounding transaction ends."""
    return Batch.objects.select_for_update(of=("self",)).select_related("project").get(**lookup)


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        self.lock = f"SELECT {q('id')} FROM {q(Task._meta.db_table)} WHERE {q('id')} "
        self.lock_order = f" ORDER BY {q('id')} FOR UPDATE"


_connection = per_connection(_Statements)


def tasks_lock(*, task_ids) -> None:
    """Lock these tasks for the rest of the transaction, in id order (ids of no task are
    skipped): call it before locking deliveries of theirs whose outcome
    ``callback_outcomes.tasks_callback_outcome_record`` will then write. Nothing to do where
    rows cannot be locked (SQLite, whose write transactions are serialised anyway)."""
    conn, st = _connection()
    task_ids = list(task_ids)
    if not conn.features.has_select_for_update or not task_ids:
        return
    condition, params = one_of(Task._meta.pk, conn, task_ids)
    with conn.cursor() as cursor:
        cursor.execute(st.lock + condition + st.lock_order, params)
        cursor.fetchall()
