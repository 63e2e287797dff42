"""Wake-ups (callbacks_app.wakeups): a delivery's commit wakes a dispatcher, a rollback wakes
nobody, and a lost wake-up is still caught by a dispatcher's own look.

Each test runs on a real channel: Redis (the suite's PostgreSQL run sets ``REDIS_URL``) and
PostgreSQL's ``LISTEN``/``NOTIFY``; neither exists in the SQLite run, where dispatchers poll
(tests/callbacks_app/engine/test_dispatcher.py).
"""

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from callbacks_app import wakeups
from callbacks_app.engine import dispatcher
from callbacks_app.engine.dispatcher import PACE, Dispatcher
from callbacks_app.models import Delivery
from callbacks_app.services import callback_delivery_create
from tasks_app.models import Task
from tests.dispatching import run_dispatcher, stop
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
    """The channel under test, used by the services and the dispatcher alike."""
    chosen = _redis_channel() if request.param == "redis" else _postgres_channel()
    monkeypatch.setattr(wakeups, "wakeup_channel", lambda: chosen)
    monkeypatch.setattr(dispatcher, "wakeup_channel", lambda: chosen)
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
    waiter = channel.subscribe()
    try:
        with pytest.raises(RolledBack), transaction.atomic():
            callback_delivery_create(task=task, event=Delivery.Event.COMPLETED)
            raise RolledBack
        assert not waiter.wait(0.5)

        complete_with_callback(task)
        assert waiter.wait(10)
    finally:
        waiter.close()


def test_the_deliveries_of_one_transaction_send_one_wake_up(channel, account):
    tasks = TaskFactory.create_batch(
        3, owner=account.profile.user, callback_url="http://127.0.0.1:9/callback"
    )
    with transaction.atomic():
        for task in tasks:
            callback_delivery_create(task=task, event=Delivery.Event.COMPLETED)
        if channel.name == "redis":
            assert sum(1 for _, func, _ in connection.run_on_commit if func == channel.wake_quietly) == 1


def started(d: Dispatcher, channel) -> None:
    wait_until(lambda: d.turn.last_claim > float("-inf"), 10, "the dispatcher did not look", interval=0.01)
    wait_until(lambda: listening(channel), 10, "the dispatcher does not wait on its channel", interval=0.01)


@pytest.fixture
def no_look(monkeypatch):
    """A dispatcher looks of its own accord only every 1000 s: only a wake-up makes it look."""
    monkeypatch.setitem(PACE, "look_every", 1000.0)


def test_a_dispatcher_is_woken_by_the_commit_of_a_completion(channel, account, receiver, no_look):
    task = TaskFactory(owner=account.profile.user, callback_url=receiver.url)
    d, thread = run_dispatcher()
    started(d, channel)

    delivery = complete_with_callback(task)

    wait_until(lambda: receiver.requests, 20, "the commit did not wake the dispatcher")
    assert [r.json()["task_id"] for r in receiver.requests] == [task.id]
    wait_until(
        lambda: Delivery.objects.get(id=delivery.id).status == Delivery.Status.SUCCEEDED, 10, "not recorded"
    )
    stop(d, thread)


def test_a_lost_wake_up_is_caught_by_a_dispatchers_own_look(channel, account, receiver, monkeypatch):
    monkeypatch.setitem(PACE, "look_every", 0.5)
    task = TaskFactory(owner=account.profile.user, callback_url=receiver.url)
    d, thread = run_dispatcher()
    started(d, channel)
    Task.objects.filter(id=task.id).update(status=Task.Status.COMPLETED, response={"category": "red"})
    task.refresh_from_db()
    # Recorded without its wake-up: as if the wake-up had been lost.
    callback_delivery_create(task=task, event=Delivery.Event.COMPLETED, enqueue=False)

    wait_until(lambda: receiver.requests, 20, "no look of its own found the delivery")
    assert [r.json()["task_id"] for r in receiver.requests] == [task.id]
    stop(d, thread)


def test_under_load_a_woken_dispatcher_waits_out_the_claim_gap_and_claims_a_batch(
    channel, account, receiver, no_look, monkeypatch
):
    """Past the upper gap rate a wake-up is claimed ``claim_gap`` after the last claim, with
    whatever else came meanwhile: one claim, one batch (its attempts share one start)."""
    monkeypatch.setitem(PACE, "claim_gap", 1.0)
    monkeypatch.setitem(PACE, "gap_rates", (0.0, 0.5))  # one delivery claimed a second: the whole gap
    first, *others = TaskFactory.create_batch(4, owner=account.profile.user, callback_url=receiver.url)
    d, thread = run_dispatcher()
    started(d, channel)

    complete_with_callback(first)  # claimed at once: nothing was claimed before it
    wait_until(lambda: len(receiver.requests) == 1, 20, "the first wake-up was not claimed")
    for task in others:
        complete_with_callback(task)

    wait_until(lambda: len(receiver.requests) == 4, 20, "the later wake-ups were not claimed")
    stop(d, thread)
    starts = {
        delivery.task_id: delivery.attempts.get().started_at
        for delivery in Delivery.objects.select_related(None).filter(task__in=[first, *others])
    }
    batch = {starts[task.id] for task in others}
    assert len(batch) == 1, "the deliveries of one gap were not claimed together"
    assert (batch.pop() - starts[first.id]).total_seconds() >= 1.0
