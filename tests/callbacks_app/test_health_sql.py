"""Target health's hand-written statements (``callbacks_app.health_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``), each against what the ORM reads and writes."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from callbacks_app import health_sql
from callbacks_app.health import slot_of
from callbacks_app.models import TargetHealth, TargetHealthSlot

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(account, other_account):
    """Health rows of two accounts, two modes and three origins; one with a slot now, one with an older slot."""
    me, them = account.user.id, other_account.user.id
    made = {
        key: TargetHealth.objects.create(owner_id=key[0], mode=key[1], origin=key[2])
        for key in [
            (me, "live", "http://a.example"),
            (me, "test", "http://a.example"),
            (me, "live", "http://b.example"),
            (them, "live", "http://a.example"),
            (them, "live", "http://c.example"),
        ]
    }
    now = slot_of(timezone.now())
    row = made[(me, "live", "http://a.example")]
    row.state, row.consecutive_failures, row.first_failure_at = "failing", 7, now - timedelta(minutes=3)
    row.save()
    TargetHealthSlot.objects.create(
        health=row, start=now, attempts=5, succeeded=3, exhausted=1, durations=[1, 2, 0]
    )
    TargetHealthSlot.objects.create(
        health=made[(me, "live", "http://b.example")], start=now - timedelta(minutes=10), attempts=9
    )
    return now, made


def test_rows_locked_reads_the_rows_of_the_keys_asked_with_their_slot_of_now(rows, account, other_account):
    now, made = rows
    me, them = account.user.id, other_account.user.id
    keys = [
        (me, "live", "http://a.example"),
        (me, "live", "http://b.example"),
        (them, "live", "http://c.example"),
    ]
    with transaction.atomic():
        found = health_sql.rows_locked(keys=[*keys, (me, "live", "http://missing.example")], slot_start=now)
    # The three lists also match (me, test, a) and (them, live, a): those are not returned.
    assert set(found) == set(keys)
    for key in keys:
        row, _ = found[key]
        expected = TargetHealth.objects.get(pk=made[key].pk)
        assert {f.attname: getattr(row, f.attname) for f in TargetHealth._meta.concrete_fields} == {
            f.attname: getattr(expected, f.attname) for f in TargetHealth._meta.concrete_fields
        }
        assert row._state.adding is False
    row, slot = found[(me, "live", "http://a.example")]
    assert row.state == "failing" and row.first_failure_at == now - timedelta(minutes=3)
    expected = TargetHealthSlot.objects.get(health=row, start=now)
    assert (slot.id, slot.health_id, slot.start) == (expected.id, row.id, now)
    assert (slot.attempts, slot.succeeded, slot.exhausted, slot.durations) == (5, 3, 1, [1, 2, 0])
    assert found[(me, "live", "http://b.example")][1] is None  # its slot is an older one
    assert found[(them, "live", "http://c.example")][1] is None
    assert health_sql.rows_locked(keys=[], slot_start=now) == {}


def test_slots_write_inserts_new_slots_and_overwrites_the_counts_of_existing_ones(rows, account):
    now, made = rows
    me = account.user.id
    existing = TargetHealthSlot.objects.get(health=made[(me, "live", "http://a.example")], start=now)
    existing.attempts, existing.succeeded, existing.exhausted, existing.durations = 8, 4, 2, [3, 4, 1]
    new = TargetHealthSlot(
        health=made[(me, "live", "http://b.example")], start=now, attempts=2, succeeded=2, durations=[0, 2, 0]
    )
    with transaction.atomic():
        health_sql.slots_write([existing, new])
    stored = {
        (slot.health_id, slot.start): (slot.attempts, slot.succeeded, slot.exhausted, slot.durations)
        for slot in TargetHealthSlot.objects.all()
    }
    assert stored == {
        (existing.health_id, now): (8, 4, 2, [3, 4, 1]),
        (new.health_id, now): (2, 2, 0, [0, 2, 0]),
        (new.health_id, now - timedelta(minutes=10)): (9, 0, 0, []),  # another slot: untouched
    }
    health_sql.slots_write([])


@pytest.mark.django_db(transaction=True)
def test_rows_locked_holds_the_rows_it_read_until_the_transaction_ends(account, other_account):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite locks no rows: its write transaction serialises the recorders")
    mine = TargetHealth.objects.create(owner_id=account.user.id, mode="live", origin="http://a.example")
    theirs = TargetHealth.objects.create(
        owner_id=other_account.user.id, mode="live", origin="http://z.example"
    )
    seen = {}

    def other_transaction():
        try:
            with transaction.atomic():
                seen["theirs"] = [
                    row.id for row in TargetHealth.objects.select_for_update(nowait=True).filter(id=theirs.id)
                ]
                try:
                    list(TargetHealth.objects.select_for_update(nowait=True).filter(id=mine.id))
                    seen["mine"] = "taken"
                except DatabaseError:
                    seen["mine"] = "locked"
        finally:
            connections.close_all()

    with transaction.atomic():
        found = health_sql.rows_locked(
            keys=[(account.user.id, "live", "http://a.example")], slot_start=timezone.now()
        )
        assert list(found) == [(account.user.id, "live", "http://a.example")]
        thread = threading.Thread(target=other_transaction)
        thread.start()
        thread.join()
    assert seen == {"theirs": [theirs.id], "mine": "locked"}


@pytest.mark.django_db(transaction=True)
def test_two_recordings_of_one_target_at_once_count_both_batches_in_its_slot(account):
    """The second recording waits on the row's lock while the first writes its slot: it must
    then count into the slot as the first left it (found by two clusters recording at once)."""
    from callbacks_app.health import RecordedAttempt, targets_health_record

    now = timezone.now()

    def batch(n: int) -> list:
        return [
            RecordedAttempt(
                owner_id=account.user.id,
                mode="live",
                origin="http://shared.example",
                ok=True,
                duration_ms=5,
                status_code=200,
                error="",
                excerpt="",
                exhausted=False,
                delivery_id=f"msg_{n}_{i}",
            )
            for i in range(n)
        ]

    targets_health_record(attempts=batch(1), now=now)  # the row and its slot exist
    first_wrote, errors = threading.Event(), []

    def second():
        try:
            first_wrote.wait(10)
            with transaction.atomic():
                targets_health_record(attempts=batch(5), now=now)  # waits on the row's lock
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=second)
    thread.start()
    with transaction.atomic():
        targets_health_record(attempts=batch(3), now=now)
        first_wrote.set()
        time.sleep(0.5)  # the second recording starts its statement and waits on the lock
    thread.join(30)
    assert errors == []
    slot = TargetHealthSlot.objects.get(health__origin="http://shared.example", start=slot_of(now))
    assert (slot.attempts, slot.succeeded) == (9, 9)
    assert sum(slot.durations) == 9
