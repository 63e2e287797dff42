"""Database helpers shared by the apps."""

from django.db import connection


def update_each(*, per_row: str, per_batch: str, rows: list[tuple]) -> None:
    """Run the UPDATE ``per_row`` once for each of ``rows``, in one statement on PostgreSQL.

    On PostgreSQL, ``per_batch`` runs instead: the same UPDATE joined to the
    rows passed as arrays, one per column (``FROM unnest(...)``), so the
    server parses, plans and runs one statement per batch instead of one per
    row (docs/benchmarks.md has the figures). SQLite runs ``per_row`` with
    ``executemany``, which reuses one prepared statement.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(per_batch, [list(column) for column in zip(*rows, strict=True)])
        else:
            cursor.executemany(per_row, rows)
