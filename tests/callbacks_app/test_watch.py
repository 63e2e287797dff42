"""The drain watch: while one drain job watches the ledger, kicks queue no more jobs,
and nothing that falls due meanwhile is left unsent (callbacks_app.watch, callbacks_app.kicks)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from callbacks_app.engine import drain
from callbacks_app.kicks import kicks, request_drain
from callbacks_app.models import Delivery
from callbacks_app.services import callback_delivery_create
from callbacks_app.watch import WATCH, drain_watched, watch_release, watch_take
from tasks_app.models import Task
from tests.factories import TaskFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_kicks():
    """No debounce or remembered watch carried over from an earlier kick of this process."""
    kicks.reset()


def queued_jobs() -> int:
    return kicks.broker().queue_size()


def completed_delivery(task) -> Delivery:
    """The completion callback of ``task``, due now, as ``task_complete`` records it, but
    without the kick (``enqueue=False``): only a drain job already running can send it."""
    Task.objects.filter(id=task.id).update(status=Task.Status.COMPLETED, response={"category": "red"})
    task.refresh_from_db()
    return callback_delivery_create(task=task, event=Delivery.Event.COMPLETED, enqueue=False)


def test_a_kick_queues_a_drain_job_when_no_job_watches():
    before = queued_jobs()

    request_drain()

    assert queued_jobs() == before + 1


def test_kicks_queue_no_job_while_a_drain_job_watches():
    assert watch_take(holder="job-1") is not None
    before = queued_jobs()

    request_drain()

    assert queued_jobs() == before


def test_a_drain_job_asking_for_help_gets_one_even_while_it_watches():
    assert watch_take(holder="job-1") is not None
    before = queued_jobs()

    request_drain(helper=True)

    assert queued_jobs() == before + 1


def test_one_job_watches_at_a_time_until_its_watch_lapses_or_is_given_up():
    now = timezone.now()

    assert watch_take(holder="a", now=now) == now + WATCH
    assert watch_take(holder="b", now=now) is None
    assert watch_take(holder="a", now=now + WATCH / 2) == now + WATCH * 1.5  # renewed
    # Not renewed in time: the watch lapses and another job may take it.
    later = now + WATCH * 2
    assert not drain_watched(now=later)
    assert watch_take(holder="b", now=later) == later + WATCH
    watch_release(holder="a")  # no longer a's: changes nothing
    assert drain_watched(now=later)
    watch_release(holder="b")
    assert not drain_watched(now=later)


def run_drain_job(**kwargs) -> tuple[threading.Thread, dict]:
    result = {}

    def job():
        try:
            result["sent"] = drain.deliveries_drain(**kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=job)
    thread.start()
    return thread, result


def test_the_watching_job_sends_what_comes_during_its_watch_without_a_new_job(account, receiver):
    profile = account.profile
    tasks = [TaskFactory(owner=profile.user, callback_url=receiver.url) for _ in range(3)]
    before = queued_jobs()
    thread, result = run_drain_job(linger=2.0)
    wait_until(drain_watched, 5, "the drain job did not start watching", interval=0.01)
    assert drain_watched()

    deliveries = [completed_delivery(task) for task in tasks]
    request_drain()  # as after the commit: skipped, the job watches

    thread.join(timeout=10)
    assert not thread.is_alive()
    assert result["sent"] == 3
    assert {Delivery.objects.get(id=d.id).status for d in deliveries} == {Delivery.Status.SUCCEEDED}
    assert sorted(r.json()["task_id"] for r in receiver.requests) == sorted(t.id for t in tasks)
    assert queued_jobs() == before
    assert not drain_watched()  # given up when it left


def test_a_delivery_committed_as_the_watch_ends_is_sent_by_the_leaving_job(account, receiver, monkeypatch):
    """The race the watch protocol closes: a kick skipped because the watch looked alive,
    for a delivery committed just before the watcher gave up. The watcher looks once
    more after giving up its watch, and sends it."""
    profile = account.profile
    task = TaskFactory(owner=profile.user, callback_url=receiver.url)
    release = watch_release
    raced = []

    def release_while_a_delivery_commits(*, holder):
        if not raced:
            raced.append(completed_delivery(task))  # committed, its kick skipped: still watched
        release(holder=holder)

    monkeypatch.setattr(drain, "watch_release", release_while_a_delivery_commits)
    thread, result = run_drain_job(linger=0.05)
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert result["sent"] == 1
    (delivery,) = raced
    assert Delivery.objects.get(id=delivery.id).status == Delivery.Status.SUCCEEDED
    assert [r.json()["task_id"] for r in receiver.requests] == [task.id]
