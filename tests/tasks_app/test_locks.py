"""tasks_app's row locks for whoever changes a task with its deliveries (``tasks_app.locks``), on the
suite's backend (SQLite, then PostgreSQL in ``make test-postgres``)."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from tasks_app.locks import tasks_lock
from tasks_app.models import Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def test_tasks_lock_reads_nothing_where_rows_cannot_be_locked(account):
    if connection.features.has_select_for_update:
        pytest.skip(
            "PostgreSQL locks the rows: test_tasks_lock_blocks_another_transaction_on_those_tasks_only"
        )
    task = TaskFactory(owner=account.user)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        tasks_lock(task_ids=[task.id])
    assert [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]] == []


def test_tasks_lock_of_no_task_runs_nothing(account):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        tasks_lock(task_ids=[])
    assert [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]] == []


@pytest.mark.django_db(transaction=True)
def test_tasks_lock_blocks_another_transaction_on_those_tasks_only(account):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no rows: its write transaction serialises the recorders")
    mine, also_mine, theirs = (TaskFactory(owner=account.user) for _ in range(3))
    seen = {}

    def other_transaction():
        try:
            with transaction.atomic():
                free = Task.objects.select_for_update(nowait=True).filter(id=theirs.id)
                seen["theirs"] = [task.id for task in free]
                for name, task in (("mine", mine), ("also_mine", also_mine)):
                    try:
                        with transaction.atomic():
                            list(Task.objects.select_for_update(nowait=True).filter(id=task.id))
                        seen[name] = "taken"
                    except DatabaseError:  # could not obtain the lock
                        seen[name] = "locked"
        finally:
            connections.close_all()

    with transaction.atomic():
        tasks_lock(task_ids={also_mine.id, mine.id, "no_such_task"})
        thread = threading.Thread(target=other_transaction)
        thread.start()
        thread.join()
    assert seen == {"theirs": [theirs.id], "mine": "locked", "also_mine": "locked"}


def test_tasks_lock_locks_in_id_order(account):
    """One order for every locker (the recording's, the claim's): the database's order of ids."""
    tasks = [TaskFactory(owner=account.user) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        tasks_lock(task_ids=reversed([t.id for t in tasks]))
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locks) == (1 if connection.features.has_select_for_update else 0)
    assert all(sql.endswith('ORDER BY "id" FOR UPDATE') for sql in locks)
