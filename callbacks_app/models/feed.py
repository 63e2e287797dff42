"""The feed's position of a delivery (SPEC §17): database defaults, so that no INSERT names them.

A feed reader must never skip a row that commits after it read past its number. A
sequence alone does not give that: a transaction holding a lower number can commit after
a reader saw a higher one. So every delivery row carries a position of two numbers, filled
by the database as the row is inserted, whichever statement inserts it (the ORM, or the
hand-written ``INSERT``\\s of ``callbacks_app.delivery_sql``, which leave these columns out):

- PostgreSQL: ``feed_xid``, the inserting transaction's id (``pg_current_xact_id()``, an
  ``xid8`` as a ``bigint``), and ``feed_seq`` from a sequence. The feed serves only rows whose
  transaction id is below the oldest transaction still running
  (``pg_snapshot_xmin(pg_current_snapshot())``), in (``feed_xid``, ``feed_seq``) order: every
  row it will ever serve later sorts after the ones it served (``callbacks_app.feed``).
- SQLite: writes are serialized, so a counter in the writing transaction is in commit order.
  ``feed_xid`` is 0 and a trigger numbers ``feed_seq`` from a one-row counter table
  (migration 0019). A migration that remakes the delivery table on SQLite drops the trigger:
  ``tests/callbacks_app/test_feed.py::test_the_feed_numbering_is_installed`` catches it.
"""

from django.db import models

FEED_SEQUENCE = "callbacks_app_delivery_feed_seq"
FEED_COUNTER_TABLE = "callbacks_app_feedcounter"
FEED_TRIGGER = "callbacks_app_delivery_feed_seq"


class FeedXid(models.Func):
    """The inserting transaction's id on PostgreSQL; 0 elsewhere."""

    template = "(pg_current_xact_id()::text::bigint)"
    allowed_default = True
    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            return "0", []
        return self.template, []


class FeedSeq(models.Func):
    """The next number of the feed's sequence on PostgreSQL; NULL elsewhere (SQLite: the trigger)."""

    allowed_default = True
    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            return "NULL", []
        return f"nextval('{FEED_SEQUENCE}')", []
