"""Delivering in the foreground, in this thread: ``resend_callback --wait`` and the tests."""

import threading
import time
from collections.abc import Callable

from django.utils import timezone

from callbacks_app.engine.attempt import attempt_send
from callbacks_app.engine.leases import deliveries_claim
from callbacks_app.engine.recording import attempts_record
from callbacks_app.models import Delivery, DeliveryAttempt


def callback_deliver(*, delivery_id: str) -> DeliveryAttempt | None:
    """Make the next attempt of one delivery, in this thread, if it is due and free.

    Returns the recorded attempt, or None when there was nothing to do (not
    due, finished, or another worker holds it).
    """
    claims = deliveries_claim(ids=[delivery_id])
    if not claims:
        return None
    (claim,) = claims
    sent = attempt_send(
        delivery=claim.delivery, headers=claim.headers, account_networks=claim.account_networks
    )
    attempts_record(results=[(claim, sent)])
    claim.attempt.refresh_from_db()
    return claim.attempt


def deliveries_deliver_until_finished(
    *,
    delivery_ids: list[str],
    timeout: float | None = None,
    on_attempt: Callable[[DeliveryAttempt], None] | None = None,
    on_finished: Callable[[Delivery], None] | None = None,
    poll: float = 1.0,
    stop: threading.Event | None = None,
) -> dict[str, Delivery]:
    """Send deliveries from this process, attempt after attempt as each falls due, until all finish.

    Every attempt goes through ``callback_deliver``, so a django-q2 worker
    sending the same delivery meanwhile never runs concurrently with us (its
    attempts are not reported to ``on_attempt``). Returns the deliveries as
    they are at the end: unfinished ones when ``timeout`` seconds passed first
    (an attempt under way is finished and recorded first), or when ``stop`` was
    set (checked between attempts and while waiting for the next one).
    What is left stays pending in the ledger, due as before: the workers send it.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    stop = stop or threading.Event()
    remaining = list(delivery_ids)
    done: dict[str, Delivery] = {}
    while remaining and not stop.is_set():
        for delivery_id in list(remaining):
            if stop.is_set():
                break
            attempt = callback_deliver(delivery_id=delivery_id)
            if attempt is not None and on_attempt is not None:
                on_attempt(attempt)
            delivery = Delivery.objects.get(id=delivery_id)
            if delivery.is_finished:
                done[delivery_id] = delivery
                remaining.remove(delivery_id)
                if on_finished is not None:
                    on_finished(delivery)
        if not remaining or stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
            break
        now = timezone.now()
        due = [
            max(next_at or now, leased or now)
            for next_at, leased in Delivery.objects.filter(id__in=remaining).values_list(
                "next_attempt_at", "leased_until"
            )
        ]
        wait_for = min(((min(due) - now).total_seconds() if due else poll), poll)
        if deadline is not None:
            wait_for = min(wait_for, deadline - time.monotonic())
        stop.wait(max(wait_for, 0.05))
    for delivery_id in remaining:
        done[delivery_id] = Delivery.objects.get(id=delivery_id)
    return {delivery_id: done[delivery_id] for delivery_id in delivery_ids}
