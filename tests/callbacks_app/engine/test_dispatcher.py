"""The dispatcher (``engine.dispatcher``): its decisions as functions of its counts and the clock
(``Turn``), then the loop itself against a real receiver, in this thread and in a worker process."""

import itertools
import multiprocessing
import time

import pytest
from django.db import connections, transaction

from callbacks_app.engine import dispatcher
from callbacks_app.engine.dispatcher import PACE, Dispatcher, Turn, deliveries_dispatch, senders
from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.dispatching import run_dispatcher, stop
from tests.factories import TaskFactory
from tests.servers import Answer

GAP = PACE["claim_gap"]
LOW, HIGH = PACE["gap_rates"]


def completed(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


# --- Decisions, with an injected clock ---------------------------------------------------------


def test_a_new_dispatcher_claims_at_once():
    assert Turn(slots=8, channel=True).claim_due(now=0.0)


def test_a_woken_dispatcher_claims_at_once_below_the_gap_rate_and_after_the_gap_above_it():
    turn = Turn(slots=8, channel=True)
    turn.claimed(10.0, n=1, free=8, capped=False)
    turn.woken = True
    assert turn.claim_due(10.0)  # one claim a second: no gap
    for _ in range(int(HIGH)):  # claiming HIGH deliveries a second
        turn.claims.append((10.0, 1))
    assert not turn.claim_due(10.0)
    assert turn.sleep(10.0) == pytest.approx(GAP)
    assert turn.claim_due(10.0 + GAP)
    halfway = [(10.0, 1)] * int((LOW + HIGH) / 2)
    turn.claims.clear()
    turn.claims.extend(halfway)
    assert turn.claim_gap(10.0) == pytest.approx(GAP / 2, rel=0.05)
    assert turn.claim_gap(11.5) == 0  # a second later those claims no longer count


def test_dispatchers_that_share_the_wake_ups_gap_as_their_sum_would():
    """Four dispatchers each claiming a quarter of HIGH a second: together at the full rate, so
    each waits four gaps between its claims, and together they claim as often as one would."""
    turn = Turn(slots=8, channel=True, dispatchers=4)
    turn.claims.extend([(10.0, 1)] * int(HIGH / 4))
    assert turn.claim_gap(10.0) == pytest.approx(4 * GAP)
    alone = Turn(slots=8, channel=True)
    alone.claims.extend([(10.0, 1)] * int(HIGH / 4))
    assert alone.claim_gap(10.0) < GAP


def test_without_wake_ups_a_dispatcher_looks_more_rarely_the_longer_it_finds_nothing():
    turn = Turn(slots=8, channel=False)
    looks = []
    now = 0.0
    for _ in range(6):
        turn.claimed(now, n=0, free=8, capped=False)
        looks.append(round(turn.sleep(now), 3))
        now += looks[-1]
    assert looks == [0.04, 0.08, 0.16, 0.25, 0.25, 0.25]
    turn.claimed(now, n=3, free=8, capped=False)  # work: looks often again
    assert turn.sleep(now) == pytest.approx(PACE["poll_min"])


def test_with_wake_ups_a_dispatcher_looks_of_its_own_accord_every_second_or_when_a_retry_falls_due():
    turn = Turn(slots=8, channel=True)
    turn.claimed(0.0, n=0, free=8, capped=False)
    assert turn.sleep(0.0) == PACE["look_every"]
    turn.recorded(0.1, due_in=0.3)  # a retry of what it recorded
    assert turn.sleep(0.1) == pytest.approx(0.3)
    assert turn.claim_due(0.4)
    turn.claimed(0.4, n=1, free=8, capped=False)
    assert turn.sleep(0.4) == pytest.approx(PACE["look_every"])  # that retry is claimed: forgotten


def test_a_claim_that_fills_every_free_slot_is_followed_by_another_at_once():
    turn = Turn(slots=8, channel=True)
    turn.claimed(0.0, n=8, free=8, capped=False)
    assert turn.claim_due(0.0)
    turn.claimed(0.0, n=3, free=8, capped=False)
    assert not turn.claim_due(0.0)


def test_sends_that_come_back_while_an_origin_was_capped_make_room_for_a_claim_at_once():
    turn = Turn(slots=8, channel=True)
    turn.claimed(0.0, n=2, free=8, capped=True)
    assert not turn.claim_due(0.01)
    turn.came_back(0.01, 1)
    assert turn.claim_due(0.01)


def test_answers_are_recorded_at_once_after_a_quiet_spell_and_gathered_while_they_keep_coming():
    every = PACE["record_every"]
    turn = Turn(slots=8, channel=True, in_flight=5)
    turn.came_back(1.0, 1)
    assert turn.record_due(1.0)  # nothing recorded for a while: at once
    turn.recorded(1.0, due_in=None)
    turn.came_back(1.01, 2)
    assert not turn.record_due(1.01)  # gathered ...
    assert turn.sleep(1.01) <= every
    assert turn.record_due(1.01 + every)  # ... for at most record_every
    turn.in_flight = 0
    assert turn.record_due(1.02)  # nothing else in flight: nothing to gather for


# --- The loop ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_sends_and_records_every_due_delivery_then_leaves_when_idle(account, receiver):
    deliveries = [completed(TaskFactory(owner=account.user, callback_url=receiver.url)) for _ in range(30)]

    sent = deliveries_dispatch(idle_exit=0.05)

    assert sent == 30
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED
        assert (delivery.lease_token, delivery.leased_until) == (None, None)
        assert delivery.attempts.get().succeeded
    assert len(receiver.requests) == 30


@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_inside_a_transaction_records_in_that_transaction(account, receiver):
    with transaction.atomic():
        delivery = completed(TaskFactory(owner=account.user, callback_url=receiver.url))
        assert deliveries_dispatch(idle_exit=0.05) == 1
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_retry_is_claimed_when_it_falls_due_not_at_the_next_look(account, receiver, settings):
    """The dispatcher that recorded a failure looks again when its retry falls due (a second's
    look would leave a 0.2 s retry waiting up to 0.8 s more)."""
    settings.CALLBACK_RETRY_SCHEDULE = [0.2] * 3
    receiver.answer(Answer(500), Answer(500), Answer(200))
    completed(TaskFactory(owner=account.user, callback_url=receiver.url))
    d = Dispatcher(sender=senders)
    d.turn.channel = True  # as with Redis or PostgreSQL: looks of its own accord every second
    d.run(idle_exit=0.6)

    requests = receiver.requests
    assert len(requests) == 3
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(requests)]
    assert all(gap < 0.6 for gap in gaps), gaps


@pytest.mark.django_db(transaction=True)
def test_at_its_stop_a_dispatcher_lets_its_sends_finish_and_records_them(account, receiver):
    receiver.answer(Answer(delay=0.5))
    delivery = completed(TaskFactory(owner=account.user, callback_url=receiver.url))
    d, runner = run_dispatcher()
    receiver.wait_for(1, timeout=10)

    stop(d, runner)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


def _a_worker_process_ends_while_its_send_waits() -> None:
    """A django-q2 worker process whose dispatcher has a send in flight when the process ends
    (recycled after ``recycle`` jobs, or stopped), through multiprocessing's normal exit."""
    dispatcher.start_in_worker()
    time.sleep(0.5)  # the dispatcher claims and sends; the receiver answers after 1 s


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_that_ends_records_the_answers_of_its_sends_in_flight(account, receiver):
    """The answer comes within ``exit_wait``: recorded before the process is gone, not sent again
    once its lease runs out."""
    receiver.answer(Answer(delay=1.0))
    delivery = completed(TaskFactory(owner=account.user, callback_url=receiver.url))
    connections.close_all()  # the child process opens its own

    worker = multiprocessing.get_context("fork").Process(target=_a_worker_process_ends_while_its_send_waits)
    worker.start()
    worker.join(timeout=30)

    assert worker.exitcode == 0
    assert len(receiver.wait_for(1)) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts.get().succeeded
