"""Wake-ups: a commit that makes a delivery due wakes a dispatcher at once, not at its next look.

``dispatchers_wake()`` is called inside the transaction that makes deliveries due:

- **Redis** (``REDIS_URL`` set): once it commits, a token is pushed on a list (``LPUSH`` then
  ``LTRIM`` to one entry, one round trip). Each dispatcher's listener waits on it with
  ``BLPOP``; Redis hands the token to the one waiting longest, which claims everything due.
  A list keeps a wake-up nobody was waiting for at that instant, which pub/sub would drop.
- **PostgreSQL** without Redis: ``NOTIFY`` inside the transaction, which PostgreSQL delivers
  at its commit and never after a rollback; every dispatcher listens (``LISTEN``) on a connection of
  its own.
- **SQLite**: no channel; the dispatchers poll.

A wake-up only says "look now": the ledger stays the source of truth, and a lost one delays
a delivery until a dispatcher's next look, never loses it.
"""

import logging
import threading

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

PG_CHANNEL = "scalehooks_drain_wakeup"
LISTEN_SLICE = 0.2  # seconds a listener blocks on its channel before it checks whether to stop


def redis_key() -> str:
    """The list the wake-ups go through, one per queue (runs sharing a Redis never mix)."""
    return f"{settings.Q_CLUSTER['name']}:drain-wakeup"


class RedisChannel:
    """Wake-ups through a Redis list: pushed after the commit, popped by a dispatcher's listener."""

    name = "redis"

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
        """A wake-up sent once the caller's transaction commits (at once outside one)."""
        if not any(func == self.wake_quietly for _, func, _ in connection.run_on_commit):
            transaction.on_commit(self.wake_quietly)

    def wake_quietly(self) -> None:
        try:
            self.wake()
        except Exception:
            logger.exception("Could not wake a dispatcher; one finds the work at its next look")

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

    def in_transaction(self) -> None:
        """``NOTIFY``: delivered when the caller's transaction commits, never if it rolls back."""
        self.wake()

    def wake(self) -> None:
        """``NOTIFY`` (at once outside a transaction)."""
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


def dispatchers_wake() -> None:
    """Call inside the transaction that makes deliveries due (or after it): a dispatcher is woken
    once it commits, never after a rollback (SQLite: nothing, the dispatchers poll)."""
    channel = wakeup_channel()
    if channel is not None:
        channel.in_transaction()


class Listener:
    """A thread that waits on a channel for a dispatcher and sets ``event`` when woken.

    The dispatcher waits on ``event`` (which its finished sends set too) and asks
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
            logger.exception("Could not listen for wake-ups; the dispatcher looks every second")
            return
        try:
            while not self._stop.is_set():
                try:
                    woken = waiter.wait(LISTEN_SLICE)
                except Exception:
                    logger.exception("Waiting for wake-ups failed; the dispatcher looks every second")
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
        it takes meanwhile goes to nobody (a dispatcher's next look finds its delivery)."""
        self._stop.set()
        if wait:
            self._thread.join(timeout=LISTEN_SLICE + 1)
