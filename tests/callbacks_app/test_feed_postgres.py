"""The feed's cursor under concurrent transactions, and its news across processes, on real
PostgreSQL connections (and Redis when ``REDIS_URL`` is set): ``make test-postgres``.

A sequence alone is not a stable cursor: a transaction that took a lower number can commit
after a reader saw a higher one, and the reader's cursor steps over it. These tests commit
two transactions out of order and check that a reader paging meanwhile sees every event
once (callbacks_app.feed, callbacks_app.models.feed).
"""

import threading

import pytest
from django.db import connection, transaction

from callbacks_app.feed import feed_page
from callbacks_app.feed_news import feed_hub, feed_news_payload
from callbacks_app.models import Delivery
from callbacks_app.services import callback_delivery_create
from tasks_app.models import Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("transaction ids and LISTEN are PostgreSQL's (make test-postgres)")
    yield
    feed_hub.reset()


@pytest.fixture(autouse=True, scope="module")
def _no_listener_left_behind():
    """The feed's listener keeps a connection to the test database, which could then not be
    dropped at the end of the run."""
    yield
    feed_hub.stop()


class OpenTransaction:
    """A thread with its own database connection that records an event in a transaction and
    holds it open until ``commit()``; ``before`` runs first in the same transaction."""

    def __init__(self, task: Task, *, before=None):
        self.recorded = threading.Event()
        self._commit = threading.Event()
        self.delivery_id = None
        self.error = None
        self._thread = threading.Thread(target=self._run, args=(task, before))
        self._thread.start()
        assert self.recorded.wait(10), self.error

    def _run(self, task, before):
        try:
            with transaction.atomic():
                if before is not None:
                    before()
                self.delivery_id = callback_delivery_create(task=task, event=Delivery.Event.COMPLETED).id
                self.recorded.set()
                self._commit.wait(10)
        except Exception as exc:
            self.error = exc
            self.recorded.set()
        finally:
            connection.close()

    def commit(self):
        self._commit.set()
        self._thread.join(10)
        assert self.error is None, self.error


def _read_all(owner_id, cursor):
    page = feed_page(owner_id=owner_id, is_test=False, after=cursor, limit=100)
    return [event["id"] for event in page.events], page.next_cursor


def test_a_reader_never_steps_over_a_transaction_that_commits_after_a_later_one(account):
    task_a, task_b = TaskFactory(owner=account.user), TaskFactory(owner=account.user)
    first = OpenTransaction(task_a)  # takes the lower sequence number, commits last
    second = OpenTransaction(task_b)
    second.commit()

    seen_meanwhile, cursor = _read_all(account.user.id, None)
    first.commit()
    seen_after, _ = _read_all(account.user.id, cursor)

    assert seen_meanwhile == []  # the later commit waits until the earlier transaction ends
    assert seen_meanwhile + seen_after == [first.delivery_id, second.delivery_id]


def test_a_transaction_that_began_first_and_records_last_is_not_stepped_over(account):
    """xid order differs from the sequence's: the first transaction takes its id with an
    earlier write, the second records and commits, then the first records."""
    task_a, task_b, other = (TaskFactory(owner=account.user) for _ in range(3))
    release_first = threading.Event()
    first_started = threading.Event()
    outcome = {}

    def first():
        try:
            with transaction.atomic():
                Task.objects.filter(id=other.id).update(instruction="takes a transaction id")
                first_started.set()
                release_first.wait(10)
                outcome["id"] = callback_delivery_create(task=task_a, event=Delivery.Event.COMPLETED).id
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_started.wait(10)
    second = OpenTransaction(task_b)
    second.commit()

    seen_meanwhile, cursor = _read_all(account.user.id, None)
    release_first.set()
    thread.join(10)
    seen_after, _ = _read_all(account.user.id, cursor)

    assert seen_meanwhile == []
    assert sorted(seen_after) == sorted([outcome["id"], second.delivery_id])
    assert seen_after[0] == outcome["id"]  # in the order of the transactions


def test_an_event_is_served_once_every_earlier_transaction_ended(account):
    task = TaskFactory(owner=account.user)
    done = OpenTransaction(task)
    done.commit()

    seen, _ = _read_all(account.user.id, None)

    assert seen == [done.delivery_id]


def test_the_news_of_another_process_wakes_a_waiting_request(account):
    """The news sent by another process (another connection's NOTIFY, or Redis PUBLISH) wakes
    this process's waiter: nothing dispatched in this process."""
    from django.conf import settings

    from callbacks_app.feed_news import FEED_PG_CHANNEL, feed_redis_key
    from callbacks_app.wakeups import wakeup_channel
    from tests.waiting import wait_until

    payload = feed_news_payload(account.user.id, False)
    with feed_hub.waiting(owner_id=account.user.id, is_test=False, per_account=1, per_process=1) as news:
        wait_until(feed_hub.listening, 10, "the feed's listener subscribed")
        if settings.REDIS_URL:
            wakeup_channel().publish(feed_redis_key(), payload)
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [FEED_PG_CHANNEL, payload])
        assert news.wait(10)
