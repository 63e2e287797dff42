"""Which due deliveries a dispatcher picks (per-target caps, SPEC §10 isolation)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.engine.picking import (
    MAX_CANDIDATES,
    deliveries_pick,
    deliveries_to_send,
)
from callbacks_app.models import Delivery
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = pytest.mark.django_db

SLOTS = 384  # a dispatcher's slots (CALLBACK_SENDS_IN_FLIGHT) in these tests
PER_JOB_TARGET_SLOTS = SLOTS // 2  # of them one origin may hold


@pytest.fixture(autouse=True)
def _slots(settings):
    settings.CALLBACK_SENDS_IN_FLIGHT = SLOTS


HANGING, HEALTHY = "http://hanging.example/hook", "http://healthy.example/hook"


@pytest.fixture
def backlog(account):
    """200 due deliveries to a hanging target, older than 10 to a healthy one."""
    task = TaskFactory(owner=account.user)
    now = timezone.now()

    def make(target, count, age_seconds):
        return [
            DeliveryFactory(
                task=task,
                target=target,
                payload="{}",
                due=True,
                next_attempt_at=now - timedelta(seconds=age_seconds - i * 0.001),
            )
            for i in range(count)
        ]

    return make(HANGING, 200, 600), make(HEALTHY, 10, 60)


def test_a_target_at_its_cap_is_left_out_even_when_its_deliveries_are_the_oldest(backlog, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hanging, healthy = backlog
    Delivery.objects.filter(id__in=[d.id for d in hanging[:4]]).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )

    picked = deliveries_to_send(now=timezone.now(), limit=8)

    # The healthy target has a cap of 4 too.
    assert picked == [d.id for d in healthy[:4]]


def test_a_pick_that_leaves_a_target_at_its_cap_out_says_so(backlog, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hanging, healthy = backlog
    assert deliveries_pick(now=timezone.now(), limit=2).capped is False
    Delivery.objects.filter(id__in=[d.id for d in hanging[:4]]).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )

    picked = deliveries_pick(now=timezone.now(), limit=2)

    assert picked.ids == [d.id for d in healthy[:2]]
    assert picked.capped is True


def test_answered_sends_still_leased_no_longer_count_against_their_cap(backlog, account, settings):
    """A send answered but not yet recorded is still leased: the job says so (``answered``),
    and the pick counts its origin's room without it."""
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hanging, healthy = backlog
    Delivery.objects.filter(id__in=[d.id for d in hanging[:4]]).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )
    hanging_origin = Delivery.objects.get(id=hanging[0].id).target_origin
    answered = [(account.user.id, hanging_origin)] * 3  # three of the four came back

    picked = deliveries_pick(now=timezone.now(), limit=8, answered=lambda: answered)

    assert picked.ids == [hanging[4].id, hanging[5].id, hanging[6].id] + [d.id for d in healthy[:4]]
    assert picked.capped is True  # the hanging target is at its cap again


def test_a_target_below_its_cap_gets_only_the_room_left(backlog, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hanging, healthy = backlog
    Delivery.objects.filter(id=hanging[0].id).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )

    picked = deliveries_to_send(now=timezone.now(), limit=8)

    assert picked == [d.id for d in hanging[1:4]] + [d.id for d in healthy[:4]]


def test_one_target_holds_at_most_its_share_of_a_drain_jobs_slots(backlog, account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    hanging, healthy = backlog
    held = [(account.user.id, "http://hanging.example:80")] * (PER_JOB_TARGET_SLOTS - 2)

    picked = deliveries_to_send(now=timezone.now(), limit=32, held=held)

    assert len([d for d in picked if d in {h.id for h in hanging}]) == 2
    assert {d.id for d in healthy} <= set(picked)


# Per-origin caps and fair shares between accounts (issue 16, point 3).

HOSTILE = "http://hostile.example"


def due_deliveries(*, owner, targets, age_seconds):
    """One due delivery per target of ``targets`` (oldest first), for a task of ``owner``."""
    task = TaskFactory(owner=owner)
    now = timezone.now()
    return [
        DeliveryFactory(
            task=task,
            target=target,
            payload="{}",
            due=True,
            next_attempt_at=now - timedelta(seconds=age_seconds - i * 0.001),
        )
        for i, target in enumerate(targets)
    ]


def lease(deliveries):
    Delivery.objects.filter(id__in=[d.id for d in deliveries]).update(
        lease_token="held", leased_until=timezone.now() + timedelta(seconds=30)
    )


def test_the_cap_counts_an_origin_whatever_the_path_and_query(account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    # Twelve URLs of one origin that differ only in their path or query string.
    hostile = due_deliveries(
        owner=account.user,
        targets=[f"{HOSTILE}/hook?n={i % 12}" if i % 2 else f"{HOSTILE}/p{i % 12}" for i in range(60)],
        age_seconds=600,
    )
    healthy = due_deliveries(owner=account.user, targets=[HEALTHY] * 10, age_seconds=60)
    lease(hostile[:4])

    picked = deliveries_to_send(now=timezone.now(), limit=16)

    assert picked == [d.id for d in healthy[:4]]


def test_an_origin_below_its_cap_gets_only_the_room_left_whatever_its_urls(account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 4
    hostile = due_deliveries(
        owner=account.user, targets=[f"{HOSTILE}/hook?n={i}" for i in range(20)], age_seconds=600
    )
    lease(hostile[:1])

    picked = deliveries_to_send(now=timezone.now(), limit=16)

    assert picked == [d.id for d in hostile[1:4]]


def test_an_origin_holds_at_most_its_share_of_a_jobs_slots_whatever_its_urls(account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    hostile = due_deliveries(
        owner=account.user,
        targets=[f"{HOSTILE}/hook?n={i}" for i in range(PER_JOB_TARGET_SLOTS + 36)],
        age_seconds=600,
    )

    picked = deliveries_to_send(now=timezone.now(), limit=SLOTS)

    assert picked == [d.id for d in hostile[:PER_JOB_TARGET_SLOTS]]


def test_an_account_alone_gets_every_free_slot_of_the_job_across_its_origins(account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    # 300 due deliveries to 30 origins, one account: nobody else waits.
    backlog = due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 30}.example/hook" for i in range(300)],
        age_seconds=600,
    )

    assert deliveries_to_send(now=timezone.now(), limit=64) == [d.id for d in backlog[:64]]
    # With 60 of the job's slots already its own, the 4 free ones are its too.
    lease(backlog[:64])
    held = [(account.user.id, f"http://origin{i % 30}.example:80") for i in range(60)]
    assert deliveries_to_send(now=timezone.now(), limit=4, held=held) == [d.id for d in backlog[64:68]]


def test_a_job_with_many_free_slots_fills_them_past_a_capped_backlog_longer_than_one_query_reads(
    account, settings
):
    """A candidate query reads at most ``MAX_CANDIDATES`` rows; the passes after it look past
    the origin that the first filled, whose backlog alone is longer than that."""
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 8
    capped = due_deliveries(owner=account.user, targets=[HANGING] * (MAX_CANDIDATES + 50), age_seconds=600)
    others = due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 20}.example/hook" for i in range(100)],
        age_seconds=60,
    )

    picked = deliveries_pick(now=timezone.now(), limit=SLOTS)

    assert picked.ids == [d.id for d in capped[:8]] + [d.id for d in others]
    assert picked.capped


def test_another_accounts_callback_is_picked_before_an_older_backlog(account, other_account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 30}.example/hook" for i in range(600)],
        age_seconds=600,
    )
    (newcomer,) = due_deliveries(owner=other_account.user, targets=[HEALTHY], age_seconds=1)

    picked = deliveries_to_send(now=timezone.now(), limit=8)

    assert newcomer.id in picked
    assert len(picked) == 8


def test_another_account_gets_its_share_of_a_job_whose_slots_one_account_holds(
    account, other_account, settings
):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    hostile = due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 30}.example/hook" for i in range(600)],
        age_seconds=600,
    )
    lease(hostile[:SLOTS])
    held = [(account.user.id, f"http://origin{i % 30}.example:80") for i in range(SLOTS)]
    waiting = due_deliveries(owner=other_account.user, targets=[HEALTHY] * (SLOTS // 2 + 8), age_seconds=1)

    # No slot is free, yet the other account gets its share (half of the job's slots) at once;
    # the account that holds them all gets nothing more.
    picked = deliveries_to_send(now=timezone.now(), limit=0, held=held)

    assert picked == [d.id for d in waiting[: SLOTS // 2]]
    # Alone again, the account holding every slot gets none beyond them.
    Delivery.objects.filter(id__in=[d.id for d in waiting]).update(status="succeeded", next_attempt_at=None)
    assert deliveries_to_send(now=timezone.now(), limit=0, held=held) == []


def test_two_accounts_with_backlogs_share_a_jobs_slots(account, other_account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    first = due_deliveries(
        owner=account.user, targets=[f"http://a{i % 30}.example/hook" for i in range(300)], age_seconds=600
    )
    second = due_deliveries(
        owner=other_account.user,
        targets=[f"http://b{i % 30}.example/hook" for i in range(300)],
        age_seconds=300,
    )

    picked = set(deliveries_to_send(now=timezone.now(), limit=64))

    assert len(picked & {d.id for d in first}) == 32
    assert len(picked & {d.id for d in second}) == 32


# Operators' alerts (SPEC §6.1) belong to no account: a party of their own in the fair shares.

OPS = "http://ops.example/alerts"


def ops_alerts_due(count: int, *, age_seconds: float) -> list[Delivery]:
    now = timezone.now()
    return [
        Delivery.objects.create(
            owner=None,
            event=Delivery.Event.OPS_ALERT,
            target=OPS,
            payload="{}",
            status="pending",
            next_attempt_at=now - timedelta(seconds=age_seconds - i * 0.001),
        )
        for i in range(count)
    ]


def test_an_operators_alert_in_the_window_hides_no_other_accounts_work(account, other_account, settings):
    """The look past one account's backlog leaves out the accounts it saw: the operators' alert
    among them (no account) must not leave out everybody."""
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    (alert,) = ops_alerts_due(1, age_seconds=900)
    due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 30}.example/hook" for i in range(600)],
        age_seconds=600,
    )
    (newcomer,) = due_deliveries(owner=other_account.user, targets=[HEALTHY], age_seconds=1)

    picked = deliveries_to_send(now=timezone.now(), limit=8)

    assert newcomer.id in picked
    assert alert.id in picked
    assert len(picked) == 8


def test_an_operators_alert_gets_a_share_of_a_job_whose_slots_one_account_holds(account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    hostile = due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 30}.example/hook" for i in range(600)],
        age_seconds=600,
    )
    lease(hostile[:SLOTS])
    held = [(account.user.id, f"http://origin{i % 30}.example:80") for i in range(SLOTS)]
    alerts = ops_alerts_due(3, age_seconds=1)

    picked = deliveries_to_send(now=timezone.now(), limit=0, held=held)

    assert picked == [a.id for a in alerts]


def test_operators_alerts_in_flight_count_against_no_accounts_share(account, settings):
    """An account alone takes every free slot, whatever the operators' alerts in flight."""
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1000
    alerts = ops_alerts_due(4, age_seconds=900)
    lease(alerts)
    backlog = due_deliveries(
        owner=account.user,
        targets=[f"http://origin{i % 30}.example/hook" for i in range(100)],
        age_seconds=60,
    )

    picked = deliveries_to_send(now=timezone.now(), limit=16, held=[(None, "http://ops.example:80")] * 4)

    assert picked == [d.id for d in backlog[:16]]
