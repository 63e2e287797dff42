"""``scalehooks.db.hot_cursor``: the hot paths' cursor (on PostgreSQL, server-side binding and
prepared statements) behaves as Django's own inside transactions, savepoints and reconnections."""

import contextlib

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from scalehooks.db import hot_cursor

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "auth_group"


def _insert(name: str) -> None:
    with hot_cursor(connection) as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (name) VALUES (%s)", [name])


def _names() -> list[str]:
    with hot_cursor(connection) as cursor:
        cursor.execute(f"SELECT name FROM {TABLE} WHERE name LIKE %s ORDER BY name", ["hot-%"])
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_commits_and_rolls_back_with_the_atomic_block_around_it():
    with transaction.atomic():
        _insert("hot-kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        _insert("hot-lost")
        raise RuntimeError
    assert _names() == ["hot-kept"]


def test_a_savepoint_rolled_back_takes_its_statements_and_the_next_ones_still_run():
    with transaction.atomic():
        _insert("hot-outer")
        with pytest.raises(RuntimeError), transaction.atomic():
            _insert("hot-inner")
            raise RuntimeError
        _insert("hot-after")  # the same prepared statement, after the savepoint's rollback
    assert _names() == ["hot-after", "hot-outer"]


def test_database_errors_are_djangos_and_a_broken_transaction_refuses_more_statements():
    _insert("hot-unique")
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            _insert("hot-unique")
        with pytest.raises(transaction.TransactionManagementError):
            _insert("hot-refused")
    assert _names() == ["hot-unique"]


def test_the_statements_survive_a_closed_and_reopened_connection():
    _insert("hot-before-close")
    connection.close()
    _insert("hot-after-close")
    assert _names() == ["hot-after-close", "hot-before-close"]


def test_an_error_in_a_statement_is_a_django_database_error():
    with pytest.raises(DatabaseError), hot_cursor(connection) as cursor:
        cursor.execute("SELECT no_such_column FROM auth_group WHERE id = %s", [1])


def test_rowcount_and_fetchone():
    _insert("hot-one")
    with hot_cursor(connection) as cursor:
        cursor.execute(f"UPDATE {TABLE} SET name = %s WHERE name = %s", ["hot-two", "hot-one"])
        assert cursor.rowcount == 1
        cursor.execute(f"SELECT name FROM {TABLE} WHERE name = %s", ["hot-two"])
        assert cursor.fetchone() == ("hot-two",)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_on_postgresql_a_statement_is_prepared_once_per_connection():
    sql = f"SELECT name FROM {TABLE} WHERE id = %s"

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{TABLE}%"]
            )
            return cursor.fetchone()[0]

    for _ in range(3):
        with hot_cursor(connection) as cursor:
            cursor.execute(sql, [1])
    assert prepared() == 1
    connection.close()
    with hot_cursor(connection) as cursor:
        cursor.execute(sql, [1])
    assert prepared() == 1  # prepared anew on the new connection


def test_per_connection_builds_once_for_each_connection_and_a_thread_gets_its_own():
    import threading

    from django.db import connections

    from scalehooks.db import per_connection

    built = []

    def build(conn):
        built.append(conn)
        return object()

    of_default = per_connection(build)
    conn, first = of_default()
    assert of_default() == (conn, first)  # built once, then reused
    assert conn is connections["default"]

    other = {}

    def in_a_thread():
        other["pair"] = of_default()
        connections.close_all()

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    other_conn, other_value = other["pair"]
    assert other_conn is not conn
    assert other_value is not first
    assert built == [conn, other_conn]


@pytest.mark.parametrize("logged", [False, True], ids=["hot cursor", "queries logged: Django's cursor"])
def test_one_of_and_update_each_pass_awkward_values_through_either_cursor(logged):
    """``one_of``'s and ``update_each``'s arrays (``%b`` on PostgreSQL, binary there) carry quotes,
    backslashes, braces, commas and non-ASCII text intact, through the hot cursor and through
    Django's (client-side binding), which takes over while queries are logged."""
    from django.contrib.auth.models import Group
    from django.test.utils import CaptureQueriesContext

    from scalehooks.db import one_of, update_each

    awkward = ['hot-a"b', "hot-c\\d", "hot-{e,f}", "hot-'g'", "hot-Ω NULL"]
    for name in awkward:
        _insert(name)
    ids = dict(Group.objects.filter(name__in=awkward).values_list("name", "id"))
    field = Group._meta.get_field("name")
    renamed = [(f"{name}!", ids[name]) for name in awkward]
    with CaptureQueriesContext(connection) if logged else contextlib.nullcontext():
        condition, params = one_of(field, connection, awkward)
        with hot_cursor(connection) as cursor:
            cursor.execute(f"SELECT name FROM {TABLE} WHERE name {condition}", params)
            assert sorted(row[0] for row in cursor.fetchall()) == sorted(awkward)
        update_each(
            per_row=f"UPDATE {TABLE} SET name = %s WHERE id = %s",
            per_batch=(
                f"UPDATE {TABLE} AS g SET name = v.name FROM unnest(%b::varchar[], %b::integer[]) "
                "AS v(name, id) WHERE g.id = v.id"
            ),
            rows=renamed,
        )
    assert sorted(_names()) == sorted(name for name, _ in renamed)  # the database's collation aside
