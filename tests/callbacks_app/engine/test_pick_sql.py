"""The pick's hand-written statements (``callbacks_app.engine.pick_sql``), on the suite's backend
(SQLite, then PostgreSQL in ``make test-postgres``), each against what its ORM counterpart says."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from callbacks_app.engine import pick_sql
from callbacks_app.engine.picking import deliveries_due
from callbacks_app.models import Delivery, TargetHealth
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db


def delivery(task, **kwargs):
    return DeliveryFactory(task=task, owner_id=task.owner_id, payload="{}", **kwargs)


@pytest.fixture
def ledger(account, other_account):
    """Deliveries of two accounts to three origins, in every state the pick tells apart."""
    now = timezone.now()
    mine, theirs = TaskFactory(owner=account.user), TaskFactory(owner=other_account.user)
    rows = {}
    for name, task, url, kwargs in [
        ("due_a", mine, "http://a.example/1", {"next_attempt_at": now - timedelta(seconds=3)}),
        ("due_a_later", mine, "http://a.example/2", {"next_attempt_at": now - timedelta(seconds=1)}),
        ("due_b", mine, "http://b.example/x", {"next_attempt_at": now - timedelta(seconds=2)}),
        ("due_theirs", theirs, "http://c.example/", {"next_attempt_at": now - timedelta(seconds=5)}),
        (
            "lapsed",
            mine,
            "http://b.example/y",
            {"next_attempt_at": now - timedelta(seconds=4), "leased_until": now - timedelta(seconds=1)},
        ),
        (
            "held_a",
            mine,
            "http://a.example/3",
            {"next_attempt_at": now - timedelta(seconds=9), "leased_until": now + timedelta(seconds=30)},
        ),
        (
            "held_theirs",
            theirs,
            "http://a.example/4",
            {"next_attempt_at": now - timedelta(seconds=9), "leased_until": now + timedelta(seconds=30)},
        ),
        ("not_yet", mine, "http://a.example/5", {"next_attempt_at": now + timedelta(minutes=1)}),
    ]:
        rows[name] = delivery(task, status="pending", target=url, **kwargs)
    rows["finished"] = delivery(mine, target="http://a.example/6", next_attempt_at=now - timedelta(seconds=8))
    return now, rows


def test_sends_in_flight_counts_the_live_leases_per_origin_and_account(ledger):
    now, rows = ledger
    expected = set(
        Delivery.objects.filter(status=Delivery.Status.PENDING, leased_until__gte=now)
        .values_list("target_origin", "owner_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    got = set(pick_sql.sends_in_flight(now=now))
    assert got == expected
    held, held_theirs = rows["held_a"], rows["held_theirs"]
    assert got == {
        ("http://a.example:80", held.owner_id, 1),
        ("http://a.example:80", held_theirs.owner_id, 1),
    }


@pytest.mark.parametrize(
    "exclusions",
    [
        {},
        {"origins_out": {"http://a.example:80"}},
        {"accounts_out": "theirs"},
        {"ids_out": ["due_b", "lapsed"]},
        {"origins_out": {"http://b.example:80", "http://c.example:80"}, "ids_out": ["due_a"]},
    ],
    ids=["none", "origin", "account", "ids", "all-three"],
)
def test_due_candidates_are_the_orm_pick_oldest_first(ledger, exclusions):
    now, rows = ledger
    origins = set(exclusions.get("origins_out", ()))
    accounts = {rows["due_theirs"].owner_id} if exclusions.get("accounts_out") else set()
    ids = [rows[name].id for name in exclusions.get("ids_out", ())]
    expected = list(
        deliveries_due(now=now)
        .exclude(target_origin__in=origins)
        .exclude(owner_id__in=accounts)
        .exclude(id__in=ids)
        .order_by("next_attempt_at")
        .values_list("id", "owner_id", "target_origin")[:10]
    )

    got = pick_sql.due_candidates(now=now, window=10, origins_out=origins, accounts_out=accounts, ids_out=ids)

    assert [tuple(row) for row in got] == expected
    assert expected  # every case leaves something to pick


@pytest.mark.parametrize(
    "accounts_out",
    [["theirs"], [None], [None, "theirs"]],
    ids=["an-account", "the-operators", "both"],
)
def test_due_candidates_leave_out_the_operators_alerts_only_when_told(ledger, accounts_out):
    """An operators' alert belongs to no account (``owner_id`` NULL): leaving accounts out keeps it,
    leaving ``None`` out leaves it alone out."""
    now, rows = ledger
    alert = Delivery.objects.create(
        owner=None,
        event=Delivery.Event.OPS_ALERT,
        target="http://ops.example/alerts",
        payload="{}",
        status="pending",
        next_attempt_at=now - timedelta(seconds=6),
    )
    theirs = rows["due_theirs"].owner_id
    accounts = [theirs if a == "theirs" else a for a in accounts_out]
    expected = deliveries_due(now=now).exclude(owner_id__in=[a for a in accounts if a is not None])
    if None in accounts:
        expected = expected.exclude(owner__isnull=True)
    expected = list(expected.order_by("next_attempt_at").values_list("id", "owner_id", "target_origin")[:10])

    got = pick_sql.due_candidates(now=now, window=10, accounts_out=accounts)

    assert [tuple(row) for row in got] == expected
    assert (alert.id in [row[0] for row in got]) is (None not in accounts)
    assert rows["due_a"].id in [row[0] for row in got]


def test_due_candidates_take_only_the_window_of_the_oldest(ledger):
    now, rows = ledger
    got = pick_sql.due_candidates(now=now, window=2)
    assert [row[0] for row in got] == [rows["due_theirs"].id, rows["lapsed"].id]


def test_any_target_paused_sees_only_paused_targets(account):
    assert pick_sql.any_target_paused() is False
    health = TargetHealth.objects.create(
        owner=account.user, mode="live", origin="http://a.example", state=TargetHealth.State.FAILING
    )
    assert pick_sql.any_target_paused() is False
    health.state = TargetHealth.State.PAUSED
    health.save()
    assert pick_sql.any_target_paused() is True


def test_the_due_statement_reads_neither_the_sends_in_flight_nor_every_pending_row(ledger):
    """Its two parts come from the two indexes that hold only their rows (SQLite's plan, which
    the statement fixes: PostgreSQL's depends on its statistics)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip(
            "PostgreSQL chooses its plan by statistics (bench/ledger_scale.py prints it at 1,000,000 rows)"
        )
    now, _ = ledger
    sql, params = pick_sql.due_statement(now=now, window=128, accounts_out=[1])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [row[-1] for row in cursor.fetchall()]
    reads = [step for step in plan if "callbacks_app_delivery" in step]
    assert len(reads) == 2, plan
    assert "SEARCH callbacks_app_delivery USING INDEX delivery_unleased_due_idx" in reads[0]
    assert "SEARCH callbacks_app_delivery USING INDEX delivery_in_flight_origin_idx" in reads[1]
