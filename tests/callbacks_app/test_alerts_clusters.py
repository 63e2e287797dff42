"""Two real django-q2 clusters record attempts to one failing target at once (SPEC §16):
each transition, its alert and its email happen exactly once, the fan-out run by the clusters' own jobs."""

import collections

import pytest

from callbacks_app.models import Delivery, TargetAlert, TargetHealth
from tasks_app.models import Task
from tasks_app.services import task_complete
from tests.servers import Answer
from tests.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

CALLBACKS = 200


def complete_tasks(account, url: str, n: int) -> None:
    tasks = Task.objects.bulk_create(
        Task(
            owner=account.user,
            type="categorization",
            params={
                "attachment_type": "text",
                "attachment": "x",
                "categories": ["a", "b"],
                "allow_multiple": False,
            },
            callback_url=url,
        )
        for _ in range(n)
    )
    for task in tasks:
        task_complete(task_id=task.id, response={"category": "a"})


def subjects(smtp_server) -> collections.Counter:
    kinds = collections.Counter()
    for message in smtp_server.messages:
        subject = message.message["Subject"]
        kinds["failing" if "failing" in subject else "recovered" if "again" in subject else "gave up"] += 1
    return kinds


def test_two_clusters_recording_at_once_alert_and_email_once_per_transition(
    start_cluster, account, receiver, smtp_server
):
    env = {
        "CALLBACK_RETRY_SCHEDULE": "0.2,0.2",
        # Few sends per dispatcher, so that one cannot hold the whole backlog and both
        # clusters' dispatchers take a share of it.
        "CALLBACK_SENDS_IN_FLIGHT": "8",
        "EMAIL_URL": f"smtp://{smtp_server.host}:{smtp_server.port}",
    }
    clusters = [start_cluster(**env), start_cluster(**env)]
    # Slow enough that one cluster's 16 slots cannot take the whole backlog before the other
    # cluster's dispatchers look.
    receiver.answer(Answer(500, b"down", delay=0.1))

    # Given 200 callbacks failing three times each, sent and recorded by both clusters
    complete_tasks(account, receiver.url, CALLBACKS)
    wait_until(
        lambda: Delivery.objects.filter(status="failed").count() == CALLBACKS,
        120,
        "not every delivery failed",
    )
    # When the target answers again
    receiver.answer(Answer(200))
    complete_tasks(account, receiver.url, 20)
    wait_until(
        lambda: Delivery.objects.filter(status="succeeded").count() == 20, 60, "not every delivery succeeded"
    )
    smtp_server.wait_for(3, timeout=30)
    for cluster in clusters:
        cluster.stop()  # whatever a job was still sending is sent before it stops

    # Then each alert was recorded once and emailed once
    kinds = collections.Counter(TargetAlert.objects.values_list("kind", flat=True))
    assert kinds == {"target.failing": 1, "delivery.exhausted": 1, "target.recovered": 1}
    assert subjects(smtp_server) == {"failing": 1, "gave up": 1, "recovered": 1}
    health = TargetHealth.objects.get()
    assert health.state == "healthy"
    assert sum(s.attempts for s in health.slots.all()) == CALLBACKS * 3 + 20  # every attempt counted once
    # Both clusters sent and recorded attempts (their logs name each recorded attempt)
    assert all("HTTP 500" in cluster.output() for cluster in clusters)
