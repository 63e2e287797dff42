"""Receivers that drip their answer a byte a second (issue 16, point 2): an attempt ends, recorded as
timed out, within ``CALLBACK_TIMEOUT`` of its start, headers and body alike, and a delivery is never
in flight twice."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from callbacks_app.engine import attempt_send, callback_deliver, deliveries_claim
from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.services import task_complete
from tests.factories import TaskFactory
from tests.servers import DrippingReceiver
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 2  # CALLBACK_TIMEOUT of these tests, in seconds


@pytest.fixture(params=["head", "body"], ids=["dripping-headers", "dripping-body"])
def dripping(request):
    server = DrippingReceiver(drip=request.param)
    yield server
    server.close()


def completed(account, url) -> Delivery:
    task = TaskFactory(owner=account.user, callback_url=url)
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


def test_a_dripping_receivers_attempt_is_recorded_as_timed_out_within_the_timeout(
    account, dripping, settings
):
    settings.CALLBACK_TIMEOUT = TIMEOUT
    delivery = completed(account, dripping.url)

    started = time.monotonic()
    attempt = callback_deliver(delivery_id=delivery.id)
    recorded_after = time.monotonic() - started

    assert attempt.error.startswith(f"Timed out after {TIMEOUT} s"), attempt.error
    assert attempt.status_code is None if dripping.drip == "head" else attempt.status_code == 200
    assert not attempt.succeeded
    assert attempt.duration_ms <= (TIMEOUT + 1) * 1000
    assert recorded_after <= TIMEOUT + 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.leased_until is None


@pytest.mark.cluster
def test_a_dripping_receiver_never_sees_a_delivery_twice_at_once(account, dripping, start_cluster):
    start_cluster(CALLBACK_TIMEOUT=TIMEOUT, CALLBACK_CONNECT_TIMEOUT=1, CALLBACK_RETRY_SCHEDULE="0.2,0.2,0.2")
    delivery = completed(account, dripping.url)

    def finished_attempts():
        return list(
            DeliveryAttempt.objects.filter(delivery=delivery).exclude(error=DeliveryAttempt.UNFINISHED)
        )

    # Long enough for the send lease (connect + timeout + 10 s = 13 s) to run out during a
    # dripping attempt, which then went out a second time while the first was still read.
    wait_until(
        lambda: len(finished_attempts()) >= 3 or max(dripping.max_concurrent.values(), default=0) > 1,
        timeout=20,
        message=f"three attempts not recorded within 20 s: {finished_attempts()}",
    )
    assert dripping.max_concurrent == {delivery.id: 1}
    for attempt in finished_attempts():
        assert attempt.error.startswith(f"Timed out after {TIMEOUT} s"), attempt.error
        assert attempt.duration_ms <= (TIMEOUT + 1) * 1000


def test_an_attempt_whose_send_lease_is_nearly_over_is_not_sent(account, receiver):
    """An attempt that waited to start until its lease nearly ran out is not sent
    (another worker may take the delivery over at any moment): it never outlives its lease."""
    delivery = completed(account, receiver.url)
    (claim,) = deliveries_claim(ids=[delivery.id])
    claim.delivery.leased_until = timezone.now() + timedelta(seconds=1)

    sent = attempt_send(delivery=claim.delivery, headers=claim.headers)

    assert not sent.result.ok
    assert sent.result.error.startswith("Not sent: the send lease ran out")
    assert receiver.requests == []
