"""A session idle inside a transaction is ended by PostgreSQL (issue 28: a host cut from the
database mid-transaction held the rows other hosts record on past their send leases)."""

import pytest
from django.conf import settings
from django.db import connection, connections


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL session setting")
@pytest.mark.django_db(transaction=True)
def test_every_connection_ends_a_transaction_left_idle():
    """The fault harness (bench/faults.py --profile full, ORM broker) saw it: c2, partitioned from
    PostgreSQL for 22 s inside a transaction, kept its row locks; c3's recording waited for them,
    past its lease, and c1 sent the two callbacks again (both attempts recorded as succeeded)."""
    fresh = connections.create_connection("default")
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SHOW idle_in_transaction_session_timeout")
            shown = cursor.fetchone()[0]
    finally:
        fresh.close()
    assert shown != "0", "a session idle in a transaction keeps its locks for ever"
    expected_ms = int(settings.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT * 1000)  # the suite's: tests/settings.py
    assert shown in (f"{expected_ms}ms", f"{expected_ms // 1000}s", f"{expected_ms // 60000}min")
