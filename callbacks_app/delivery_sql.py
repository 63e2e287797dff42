"""The delivery row of a completion in hand-written SQL: one prepared ``INSERT`` per callback.

Every completion records its callback's delivery (``services.callback_delivery_create``,
in the completion's transaction). Through the ORM, ``Delivery.objects.create``
compiled the 16-column ``INSERT`` anew for each one (docs/benchmarks.md, issue 15);
here the statement is built once per connection and every value goes through its
field's own ``get_db_prep_save``, so the row is what the ORM would have written.

The rule (docs/architecture.md): hand-written SQL only in the module of its hot
path, the same text on SQLite and PostgreSQL, tested on both
(tests/callbacks_app/test_delivery_sql.py). Only ``callbacks_app`` tables here.
"""

from callbacks_app.models import Delivery
from scalehooks.db import hot_cursor, per_connection

_FIELDS = tuple(Delivery._meta.concrete_fields)


def _insert_sql(conn) -> str:
    quote = conn.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _FIELDS)
    marks = ", ".join(["%s"] * len(_FIELDS))
    return f"INSERT INTO {quote(Delivery._meta.db_table)} ({columns}) VALUES ({marks})"


_connection = per_connection(_insert_sql)


def delivery_insert(delivery: Delivery, *, now) -> Delivery:
    """Store the new ``delivery`` (its ``created_at`` = ``now``) in one ``INSERT``; the same object, saved.

    The caller fills what ``Delivery.save`` would (``owner_id``, ``target_origin``).
    """
    conn, insert = _connection()
    delivery.created_at = now
    params = [field.get_db_prep_save(getattr(delivery, field.attname), conn) for field in _FIELDS]
    with hot_cursor(conn) as cursor:
        cursor.execute(insert, params)
    delivery._state.adding = False
    delivery._state.db = conn.alias
    return delivery
