"""A target that recovers has its waiting deliveries sent at once, oldest first (SPEC §16; issue
26 item 6), not on their backed-off schedule; "retry waiting now" does the same by hand."""

from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.models import Delivery, TargetHealth
from callbacks_app.pausing import target_waiting_release
from tasks_app.services import task_complete
from tests.factories import DeliveryFactory, TaskFactory
from tests.servers import Answer
from tests.waiting import wait_until

HOUR = "3600"


def complete_tasks(account, url: str, n: int) -> list[str]:
    """``n`` tasks with ``url`` as callback_url, completed one after the other; their ids."""
    ids = []
    for _ in range(n):
        task = TaskFactory(owner=account.user, callback_url=url)
        task_complete(task_id=task.id, response={"category": "red"})
        ids.append(task.id)
    return ids


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_a_recovered_targets_waiting_deliveries_go_at_once_oldest_first(start_cluster, account, receiver):
    # One in flight at a time, so that "oldest first" is the order they arrive in.
    start_cluster(
        CALLBACK_RETRY_SCHEDULE=",".join([HOUR] * 3),
        CALLBACK_TARGET_ALERT_FAILURES="1",
        CALLBACK_MAX_IN_FLIGHT_PER_TARGET="1",
    )
    receiver.answer(Answer(500, b"down"))
    older = complete_tasks(account, receiver.url, 2)
    wait_until(
        lambda: Delivery.objects.filter(attempt_count=1, next_attempt_at__gt=timezone.now()).count() == 2,
        timeout=20,
        message="the two deliveries failed once and wait an hour",
    )
    waiting = list(Delivery.objects.order_by("created_at").values_list("id", flat=True))

    receiver.answer(Answer(200))  # the receiver is fixed
    complete_tasks(account, receiver.url, 1)  # its first 2xx since it failed: recovered

    arrivals = receiver.wait_for(5, timeout=20)  # 2 failures, the new one, then the 2 waiting
    resent = [request.headers["webhook-id"] for request in arrivals[3:]]
    assert resent == waiting, "the waiting deliveries went at once, oldest first"
    wait_until(
        lambda: (
            set(Delivery.objects.filter(task_id__in=older).values_list("status", flat=True)) == {"succeeded"}
        ),
        timeout=10,
        message="both recorded as succeeded",
    )


@pytest.mark.django_db
def test_retry_waiting_now_makes_them_due_oldest_first_and_leaves_a_waiting_resend(account, settings):
    settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET = 1  # each one due after the one before
    later = timezone.now() + timedelta(hours=1)
    task = TaskFactory(owner=account.user, status="completed")
    backed_off = [
        DeliveryFactory(
            task=task,
            owner=account.user,
            status="pending",
            attempt_count=1,
            first_attempt_at=timezone.now(),
            next_attempt_at=later,
            target="https://x.example/hook",
        )
        for _ in range(3)
    ]
    resend = DeliveryFactory(
        task=task,
        owner=account.user,
        status="pending",
        attempt_count=0,
        next_attempt_at=later,
        target="https://x.example/hook",
    )
    target = TargetHealth.objects.create(owner=account.user, mode="live", origin="https://x.example:443")

    assert target_waiting_release(target_id=target.id) == 3

    due = list(
        Delivery.objects.filter(id__in=[d.id for d in backed_off]).order_by("next_attempt_at", "created_at")
    )
    assert [d.id for d in due] == [d.id for d in backed_off]
    assert all(d.next_attempt_at <= timezone.now() for d in due)
    assert Delivery.objects.get(id=resend.id).next_attempt_at == later  # waits for the attempt in flight
