"""The opt-in pause (SPEC §16) under a travelled clock: 121 h of 500s, probes every 2 h, the resume.

The clock is travelled with time-machine (``timezone.now`` follows it; the
engine's own pacing uses the monotonic clock, which it leaves alone). The
engine's stages run in this process against a real receiver: pick (the
production picking, which leaves paused targets alone), claim, send, record,
one delivery at a time, so the order the receiver sees is the picking's order.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from callbacks_app.engine import attempt_send, attempts_record, deliveries_claim, deliveries_to_send
from callbacks_app.models import Delivery, DeliveryAttempt, TargetHealth
from tasks_app.models import Task
from tasks_app.services import task_complete
from tests.factories import TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def pause_after_120_hours(settings):
    settings.CALLBACK_TARGET_PAUSE_AFTER_HOURS = 120
    settings.CALLBACK_TARGET_PROBE_MINUTES = 120
    settings.CALLBACK_RETRY_SCHEDULE = [3600.0] * 20  # hourly retries: 21 attempts in about 20 h


def send_what_is_due() -> int:
    """Pick, claim, send and record, one delivery at a time, until nothing is due; how many were sent."""
    sent = 0
    while ids := deliveries_to_send(now=timezone.now(), limit=1):
        for claim in deliveries_claim(ids=ids):
            result = attempt_send(
                delivery=claim.delivery,
                headers=claim.headers,
                account_networks=claim.profile.allowed_networks,
            )
            attempts_record(results=[(claim, result)])
            sent += 1
    return sent


def next_event(until: datetime) -> datetime:
    """When something falls due next: a retry of a target not paused, a probe, or ``until``."""
    now = timezone.now()
    paused = list(TargetHealth.objects.filter(state="paused"))
    pending = Delivery.objects.filter(status="pending", next_attempt_at__gt=now)
    for row in paused:
        pending = pending.exclude(owner_id=row.owner_id, target_origin=row.origin)
    times = [until, *pending.values_list("next_attempt_at", flat=True)]
    times += [row.next_probe_at for row in paused if row.next_probe_at and row.next_probe_at > now]
    return min(times)


def run_until(traveller, until: datetime, *, new_task_every: timedelta | None = None, account=None, url=None):
    """Travel to each due time up to ``until``, sending what falls due (and completing a new task
    every ``new_task_every``)."""
    next_task = timezone.now()
    while timezone.now() < until:
        if new_task_every and timezone.now() >= next_task:
            complete_task(account, url)
            next_task += new_task_every
        send_what_is_due()
        step = next_event(min(until, next_task) if new_task_every else until)
        traveller.move_to(max(step, timezone.now()) + timedelta(seconds=0.5))


def complete_task(account, url: str) -> Task:
    task = TaskFactory(owner=account.user, callback_url=url)
    task_complete(task_id=task.id, response={"category": "red"})
    return task


def test_121_hours_of_500s_pause_then_probes_every_2_hours_then_a_2xx_resumes_oldest_first(
    pause_after_120_hours, account, receiver
):
    receiver.answer(Answer(500, b"down"))
    with time_machine.travel(START, tick=True) as traveller:
        # Given 121 h of 500s (a new callback every 6 h, each retried hourly)
        run_until(traveller, START + 121 * HOUR, new_task_every=6 * HOUR, account=account, url=receiver.url)
        health = TargetHealth.objects.get()
        assert health.state == "paused"
        paused_at = health.paused_at
        assert paused_at - health.first_failure_at >= 120 * HOUR
        assert Delivery.objects.filter(status="pending").exists()
        attempts_while_running = DeliveryAttempt.objects.count()

        # When 25 h pass (a callback comes meanwhile), the probes fail: only they go out, every 2 h ± 5 s
        complete_task(account, receiver.url)
        run_until(traveller, paused_at + 25 * HOUR)
        probes = list(
            DeliveryAttempt.objects.filter(started_at__gt=paused_at)
            .order_by("started_at")
            .values_list("started_at", flat=True)
        )
        assert DeliveryAttempt.objects.count() == attempts_while_running + len(probes)
        assert len(probes) == 12
        for earlier, later in zip([paused_at, *probes], probes, strict=False):
            assert abs((later - earlier) - 2 * HOUR) <= timedelta(seconds=5)

        # Then a probe's 2xx releases the held deliveries, oldest first, and callback_succeeded follows
        receiver.answer(Answer(200))
        released_from = len(receiver.requests)
        waiting = list(
            Delivery.objects.filter(status="pending").order_by("next_attempt_at").values_list("id", flat=True)
        )
        run_until(traveller, paused_at + 27 * HOUR)
        health.refresh_from_db()
        assert health.state == "healthy"
        assert not Delivery.objects.filter(status="pending").exists()
        # None ran out of its window while held; a probe is a real attempt, and may be a delivery's last
        failed_since = Delivery.objects.filter(status="failed", finished_at__gt=paused_at)
        assert set(failed_since.values_list("attempt_count", flat=True)) <= {21}
        released = [r.header("webhook-id") for r in receiver.requests[released_from:]]
        assert released == waiting  # the probe (the oldest due), then the others, oldest due first
        released_tasks = Task.objects.filter(deliveries__id__in=waiting)
        assert len(released_tasks) == len(waiting) >= 2
        assert all(task.callback_succeeded and task.callback_succeeded_at for task in released_tasks)


def test_a_target_paused_by_hand_holds_its_callbacks_until_its_probe_succeeds(
    customer, account, receiver, settings
):
    settings.CALLBACK_TARGET_PROBE_MINUTES = 120
    with time_machine.travel(START, tick=True) as traveller:
        complete_task(account, receiver.url)
        send_what_is_due()
        target = TargetHealth.objects.get()
        assert customer.post(f"/v1/callback_targets/{target.id}/pause").status_code == 200

        # Callbacks completed meanwhile wait: nothing goes out before the probe
        tasks = [complete_task(account, receiver.url) for _ in range(3)]
        traveller.shift(HOUR)
        assert send_what_is_due() == 0
        assert len(receiver.requests) == 1

        # The probe (the oldest) at 2 h succeeds: the others follow, and nothing is emailed
        traveller.shift(HOUR + timedelta(seconds=1))
        assert send_what_is_due() == 3
        assert [r.json()["task_id"] for r in receiver.requests[1:]] == [t.id for t in tasks]
        target.refresh_from_db()
        assert target.state == "healthy"
        assert list(target.alerts.values_list("kind", flat=True)) == ["target.paused"]
