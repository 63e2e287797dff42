"""``scalehooks.db``: the hot paths' statement texts built once per connection, and lists of
values passed as arrays through Django's own cursor."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "auth_group"


def _insert(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (name) VALUES (%s)", [name])


def _names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {TABLE} WHERE name LIKE %s ORDER BY name", ["hot-%"])
        return [row[0] for row in cursor.fetchall()]


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


def test_one_of_and_update_each_pass_awkward_values_through_djangos_cursor():
    """``one_of``'s and ``update_each``'s arrays (``%b`` on PostgreSQL) carry quotes, backslashes,
    braces, commas and non-ASCII text intact."""
    from django.contrib.auth.models import Group

    from scalehooks.db import one_of, update_each

    awkward = ['hot-a"b', "hot-c\\d", "hot-{e,f}", "hot-'g'", "hot-Ω NULL"]
    for name in awkward:
        _insert(name)
    ids = dict(Group.objects.filter(name__in=awkward).values_list("name", "id"))
    field = Group._meta.get_field("name")
    renamed = [(f"{name}!", ids[name]) for name in awkward]
    condition, params = one_of(field, connection, awkward)
    with connection.cursor() as cursor:
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
