"""Scale-out (SPEC §10): three clusters on one database and broker, one SIGKILLed midway.

Every callback must arrive; none may be sent twice except where an attempt
was cut off by the kill (its worker died between sending and recording), and
those are counted and reported.
"""

import collections

import pytest

from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.models import Task
from tasks_app.services import task_complete
from tests.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

CALLBACKS = 5_000


def test_three_clusters_deliver_every_callback_when_one_is_killed_midway(
    start_cluster, account, receiver, capsys
):
    # Short timeouts: a killed worker's deliveries are taken over when their
    # send lease (connect + total + 10 s) runs out.
    env = {"CALLBACK_CONNECT_TIMEOUT": "1", "CALLBACK_TIMEOUT": "3"}
    doomed, *_ = [start_cluster(**env) for _ in range(3)]
    tasks = Task.objects.bulk_create(
        Task(
            owner=account.user,
            type="categorization",
            params={
                "attachment_type": "text",
                "attachment": "tomato",
                "categories": ["red", "blue"],
                "allow_multiple": False,
            },
            callback_url=receiver.url,
        )
        for _ in range(CALLBACKS)
    )

    for number, task in enumerate(tasks):
        task_complete(task_id=task.id, response={"category": "red"})
        if number == CALLBACKS // 2:
            doomed.kill()  # SIGKILL, every process of the cluster

    def succeeded():
        return Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count()

    wait_until(lambda: succeeded() >= CALLBACKS, 240, "not every callback was delivered", interval=0.1)
    assert succeeded() >= CALLBACKS

    received = collections.Counter(r.header("webhook-id") for r in receiver.requests)
    assert set(received) == set(Delivery.objects.values_list("id", flat=True))
    by_attempt = collections.Counter(
        (r.header("webhook-id"), r.header("scale-callback-attempt")) for r in receiver.requests
    )
    assert max(by_attempt.values()) == 1  # no attempt of any delivery was sent twice
    sent_twice = {delivery_id for delivery_id, n in received.items() if n > 1}
    cut_off = set(
        DeliveryAttempt.objects.filter(error=DeliveryAttempt.UNFINISHED).values_list("delivery_id", flat=True)
    )
    assert sent_twice <= cut_off  # a second send only where the kill cut an attempt off
    with capsys.disabled():
        print(
            f"\nscale-out: {CALLBACKS} callbacks, 3 clusters, one SIGKILLed at {CALLBACKS // 2}: "
            f"{len(cut_off)} attempts cut off by the kill, {len(sent_twice)} callbacks received twice"
        )
