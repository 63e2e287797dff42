"""The delivery row of a completion in hand-written SQL: one prepared ``INSERT`` per callback.

Every completion records its callback's delivery (``services.callback_delivery_create``,
in the completion's transaction). Through the ORM, ``Delivery.objects.create``
compiled the 16-column ``INSERT`` anew for each one (docs/benchmarks.md, issue 15);
here the statement is built once per connection and every value goes through its
field's own ``get_db_prep_save``, so the row is what the ORM would have written.
On PostgreSQL the completion writes the same row in the statement that changes the
task: this module gives its part (``delivery_insert_part``), ``tasks_app.completion_sql``
its own, and ``scalehooks.db.change_then_insert`` runs the two as one.

The rule (docs/architecture.md): hand-written SQL only in the module of its hot
path, the same text on SQLite and PostgreSQL, tested on both
(tests/callbacks_app/test_delivery_sql.py). Only ``callbacks_app`` tables here.
"""

from callbacks_app.models import Delivery
from scalehooks.db import per_connection

# Not the columns the database fills (``db_default``: the feed's position, models/feed.py).
_FIELDS = tuple(field for field in Delivery._meta.concrete_fields if not field.has_db_default())


class _Statements:
    def __init__(self, conn):
        quote = conn.ops.quote_name
        self.head = (
            f"INSERT INTO {quote(Delivery._meta.db_table)} ({', '.join(quote(f.column) for f in _FIELDS)})"
        )
        self.insert = f"{self.head} VALUES ({', '.join(['%s'] * len(_FIELDS))})"
        # The row selected instead, in a statement that selects it from another app's part
        # (``delivery_insert_part``).
        self.insert_selected = f"{self.head} SELECT " + ", ".join(
            f"CAST(%s AS {field.db_type(conn)})" for field in _FIELDS
        )


_connection = per_connection(_Statements)


def delivery_insert(delivery: Delivery, *, now) -> Delivery:
    """Store the new ``delivery`` (its ``created_at`` = ``now``) in one ``INSERT``; the same object, saved.

    The caller fills what ``Delivery.save`` would (``owner_id``, ``target_origin``).
    """
    conn, statements = _connection()
    with conn.cursor() as cursor:
        cursor.execute(statements.insert, delivery_params(delivery, now=now))
    return delivery_saved(delivery)


def delivery_insert_part(delivery: Delivery, *, now) -> tuple[str, list]:
    """The ``INSERT … SELECT`` (no ``FROM``) of the new ``delivery``'s row (as ``delivery_insert``
    writes it) and its parameters: the part of a statement that inserts the row once per row
    it selects from (``scalehooks.db.change_then_insert``); ``delivery_saved`` once it did.

    Each value is cast to its column's type: a select list does not take the types of the
    columns it is inserted into.
    """
    statements = _connection()[1]
    return statements.insert_selected, delivery_params(delivery, now=now)


def delivery_params(delivery: Delivery, *, now) -> list:
    """The values of ``delivery``'s row as ``delivery_insert`` writes it (``created_at`` = ``now``)."""
    conn = _connection()[0]
    delivery.created_at = now
    return [field.get_db_prep_save(getattr(delivery, field.attname), conn) for field in _FIELDS]


def delivery_saved(delivery: Delivery) -> Delivery:
    """``delivery`` marked as stored, once a statement wrote its ``delivery_params``."""
    delivery._state.adding = False
    delivery._state.db = _connection()[0].alias
    return delivery
