"""Wake-ups: a delivery's commit wakes the watching drain job at once instead of its next poll.

While a drain job watches the ledger (``callbacks_app.watch``) it used to look
for new work every ``CLAIM_EVERY`` (20 ms), which set the median from commit to
receipt. Now the commit that makes a delivery due wakes it:

- **Redis** (``REDIS_URL`` set): the kick made on commit (``callbacks_app.kicks``)
  pushes a token on a list (``LPUSH`` then ``LTRIM`` to one entry, one round
  trip) and the watcher waits on it with ``BLPOP``. A list keeps a wake-up
  nobody was waiting for at that instant, which pub/sub would drop.
- **PostgreSQL** without Redis: ``NOTIFY`` inside the transaction that records
  the delivery, which PostgreSQL delivers at its commit and never after a
  rollback; the watcher ``LISTEN``\\s on a connection of its own.
- **SQLite** (the ORM broker): no channel; the watcher keeps polling.

A wake-up only says "look now": the ledger stays the source of truth. A lost
one (a Redis hiccup, a kick that took the watch for ended) delays a delivery
until the watcher's next look (``WAKE_POLL``) or the per-worker sweep, whose kick
wakes the watcher too; it never loses one.
"""

import logging
import threading

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

PG_CHANNEL = "scalehooks_drain_wakeup"
LISTEN_SLICE = 0.2  # seconds a listener blocks on its channel before it checks whether to stop


def redis_key() -> str:
    """The list the wake-ups go through, one per queue (runs sharing a Redis never mix)."""
    return f"{settings.Q_CLUSTER['name']}:drain-wakeup"


class RedisChannel:
    """Wake-ups through a Redis list: pushed after the commit, popped by the watcher."""

    name = "redis"
    wakes_at_commit = False  # the kick after the commit wakes the watcher

    def __init__(self, url: str):
        self.url = url
        self._client = None
        self._lock = threading.Lock()

    def _publisher(self):
        with self._lock:
            if self._client is None:
                import redis

                self._client = redis.Redis.from_url(self.url)
            return self._client

    def in_transaction(self) -> None:
        """Nothing: a Redis wake-up is sent once the commit is done (``wake``)."""

    def publish(self, channel: str, message: str) -> None:
        """``PUBLISH`` on a pub/sub channel (the feed's news)."""
        self._publisher().publish(channel, message)

    def wake(self) -> None:
        pipe = self._publisher().pipeline(transaction=False)
        pipe.lpush(redis_key(), 1)
        pipe.ltrim(redis_key(), 0, 0)  # one waiting token is as good as many
        pipe.execute()

    def subscribe(self):
        """A blocking waiter of its own: ``wait(timeout) -> bool``, ``close()``."""
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=None)
        key = redis_key()

        class Waiter:
            def wait(self, timeout: float) -> bool:
                return client.blpop([key], timeout=timeout) is not None

            def close(self) -> None:
                client.close()

        return Waiter()


class PostgresChannel:
    """Wake-ups through ``NOTIFY`` in the recording transaction, delivered at its commit."""

    name = "postgresql"
    wakes_at_commit = True  # the NOTIFY of the transaction woke the watcher

    def in_transaction(self) -> None:
        """``NOTIFY``: delivered when the caller's transaction commits, never if it rolls back."""
        self.wake()

    def wake(self) -> None:
        """``NOTIFY`` (at once outside a transaction: a kick of the sweep)."""
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {PG_CHANNEL}")

    def listen_connection(self):
        """A connection of its own, in autocommit, to the default database (a listener's)."""
        import psycopg

        db = settings.DATABASES["default"]
        return psycopg.connect(
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            autocommit=True,
        )

    def subscribe(self):
        conn = self.listen_connection()
        conn.execute(f"LISTEN {PG_CHANNEL}")

        class Waiter:
            def wait(self, timeout: float) -> bool:
                woken = any(True for _ in conn.notifies(timeout=timeout, stop_after=1))
                if woken:
                    for _ in conn.notifies(timeout=0):  # the ones that came with it
                        pass
                return woken

            def close(self) -> None:
                conn.close()

        return Waiter()


_channels: dict[tuple, object] = {}


def wakeup_channel():
    """This deployment's wake-up channel (Redis, else PostgreSQL), or None (SQLite: poll)."""
    if settings.REDIS_URL:
        key = ("redis", settings.REDIS_URL)
        if key not in _channels:
            _channels[key] = RedisChannel(settings.REDIS_URL)
        return _channels[key]
    if connection.vendor == "postgresql":
        return _channels.setdefault(("postgresql",), PostgresChannel())
    return None


class Listener:
    """A thread that waits on a channel for a watching drain job and sets ``event`` when woken.

    The job waits on ``event`` (which its finished sends set too) and asks
    ``take_news()`` whether a commit woke it.
    """

    def __init__(self, channel, event: threading.Event):
        self.event = event
        self._channel = channel
        self._news = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scalehooks-wakeups", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            waiter = self._channel.subscribe()
        except Exception:
            logger.exception("Could not listen for drain wake-ups; the watcher polls")
            return
        try:
            while not self._stop.is_set():
                try:
                    woken = waiter.wait(LISTEN_SLICE)
                except Exception:
                    logger.exception("Waiting for drain wake-ups failed; the watcher polls")
                    return
                if woken:
                    with self._lock:
                        self._news = True
                    self.event.set()
        finally:
            waiter.close()

    def take_news(self) -> bool:
        """Whether a wake-up came since the last call."""
        with self._lock:
            news, self._news = self._news, False
        return news

    def stop(self, *, wait: bool = True) -> None:
        """Stop listening (within ``LISTEN_SLICE``; with ``wait``, return once it has): a wake-up
        it takes meanwhile goes to nobody (the watcher's next look or the sweep finds its delivery)."""
        self._stop.set()
        if wait:
            self._thread.join(timeout=LISTEN_SLICE + 1)


# --- The feed's news (SPEC §17): a long-polling ``GET /v1/callbacks`` answered at a commit ---------
#
# Every recorded event (``callbacks_app.services``) sends, once its transaction commits, the
# news "account A's side M has a new event" on the feed's own channel (not the drain's: its
# Redis list holds one token, which a feed reader must not take from the watcher). Each web
# process listens on one connection of its own (``FeedHub``'s thread) and wakes the requests of
# that account and side that wait; they re-read the feed, the source of truth. In the process
# that committed, its waiters are woken at once (SQLite too, whose other processes poll).

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
    from django.db import transaction

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
