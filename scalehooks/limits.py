"""Counters that keep one account, or one URL, from taking what the others need (SPEC §8
"Resources").

- ``rate_wait(key, rate=...)``: at most N events per period of one key (``"600/min"``, the
  format of ``API_THROTTLE_RATE``), counted in fixed windows; the seconds until the window
  ends when the event is one too many (the ``Retry-After``), else None.
- ``CacheSlots``: at most N holders of a key at once, across every process.
- ``ProcessSlots``: at most N holders at once in this process.

The counters of the first two live in Django's cache, as the API's throttle's do: Redis when
``REDIS_URL`` is set (shared by every web process), else in each process. Each cache
operation is atomic (``add``, ``incr``, ``delete``): no two requests take the same place. On
Redis a count is one round trip (a script that increments and sets the expiry: Django's
``add`` then ``incr`` take three), under the same cache key.
"""

import math
import threading
import time
from contextlib import contextmanager

import redis
from django.conf import settings
from django.core.cache import cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` → (600, 60): the count, and the period in seconds (s, min, h, day)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[:1].lower()]


def rate_wait(key: str, *, rate: str, now: float | None = None) -> int | None:
    """Count one event of ``key``; None while it is within ``rate``, else the whole seconds
    until the current window ends (at least 1)."""
    limit, period = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // period)
    counter = f"rate:{key}:{window}"
    if (client := shared_redis()) is not None:
        count = _count_script(client)(keys=[cache.make_key(counter)], args=[period + 1])
    else:
        cache.add(counter, 0, timeout=period + 1)
        try:
            count = cache.incr(counter)
        except ValueError:  # expired between add and incr: a window of its own
            cache.set(counter, 1, timeout=period + 1)
            count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * period - now))


_clients: dict[str, redis.Redis] = {}
_scripts: dict[tuple[int, str], object] = {}
# One counter's increment, with its expiry set when it is new: one round trip.
COUNT = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)


def shared_redis() -> redis.Redis | None:
    """This process's client of the cache's Redis (``REDIS_URL``), or None without one."""
    url = settings.REDIS_URL if settings.CACHES["default"]["BACKEND"].endswith("RedisCache") else ""
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        client = _clients.setdefault(url, redis.Redis.from_url(url))
    return client


def redis_script(client: redis.Redis, source: str):
    """``source`` registered on ``client`` (run by its SHA, loaded again if Redis forgot it)."""
    script = _scripts.get((id(client), source))
    if script is None:
        script = _scripts.setdefault((id(client), source), client.register_script(source))
    return script


def _count_script(client: redis.Redis):
    return redis_script(client, COUNT)


class CacheSlots:
    """At most ``size`` holders of one key at once, in every process that shares the cache.

    One cache entry per place, taken with ``add`` (atomic) and given back with ``delete``; a
    place a process died holding frees itself after ``hold_s`` seconds.
    """

    def __init__(self, name: str):
        self.name = name

    @contextmanager
    def taken(self, key: str, *, size: int, hold_s: float):
        """Yield True with a place of ``key`` held for the block, or False when all are taken."""
        held = None
        for place in range(size):
            entry = f"slot:{self.name}:{key}:{place}"
            if cache.add(entry, 1, timeout=math.ceil(hold_s)):
                held = entry
                break
        try:
            yield held is not None
        finally:
            if held is not None:
                cache.delete(held)


class ProcessSlots:
    """At most ``size`` holders at once in this process (``reset()`` forgets them: tests)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held = 0

    @contextmanager
    def taken(self, *, size: int):
        """Yield True with a place held for the block, or False when all ``size`` are taken."""
        with self._lock:
            got = self._held < size
            if got:
                self._held += 1
        try:
            yield got
        finally:
            if got:
                with self._lock:
                    self._held -= 1

    def reset(self) -> None:
        with self._lock:
            self._held = 0
