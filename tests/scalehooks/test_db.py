"""``scalehooks.db``: the hot paths' statement texts built once per connection, and lists of
values passed as arrays through Django's own cursor."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "auth_group"
BASE_DIR = Path(__file__).resolve().parent.parent.parent


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


@pytest.fixture(params=[True, False], ids=["server-side binding", "client-side binding"])
def binding(request):
    """On PostgreSQL, the connection reopened with ``server_side_binding`` on, then off (Django's
    default); the suite's settings again afterwards."""
    if connection.vendor != "postgresql":
        if not request.param:
            pytest.skip("binding is PostgreSQL's")
        yield
        return
    options = connection.settings_dict["OPTIONS"]
    before = options.get("server_side_binding")
    options["server_side_binding"] = request.param
    connection.close()
    yield
    options["server_side_binding"] = before
    connection.close()


def test_one_of_and_update_each_pass_awkward_values_through_djangos_cursor(binding):
    """``one_of``'s and ``update_each``'s arrays (``%b`` on PostgreSQL: binary with server-side
    binding, quoted with client-side) carry quotes, backslashes, braces, commas and non-ASCII text
    intact."""
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


def _database_settings(**env) -> dict:
    """``DATABASES["default"]`` as scalehooks.settings makes it on PostgreSQL from ``env``."""
    code = (
        "import json; from scalehooks import settings as s; d = s.DATABASES['default']; "
        "print(json.dumps({**d['OPTIONS'], 'no_cursors': d['DISABLE_SERVER_SIDE_CURSORS']}))"
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")},
        "ENV_FILE": os.devnull,
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://someone@db.example:5432/scalehooks",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_the_database_options_come_from_the_environment():
    """Prepared statements and server-side binding only through Django's own OPTIONS: by default
    both (a direct connection), and what a PgBouncer user sets (docs/deployment.md)."""
    default = _database_settings()
    assert (default["server_side_binding"], default["prepare_threshold"], default["no_cursors"]) == (
        True,
        5,
        False,
    )
    assert "idle_in_transaction_session_timeout=5000" in default["options"]
    pgbouncer = _database_settings(
        DATABASE_PREPARE_THRESHOLD="",
        DATABASE_DISABLE_SERVER_SIDE_CURSORS="true",
        DATABASE_IDLE_IN_TRANSACTION_TIMEOUT="0",
    )
    assert pgbouncer == {"server_side_binding": True, "prepare_threshold": None, "no_cursors": True}
    client = _database_settings(DATABASE_SERVER_SIDE_BINDING="false", DATABASE_PREPARE_THRESHOLD="0")
    assert (client["server_side_binding"], client["prepare_threshold"]) == (False, 0)
