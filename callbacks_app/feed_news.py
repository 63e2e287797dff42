"""The feed's news (SPEC §17): a long-polling ``GET /v1/callbacks`` is answered at a commit.

Every recorded event (``callbacks_app.services``) sends, once its transaction commits, the
news "account A's side M has a new event" on the feed's own channel (not the dispatchers': its
Redis list holds one token, which a feed reader must not take from a dispatcher).
Each web process listens on one connection of its own (``FeedHub``'s thread: Redis pub/sub,
else PostgreSQL ``LISTEN``, through ``callbacks_app.wakeups``' channels) and wakes the
requests of that account and side that wait; they re-read the feed, the source of truth. In
the process that committed, its waiters are woken at once (SQLite too, whose other processes
poll). A lost news delays an answer until the waiter's next look (``callbacks_app.feed``).
"""

import logging
import threading

from django.conf import settings
from django.db import connection, transaction

from callbacks_app.wakeups import LISTEN_SLICE, PostgresChannel, wakeup_channel

logger = logging.getLogger(__name__)

FEED_PG_CHANNEL = "scalehooks_feed"


def feed_redis_key() -> str:
    """The pub/sub channel of the feed's news, one per queue (runs sharing a Redis never mix)."""
    return f"{settings.Q_CLUSTER['name']}:feed-news"


def feed_news_payload(owner_id: int, is_test: bool) -> str:
    return f"{owner_id}:{'t' if is_test else 'l'}"


def feed_news_on_commit(*, owner_id, is_test: bool) -> None:
    """Call inside the transaction that records an event of ``owner_id``'s side ``is_test``: its
    news is sent when it commits (never on a rollback)."""
    if owner_id is None:  # an operators' alert: in no account's feed
        return
    transaction.on_commit(lambda: feed_news_send(owner_id=owner_id, is_test=is_test))


def feed_news_send(*, owner_id: int, is_test: bool) -> None:
    """Wake the requests waiting on the feed of ``owner_id``'s side: this process's at once,
    the others' through Redis (``PUBLISH``), else PostgreSQL (``NOTIFY``); SQLite: they poll."""
    payload = feed_news_payload(owner_id, is_test)
    feed_hub.dispatch(payload)
    try:
        if settings.REDIS_URL:
            wakeup_channel().publish(feed_redis_key(), payload)
        elif connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [FEED_PG_CHANNEL, payload])
    except Exception:
        logger.exception(
            "Could not send the feed's news; its long-polling readers find the event at their next look"
        )


class FeedWaitRefused(Exception):
    """Too many requests wait on the feed (of this account, or in this process) already."""

    def __init__(self, message: str):
        super().__init__(message)


class FeedHub:
    """This process's requests waiting on the feed, by account and side, and the one listener
    thread that wakes them (started at the first wait; Redis pub/sub, else PostgreSQL ``LISTEN``,
    else none: SQLite, whose waiters poll and are woken by commits of their own process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._by_account: dict[int, int] = {}
        self._count = 0
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()
        self._stop = threading.Event()

    def listening(self) -> bool:
        """Whether news from other processes reach this one (else its waiters poll often)."""
        return self._listening.is_set()

    def waiting(self, *, owner_id: int, is_test: bool, per_account: int, per_process: int):
        """A context manager holding one wait slot: an ``Event`` set at each news of that side.
        ``FeedWaitRefused`` when ``per_account`` requests of the account, or ``per_process`` in
        all, wait already (a waiting request holds a web thread)."""
        hub = self
        key = feed_news_payload(owner_id, is_test)

        class Slot:
            def __enter__(self):
                with hub._lock:
                    if hub._count >= per_process:
                        raise FeedWaitRefused(
                            f"{per_process} requests of this server wait on the callback feed already: "
                            "retry shortly, or call without wait."
                        )
                    if hub._by_account.get(owner_id, 0) >= per_account:
                        raise FeedWaitRefused(
                            f"{per_account} requests of this account wait on the callback feed already: "
                            "wait for one to return, or call without wait."
                        )
                    hub._count += 1
                    hub._by_account[owner_id] = hub._by_account.get(owner_id, 0) + 1
                    self.event = threading.Event()
                    hub._waiters.setdefault(key, set()).add(self.event)
                hub._start()
                return self.event

            def __exit__(self, *exc):
                with hub._lock:
                    hub._count -= 1
                    left = hub._by_account[owner_id] - 1
                    if left:
                        hub._by_account[owner_id] = left
                    else:
                        del hub._by_account[owner_id]
                    events = hub._waiters.get(key)
                    events.discard(self.event)
                    if not events:
                        del hub._waiters[key]
                return False

        return Slot()

    def dispatch(self, payload: str) -> None:
        with self._lock:
            events = list(self._waiters.get(payload, ()))
        for event in events:
            event.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or not (settings.REDIS_URL or connection.vendor == "postgresql"):
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="scalehooks-feed-news", daemon=True)
            self._thread.start()

    def _subscribe(self):
        """A blocking reader of the news: ``read(timeout) -> [payload, ...]``, ``close()``."""
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=None)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(feed_redis_key())

            class RedisReader:
                def read(self, timeout: float) -> list[str]:
                    message = pubsub.get_message(timeout=timeout)
                    return [message["data"].decode()] if message and message["type"] == "message" else []

                def close(self) -> None:
                    pubsub.close()
                    client.close()

            return RedisReader()
        conn = PostgresChannel().listen_connection()
        conn.execute(f"LISTEN {FEED_PG_CHANNEL}")

        class PostgresReader:
            def read(self, timeout: float) -> list[str]:
                return [note.payload for note in conn.notifies(timeout=timeout, stop_after=1)] + [
                    note.payload for note in conn.notifies(timeout=0)
                ]

            def close(self) -> None:
                conn.close()

        return PostgresReader()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                reader = self._subscribe()
            except Exception:
                logger.exception("Could not listen for the feed's news; its readers poll")
                self._stop.wait(FEED_RESUBSCRIBE_AFTER)
                continue
            self._listening.set()
            try:
                while not self._stop.is_set():
                    for payload in reader.read(LISTEN_SLICE):
                        self.dispatch(payload)
            except Exception:
                logger.exception("Listening for the feed's news failed; listening again")
                self._stop.wait(FEED_RESUBSCRIBE_AFTER)
            finally:
                self._listening.clear()
                try:
                    reader.close()
                except Exception:
                    logger.debug("Closing the feed's news reader failed", exc_info=True)

    def stop(self) -> None:
        """Stop listening and close the listener's connection (within ``LISTEN_SLICE``); the next
        wait starts it again. For tests: its connection would keep the test database open."""
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=LISTEN_SLICE + 2)

    def reset(self) -> None:
        """Forget the waiters (for tests; the listener thread stays, as it would in a server)."""
        with self._lock:
            self._waiters.clear()
            self._by_account.clear()
            self._count = 0


FEED_RESUBSCRIBE_AFTER = 1.0  # seconds before listening again after a failure
feed_hub = FeedHub()
