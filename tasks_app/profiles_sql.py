"""The accounts' profiles a claim sends with, in hand-written SQL: one statement per claim.

Every batch the engine claims needs its accounts' profiles (callback auth keys, signing
secrets, allowed networks: ``callbacks_app.engine.leases.deliveries_claim``), so their read is
paid per claim; through the ORM it was compiled anew each time. Here its text is built once
per connection (``scalehooks.db.per_connection``), the ids passed as one array on PostgreSQL,
and the values go through the fields' own conversions, so that the profiles are what the ORM
would have read (tests/tasks_app/test_profiles_sql.py, on both backends).
"""

from scalehooks.db import field_converters, from_row, one_of, per_connection
from tasks_app.models import Profile

_FIELDS = tuple(Profile._meta.concrete_fields)
_ATTNAMES = [field.attname for field in _FIELDS]


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        self.profiles = (
            f"SELECT {', '.join(q(field.column) for field in _FIELDS)} FROM {q(Profile._meta.db_table)} "
            f"WHERE {q(Profile._meta.get_field('user').column)} "
        )
        self.converters = field_converters(conn, Profile, _FIELDS)


_connection = per_connection(_Statements)


def profiles_of(*, user_ids) -> dict[int, Profile]:
    """The profiles (keys, secrets, callback settings) of these accounts' users, by user id."""
    user_ids = list(user_ids)
    if not user_ids:
        return {}
    conn, st = _connection()
    condition, params = one_of(Profile._meta.get_field("user"), conn, user_ids)
    with conn.cursor() as cursor:
        cursor.execute(st.profiles + condition, params)
        rows = cursor.fetchall()
    profiles = (Profile.from_db(conn.alias, _ATTNAMES, from_row(conn, st.converters, row)) for row in rows)
    return {profile.user_id: profile for profile in profiles}
