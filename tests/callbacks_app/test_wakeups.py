"""Wake-ups (callbacks_app.wakeups): a delivery's commit wakes the watching drain job, a
rollback wakes nobody, and a lost wake-up is still caught by the sweep.

Each test runs on a real channel: Redis (the suite's PostgreSQL run sets
``REDIS_URL``) and PostgreSQL's ``LISTEN``/``NOTIFY``; neither exists in the
SQLite run, where the watcher polls (tests/callbacks_app/test_watch.py).
"""

import threading

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from callbacks_app import kicks as kicks_module
from callbacks_app import wakeups
from callbacks_app.engine import drain
from callbacks_app.kicks import kicks
from callbacks_app.models import Delivery
from callbacks_app.services import callback_delivery_create
from callbacks_app.sweep import sweep_due
from callbacks_app.watch import drain_watched, watch_take
from tasks_app.models import Task
from tests.factories import TaskFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _redis_channel():
    if not settings.REDIS_URL:
        pytest.skip("Redis wake-ups need REDIS_URL (the suite's PostgreSQL run, make test-postgres)")
    redis.Redis.from_url(settings.REDIS_URL).delete(wakeups.redis_key())  # no token of an earlier test
    return wakeups.RedisChannel(settings.REDIS_URL)


def _postgres_channel():
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's (make test-postgres)")
    return wakeups.PostgresChannel()


@pytest.fixture(params=["redis", "postgresql"])
def channel(request, monkeypatch):
    """The channel under test, used by the kicks, the services and the drain job alike."""
    chosen = _redis_channel() if request.param == "redis" else _postgres_channel()
    monkeypatch.setattr(kicks_module, "wakeup_channel", lambda: chosen)
    monkeypatch.setattr(drain, "wakeup_channel", lambda: chosen)
    kicks.reset()
    return chosen


def listening(channel) -> bool:
    """Whether a waiter of the channel is blocked on it now, as the server sees it."""
    if channel.name == "redis":
        server = redis.Redis.from_url(settings.REDIS_URL)
        database = str(server.connection_pool.connection_kwargs.get("db", 0))
        # Only this run's database: another run's cluster (another xdist worker, another
        # checkout on the same Redis) may be blocked on a list of its own meanwhile.
        return any(c.get("cmd") == "blpop" and c.get("db") == database for c in server.client_list())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = %s AND datname = current_database()",
            [f"LISTEN {wakeups.PG_CHANNEL}"],
        )
        return cursor.fetchone()[0] > 0


def complete_with_callback(task) -> Delivery:
    """``task`` completed and its callback recorded in one transaction, as ``task_complete`` does."""
    with transaction.atomic():
        Task.objects.filter(id=task.id).update(status=Task.Status.COMPLETED, response={"category": "red"})
        task.refresh_from_db()
        return callback_delivery_create(task=task, event=Delivery.Event.COMPLETED)


class RolledBack(Exception):
    pass


def test_a_commit_wakes_the_waiter_and_a_rollback_does_not(channel, account):
    task = TaskFactory(owner=account.profile.user, callback_url="http://127.0.0.1:9/callback")
    assert watch_take(holder="job-1") is not None  # the kick wakes a watcher, it queues no job
    waiter = channel.subscribe()
    try:
        with pytest.raises(RolledBack), transaction.atomic():
            callback_delivery_create(task=task, event=Delivery.Event.COMPLETED)
            raise RolledBack
        assert not waiter.wait(0.5)

        assert watch_take(holder="job-1") is not None  # renewed: a watch lasts 0.5 s
        kicks.reset()  # the kick asks whether it is watched now
        complete_with_callback(task)
        assert waiter.wait(10)
    finally:
        waiter.close()


def run_watching_drain_job(linger: float) -> threading.Thread:
    def job():
        try:
            drain.deliveries_drain(linger=linger)
        finally:
            connection.close()

    thread = threading.Thread(target=job)
    thread.start()
    return thread


def wake(channel) -> None:
    """A wake-up that no delivery brought (to let a job see it has nothing left and leave)."""
    channel.wake()


def leave(thread, channel) -> None:
    def left():
        wake(channel)
        thread.join(timeout=0.2)
        return not thread.is_alive()

    wait_until(left, 20, "the drain job did not leave once idle")


@pytest.fixture
def no_poll(monkeypatch):
    """The watcher looks of its own accord only every 1000 s: only a wake-up makes it look."""
    monkeypatch.setattr(drain, "WAKE_POLL", 1000.0)


def test_a_watching_drain_job_is_woken_by_the_commit_of_a_completion(channel, account, receiver, no_poll):
    task = TaskFactory(owner=account.profile.user, callback_url=receiver.url)
    thread = run_watching_drain_job(linger=0.3)
    wait_until(drain_watched, 10, "the drain job did not start watching", interval=0.01)
    wait_until(lambda: listening(channel), 10, "the drain job does not wait on its channel", interval=0.01)

    delivery = complete_with_callback(task)

    wait_until(lambda: receiver.requests, 20, "the commit did not wake the watching drain job")
    assert [r.json()["task_id"] for r in receiver.requests] == [task.id]
    leave(thread, channel)
    assert Delivery.objects.get(id=delivery.id).status == Delivery.Status.SUCCEEDED


def test_a_lost_wake_up_is_caught_by_the_sweep(channel, account, receiver, no_poll):
    task = TaskFactory(owner=account.profile.user, callback_url=receiver.url)
    thread = run_watching_drain_job(linger=0.3)
    wait_until(drain_watched, 10, "the drain job did not start watching", interval=0.01)
    wait_until(lambda: listening(channel), 10, "the drain job does not wait on its channel", interval=0.01)
    Task.objects.filter(id=task.id).update(status=Task.Status.COMPLETED, response={"category": "red"})
    task.refresh_from_db()
    # Recorded without its kick and wake-up: as if the wake-up had been lost.
    callback_delivery_create(task=task, event=Delivery.Event.COMPLETED, enqueue=False)
    assert not receiver.requests

    assert sweep_due()  # the sweep's kick finds the watch and wakes the watcher

    wait_until(lambda: receiver.requests, 20, "the sweep's kick did not wake the watching drain job")
    assert [r.json()["task_id"] for r in receiver.requests] == [task.id]
    leave(thread, channel)


def test_under_load_a_woken_watcher_waits_out_the_claim_gap_and_claims_a_batch(
    channel, account, receiver, no_poll, monkeypatch
):
    """Past ``GAP_FULL_RATE`` a wake-up is claimed ``CLAIM_GAP`` after the watcher's last claim,
    with whatever else came meanwhile: one claim, one batch (its attempts share one start)."""
    monkeypatch.setattr(drain, "CLAIM_GAP", 1.0)
    monkeypatch.setattr(drain, "GAP_FROM_RATE", 0.0)
    monkeypatch.setattr(drain, "GAP_FULL_RATE", 0.5)  # one delivery claimed a second: the whole gap
    first, *others = TaskFactory.create_batch(4, owner=account.profile.user, callback_url=receiver.url)
    thread = run_watching_drain_job(linger=3.0)
    wait_until(drain_watched, 10, "the drain job did not start watching", interval=0.01)
    wait_until(lambda: listening(channel), 10, "the drain job does not wait on its channel", interval=0.01)

    complete_with_callback(first)  # claimed at once: nothing was claimed before it
    wait_until(lambda: len(receiver.requests) == 1, 20, "the first wake-up was not claimed")
    for task in others:
        complete_with_callback(task)

    wait_until(lambda: len(receiver.requests) == 4, 20, "the later wake-ups were not claimed")
    leave(thread, channel)
    starts = {
        delivery.task_id: delivery.attempts.get().started_at
        for delivery in Delivery.objects.select_related(None).filter(task__in=[first, *others])
    }
    batch = {starts[task.id] for task in others}
    assert len(batch) == 1, "the deliveries of one gap were not claimed together"
    assert (batch.pop() - starts[first.id]).total_seconds() >= 1.0


def test_the_claim_gap_grows_with_the_rate_of_claims():
    assert drain.gap_for_rate(0) == drain.gap_for_rate(drain.GAP_FROM_RATE) == 0
    halfway = (drain.GAP_FROM_RATE + drain.GAP_FULL_RATE) / 2
    assert drain.gap_for_rate(halfway) == pytest.approx(drain.CLAIM_GAP / 2)
    assert drain.gap_for_rate(drain.GAP_FULL_RATE) == drain.gap_for_rate(10_000) == drain.CLAIM_GAP
