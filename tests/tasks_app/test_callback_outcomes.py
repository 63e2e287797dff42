"""``tasks_app.callback_outcomes``: a task shows its newest finished delivery's outcome, decided on
the task's own row (``callback_outcome_of``), on the suite's backend (SQLite's ``executemany``,
PostgreSQL's one statement)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks_app.callback_outcomes import CallbackOutcome, tasks_callback_outcome_record
from tasks_app.models import Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def outcome(task, *, created, succeeded, at):
    return CallbackOutcome(task_id=task.id, delivery_created_at=created, succeeded=succeeded, at=at)


def test_a_newer_deliverys_outcome_wins_whichever_is_recorded_first(account):
    now = timezone.now()
    older, newer = now - timedelta(minutes=5), now - timedelta(minutes=1)
    first_newer, first_older = TaskFactory(owner=account.user), TaskFactory(owner=account.user)

    tasks_callback_outcome_record(outcomes=[outcome(first_newer, created=newer, succeeded=True, at=now)])
    tasks_callback_outcome_record(outcomes=[outcome(first_newer, created=older, succeeded=False, at=now)])
    tasks_callback_outcome_record(outcomes=[outcome(first_older, created=older, succeeded=False, at=now)])
    tasks_callback_outcome_record(outcomes=[outcome(first_older, created=newer, succeeded=True, at=now)])

    for task in (first_newer, first_older):
        task.refresh_from_db()
        assert (task.callback_succeeded, task.callback_succeeded_at, task.callback_outcome_of) == (
            True,
            now,
            newer,
        )


def test_the_same_deliverys_outcome_again_and_a_later_failure_overwrite(account):
    now = timezone.now()
    created = now - timedelta(minutes=1)
    task = TaskFactory(owner=account.user)
    tasks_callback_outcome_record(outcomes=[outcome(task, created=created, succeeded=True, at=now)])
    tasks_callback_outcome_record(outcomes=[outcome(task, created=created, succeeded=False, at=now)])
    task.refresh_from_db()
    assert (task.callback_succeeded, task.callback_succeeded_at, task.callback_outcome_of) == (
        False,
        None,
        created,
    )


@pytest.mark.parametrize("newest_first", [True, False])
def test_two_outcomes_of_a_task_in_one_call_the_newer_wins(account, newest_first):
    now = timezone.now()
    task, other = TaskFactory(owner=account.user), TaskFactory(owner=account.user)
    outcomes = [
        outcome(task, created=now - timedelta(minutes=1), succeeded=False, at=now),
        outcome(task, created=now - timedelta(minutes=5), succeeded=True, at=now),
        outcome(other, created=now, succeeded=True, at=now),
    ]
    tasks_callback_outcome_record(outcomes=outcomes if newest_first else outcomes[::-1])
    assert Task.objects.get(id=task.id).callback_succeeded is False
    assert Task.objects.get(id=other.id).callback_succeeded is True


def test_the_guard_reads_no_other_apps_table(account):
    task = TaskFactory(owner=account.user)
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        tasks_callback_outcome_record(outcomes=[outcome(task, created=now, succeeded=True, at=now)])
    assert [q["sql"] for q in queries.captured_queries if "callbacks_app" in q["sql"]] == []
    assert Task.objects.get(id=task.id).callback_succeeded is True
