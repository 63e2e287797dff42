"""Database helpers shared by the apps."""

import weakref
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connection, connections


def per_connection(build: Callable) -> Callable[[], tuple]:
    """A function returning ``(conn, build(conn))`` for the default connection, ``build`` called
    once per connection object (each thread has its own): the hot-path modules' statement
    texts and value converters, made on first use and then reused with no compiling.

    Held weakly, so a connection's entry goes with it.
    """
    built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def of_default_connection():
        conn = connections[DEFAULT_DB_ALIAS]
        value = built.get(conn)
        if value is None:
            value = built[conn] = build(conn)
        return conn, value

    return of_default_connection


def field_converters(conn, model, fields) -> list[tuple]:
    """Each of ``fields``' column and the converters the ORM applies to its value as read
    (the backend's, then the field's: JSON decoded, datetimes made aware, ...), for ``from_row``."""
    table = model._meta.db_table
    found = []
    for field in fields:
        column = field.get_col(table)
        found.append((column, [*conn.ops.get_db_converters(column), *field.get_db_converters(conn)]))
    return found


def from_row(conn, converters: list[tuple], row) -> list:
    """``row``'s values (read by hand-written SQL) as the ORM would hold them (``field_converters``)."""
    values = []
    for (column, functions), value in zip(converters, row, strict=True):
        for function in functions:
            value = function(value, column, conn)
        values.append(value)
    return values


def array_of(field, conn) -> str:
    """The placeholder of an array of ``field``'s values on PostgreSQL (``%b::bigint[]``)."""
    return arrays_of(field.db_type(conn))


def arrays_of(*db_types: str) -> str:
    """The placeholders of arrays of these column types on PostgreSQL, comma-separated
    (``%b::integer[], %b::text[]``, for ``unnest``): a text that does not vary with the number of
    values. ``%b`` asks psycopg for the binary format where it binds on the server
    (``server_side_binding``), which spares the text format's escaping of every element; with
    Django's default client-side binding it quotes the array as ``%s`` would."""
    return ", ".join(f"%b::{db_type}[]" for db_type in db_types)


def one_of(field, conn, values) -> tuple[str, list]:
    """The condition that ``field``'s column is one of ``values``, to follow the column's name,
    and its parameters: on PostgreSQL one array (``= ANY(%b::bigint[])``, a text that does not
    vary with the number of values), elsewhere ``IN (%s, …)``."""
    if conn.vendor == "postgresql":
        return f"= ANY({array_of(field, conn)})", [list(values)]
    return "IN (" + ", ".join(["%s"] * len(values)) + ")", list(values)


def change_then_insert(*, change: tuple[str, list], insert: tuple[str, list]) -> bool:
    """``change`` (an ``UPDATE`` of at most one row, and its parameters) and ``insert`` (an
    ``INSERT … SELECT`` with no ``FROM``, and its parameters) as one statement, the insert made
    only if the change updated a row: True then, else nothing was written.

    Each app builds the SQL of its own table (the completion: ``tasks_app.completion_sql`` the
    task's change, ``callbacks_app.delivery_sql`` the delivery's insert); this composes them
    into one round trip. PostgreSQL only: the change runs as a ``WITH`` query, which SQLite only
    reads.
    """
    sql = f"WITH changed AS ({change[0]} RETURNING 1) {insert[0]} FROM changed"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*change[1], *insert[1]])
        return cursor.rowcount == 1


def update_each(*, per_row: str, per_batch: str, rows: list[tuple]) -> None:
    """Run the statement ``per_row`` once for each of ``rows``, in one statement on PostgreSQL.

    On PostgreSQL, ``per_batch`` runs instead: the same UPDATE joined to the
    rows passed as arrays, one per column (``FROM unnest(%b::integer[], ...)``: ``arrays_of``),
    or the same upsert selecting from them, so the server parses, plans and runs one statement
    per batch instead of one per row (docs/benchmarks.md has the figures), one text whatever
    the number of rows. SQLite runs ``per_row`` with ``executemany``, which reuses one
    prepared statement. Both on Django's cursor.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(per_batch, [list(column) for column in zip(*rows, strict=True)])
        else:
            cursor.executemany(per_row, rows)
