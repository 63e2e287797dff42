"""The callback feed (SPEC §17): an account side's callback events in order, after a cursor.

``GET /v1/callbacks?after=&limit=&wait=`` reads it (``callbacks_app.views.CallbacksFeedApi``).
Every event of the side is in it: delivered ones and those of tasks without a target
(``not_sent``), with the frozen payload each delivery sends. Operators' alerts belong to no
account and are in no feed.

Order and cursor: each delivery row's position (``feed_xid``, ``feed_seq``) is filled by the
database as the row is inserted (``callbacks_app.models.feed``). On PostgreSQL the feed serves
only rows whose inserting transaction is older than every transaction still running in the
database (``_serve_bound``), so a row that commits later always sorts after every row served
before it: a cursor never steps
over an event, whatever the order in which concurrent transactions commit, and in every
process alike. The price: an event is served once the transactions that began before it
ended (a transaction left open holds the feed back; the engine's are milliseconds). On SQLite
the position is a counter numbered in commit order. The cursor is the position, opaque
(base64url), as Scale's ``next_token``.

Long-poll (``feed_wait``): the request waits on ``feed_news.feed_hub`` for the news of its side's
next commit, then reads the feed again; it holds a web thread meanwhile, so waits are capped
per account and per process (``CALLBACK_FEED_WAITS_PER_ACCOUNT``, ``CALLBACK_FEED_WAITS``).
"""

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q

from callbacks_app.errors import FeedWaitsExceeded
from callbacks_app.feed_news import FeedWaitRefused, feed_hub
from callbacks_app.models import Delivery

MAX_POSITION = 2**63 - 1
_CURSOR = re.compile(r"(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})")
# While no news reach this process from the others (SQLite; a channel down), a waiting
# request reads the feed this often; with news, this often all the same (a lost one).
POLL_WITHOUT_NEWS = 0.1
POLL_WITH_NEWS = 2.0
# After news that brought nothing to serve yet (its transaction is newer than one still
# running, PostgreSQL), how often to look again until it shows.
RECHECK_AFTER_NEWS = 0.02

_FIELDS = ("id", "event", "created_at", "task_id", "batch__name", "target", "status", "payload")


@dataclass(frozen=True)
class Position:
    xid: int
    seq: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.xid}.{self.seq}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        """The position ``encode`` wrote; anything else is a ``ValidationError`` (a 400)."""
        invalid = ValidationError({"after": ["Invalid cursor: pass a next_cursor of this feed."]})
        if len(cursor) > 64:
            raise invalid
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise invalid from None
        match = _CURSOR.fullmatch(raw)
        if match is None:
            raise invalid
        xid, seq = int(match[1]), int(match[2])
        if xid > MAX_POSITION or seq > MAX_POSITION:
            raise invalid
        return cls(xid=xid, seq=seq)


@dataclass(frozen=True)
class FeedPage:
    events: list[dict]
    next_cursor: str | None
    has_more: bool


# The bound below which every row that will ever commit is visible now (PostgreSQL): the
# oldest transaction still running in this database, else the first transaction id not yet
# given. Read before the feed's own statement, so that a transaction running when that
# statement's snapshot is taken is either counted here or was given its id after this
# statement began (at or above its ``xmax``). Transactions of other databases of the same
# server do not hold the feed back (``pg_snapshot_xmin`` would count them). ``backend_xid``
# is 32 bits: widened with the epoch of ``xmax`` (it is at most 2^31 transactions behind it).
_BOUND_SQL = """
SELECT LEAST(
    next.xmax,
    (SELECT MIN(next.xmax - ((next.xmax % 4294967296 - backend_xid::text::bigint + 4294967296) % 4294967296))
     FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL)
) FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) AS next
"""


def _serve_bound() -> int | None:
    """The feed position's ``feed_xid`` below which rows are served (PostgreSQL); None where
    rows are numbered in commit order (SQLite)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # the activity statistics are read once per transaction
            cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_BOUND_SQL)
        return cursor.fetchone()[0]


def _serveable(queryset):
    """Only the rows no later commit can precede (PostgreSQL: of transactions older than every
    one still running in this database); SQLite's counter is in commit order already."""
    bound = _serve_bound()
    if bound is not None:
        return queryset.filter(feed_xid__lt=bound)
    return queryset.filter(feed_seq__isnull=False)


def feed_page(*, owner_id: int, is_test: bool, after: str | None, limit: int) -> FeedPage:
    """The events of ``owner_id``'s side (``is_test``) after the cursor ``after`` (from the
    oldest kept when None), at most ``limit``, oldest first."""
    position = Position.decode(after) if after else None
    rows = Delivery.objects.filter(owner_id=owner_id, is_test=is_test)
    if position is not None:
        rows = rows.filter(Q(feed_xid__gt=position.xid) | Q(feed_xid=position.xid, feed_seq__gt=position.seq))
    rows = list(
        _serveable(rows)
        .order_by("feed_xid", "feed_seq")
        .values(*_FIELDS, "feed_xid", "feed_seq")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        last = rows[-1]
        next_cursor = Position(xid=last["feed_xid"], seq=last["feed_seq"]).encode()
    else:
        next_cursor = after
    return FeedPage(events=[_event(row) for row in rows], next_cursor=next_cursor, has_more=has_more)


def _event(row: dict) -> dict:
    return {
        "id": row["id"],
        "event": row["event"],
        "created_at": row["created_at"],
        "task_id": row["task_id"],
        "batch_name": row["batch__name"],
        "target": row["target"],
        "status": row["status"],
        "payload": json.loads(row["payload"]),
    }


def feed_wait(*, owner_id: int, is_test: bool, after: str | None, limit: int, wait: float) -> FeedPage:
    """``feed_page``, waiting up to ``wait`` seconds for an event when there is none yet: answered
    as soon as one of the side commits (``feed_news.feed_hub``), or empty after ``wait``.
    ``FeedWaitsExceeded`` when too many requests wait already (of the account, or in all in
    this process)."""
    page = feed_page(owner_id=owner_id, is_test=is_test, after=after, limit=limit)
    if page.events or wait <= 0:
        return page
    deadline = time.monotonic() + wait
    try:
        slot = feed_hub.waiting(
            owner_id=owner_id,
            is_test=is_test,
            per_account=settings.CALLBACK_FEED_WAITS_PER_ACCOUNT,
            per_process=settings.CALLBACK_FEED_WAITS,
        )
        with slot as news:
            recheck = None  # news came that brought nothing yet: look again soon, less and less often
            while True:
                news.clear()
                page = feed_page(owner_id=owner_id, is_test=is_test, after=after, limit=limit)
                remaining = deadline - time.monotonic()
                if page.events or remaining <= 0:
                    return page
                poll = POLL_WITH_NEWS if feed_hub.listening() else POLL_WITHOUT_NEWS
                if recheck is not None:
                    poll, recheck = recheck, min(recheck * 2, poll)
                if news.wait(min(remaining, poll)):
                    recheck = RECHECK_AFTER_NEWS
    except FeedWaitRefused as refused:
        raise FeedWaitsExceeded(str(refused), retry_after=1) from None
