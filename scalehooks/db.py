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
    values, so that it can be prepared, each array sent in the binary format (``hot_cursor``)."""
    return ", ".join(f"%b::{db_type}[]" for db_type in db_types)


def one_of(field, conn, values) -> tuple[str, list]:
    """The condition that ``field``'s column is one of ``values``, to follow the column's name,
    and its parameters: on PostgreSQL one array (``= ANY(%b::bigint[])``, a text that does not
    vary with the number of values, so that it can be prepared), elsewhere ``IN (%s, …)``."""
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
    with hot_cursor(connection) as cursor:
        cursor.execute(sql, [*change[1], *insert[1]])
        return cursor.rowcount == 1


def update_each(*, per_row: str, per_batch: str, rows: list[tuple]) -> None:
    """Run the statement ``per_row`` once for each of ``rows``, in one statement on PostgreSQL.

    On PostgreSQL, ``per_batch`` runs instead: the same UPDATE joined to the
    rows passed as arrays, one per column (``FROM unnest(%b::integer[], ...)``: ``arrays_of``,
    binary: see ``hot_cursor``), or the same upsert selecting from them, so the
    server parses, plans and runs one statement per batch instead of one per row
    (docs/benchmarks.md has the figures). SQLite runs ``per_row`` with
    ``executemany``, which reuses one prepared statement.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        # One text whatever the number of rows: prepared once per connection (``hot_cursor``).
        with hot_cursor(connection) as cursor:
            cursor.execute(per_batch, [list(column) for column in zip(*rows, strict=True)])
        return
    with connection.cursor() as cursor:
        cursor.executemany(per_row, rows)


# psycopg prepares a statement only where its connection allows it: Django turns
# preparing off (``prepare_threshold = None``, for connection poolers). A hot-path
# cursor turns it on for its own connection, with a threshold no statement
# reaches: nothing is prepared unless it asks (``prepare=True``).
_NEVER_BY_COUNT = 2**31 - 1


class _PreparingCursor:
    """A psycopg server-side-binding cursor on the Django connection ``db`` (same session, same
    transaction), with Django's checks and error translation around each call."""

    def __init__(self, db):
        self.db = db
        pg = db.connection
        if pg.prepare_threshold is None:
            pg.prepare_threshold = _NEVER_BY_COUNT
        cursors = db.__dict__.setdefault("_hot_cursors", {})
        cursor = cursors.get(id(pg))
        if cursor is None or cursor.connection is not pg or cursor.closed:
            cursors.clear()  # a cursor of a closed connection goes with it
            cursor = cursors[id(pg)] = _psycopg().Cursor(pg)
        self.cursor = cursor

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql: str, params, *, prepare: bool = True):
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            self.cursor.execute(sql, params, prepare=prepare)
        return self

    def fetchone(self):
        with self.db.wrap_database_errors:
            return self.cursor.fetchone()

    def fetchall(self):
        with self.db.wrap_database_errors:
            return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


def _psycopg():
    import psycopg

    return psycopg


def hot_cursor(db):
    """A cursor for the statements of a hot path (``completion_sql``, ``delivery_sql``,
    ``claim_sql``): on PostgreSQL, psycopg's server-side binding, each statement prepared once
    per connection (``execute(..., prepare=False)`` for one whose text varies, e.g. its number
    of rows); elsewhere, or while queries are logged (``DEBUG``, ``CaptureQueriesContext``),
    Django's own cursor.

    Django's client-side binding (``ClientCursor``) makes PostgreSQL parse and plan
    every statement anew and quotes every value in Python; a prepared statement is
    parsed and planned once. The values are what the fields' database conversions
    produce either way (docs/benchmarks.md, issue 15).

    An array's placeholder is ``%b`` (``array_of``): psycopg sends it in the binary format.
    Its text format escapes every element with a regular expression, which cost a quarter
    of the client's CPU in writing a batch of attempts (``bench/hot_cpu.py``). Django's
    client-side cursor quotes it as any value.
    """
    if db.vendor != "postgresql" or db.queries_logged:
        return _DjangoCursor(db.cursor())
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    return _PreparingCursor(db)


class _DjangoCursor:
    """Django's cursor, taking (and ignoring) ``prepare``."""

    def __init__(self, cursor):
        self.cursor = cursor

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cursor.close()
        return False

    def execute(self, sql: str, params, *, prepare: bool = True):
        self.cursor.execute(sql, params)
        return self

    def fetchone(self):
        return self.cursor.fetchone()

    def fetchall(self):
        return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount
