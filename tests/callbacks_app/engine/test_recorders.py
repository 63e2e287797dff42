"""A drain job's recording thread (``engine.recorders.JobRecorder``): the job claims while its
finished sends are written, and returns only once every one of them is."""

import multiprocessing
import threading
import time

import pytest
from django.db import connections, transaction

from callbacks_app import transport
from callbacks_app.engine import SendResult, deliveries_claim, drain, recorders
from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.factories import TaskFactory
from tests.servers import Answer


def completed(task) -> Delivery:
    task_complete(task_id=task.id, response={"category": "red"})
    return Delivery.objects.get(task=task)


@pytest.fixture
def writers(monkeypatch):
    """The names of the threads that record each batch."""
    names = []
    original = recorders.attempts_record

    def record(*, results, **kwargs):
        names.append(threading.current_thread().name)
        original(results=results, **kwargs)

    monkeypatch.setattr(recorders, "attempts_record", record)
    return names


@pytest.mark.django_db(transaction=True)
def test_a_drain_job_returns_with_every_send_recorded_by_its_recording_thread(account, receiver, writers):
    deliveries = [completed(TaskFactory(owner=account.user, callback_url=receiver.url)) for _ in range(30)]

    sent = drain.deliveries_drain(linger=0.05)

    assert sent == 30
    assert writers and set(writers) == {"scalehooks-recording"}  # not the job's own thread
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED
        assert (delivery.lease_token, delivery.leased_until) == (None, None)
        assert delivery.attempts.get().succeeded
    assert len(receiver.requests) == 30


@pytest.mark.django_db(transaction=True)
def test_a_drain_job_inside_a_transaction_records_in_that_transaction(account, receiver, writers):
    """Another thread's connection could not see what the job claimed in the caller's transaction."""
    with transaction.atomic():
        delivery = completed(TaskFactory(owner=account.user, callback_url=receiver.url))
        sent = drain.deliveries_drain(linger=0.05)
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.SUCCEEDED

    assert sent == 1
    assert writers == [threading.current_thread().name]


@pytest.mark.django_db(transaction=True)
def test_a_send_whose_record_is_committed_is_no_longer_listed_as_unrecorded(account, monkeypatch):
    """The pick counts the leases, then subtracts the job's answered but unrecorded sends: a send
    whose lease the record has released and still listed would be subtracted though not counted,
    and its origin given room beyond its cap (a whole batch's worth at one origin)."""
    deliveries = [
        completed(TaskFactory(owner=account.user, callback_url="http://127.0.0.1:9/hook")) for _ in range(3)
    ]
    claims = deliveries_claim(ids=[d.id for d in deliveries])
    seen = []
    original = recorders.attempts_record

    def record(**kwargs):
        original(**kwargs)  # committed
        released = not Delivery.objects.filter(
            id__in=[d.id for d in deliveries], leased_until__isnull=False
        ).exists()
        seen.append((released, recording.unrecorded()))

    monkeypatch.setattr(recorders, "attempts_record", record)
    recording = recorders.JobRecorder()
    answered = transport.CallbackResult(ok=True, duration_ms=3, status_code=200, body_excerpt="", error="")
    recording.put([(claim, SendResult(headers=claim.headers, result=answered)) for claim in claims])
    recording.close()

    assert seen == [(True, [])]


def test_sends_that_keep_finishing_are_gathered_into_one_transaction_and_close_writes_them_at_once(
    monkeypatch,
):
    """After a batch, what finishes within ``RECORD_EVERY`` waits for the next one (a stream of
    answers becomes a few transactions, not one each); closing the job does not wait it out."""
    monkeypatch.setattr(recorders, "RECORD_EVERY", 60.0)
    batches, first = [], threading.Event()

    def record(*, results, **kwargs):
        batches.append(list(results))
        first.set()

    monkeypatch.setattr(recorders, "attempts_record", record)
    recording = recorders.JobRecorder()
    recording.put(["send 1"])
    assert first.wait(10), "the first batch is recorded at once after a quiet spell"
    for n in range(2, 7):
        recording.put([f"send {n}"])
        time.sleep(0.05)  # time enough for the thread to take each at once, were it not gathering
    assert batches == [["send 1"]]  # the others wait for the next batch
    closing = threading.Thread(target=recording.close)
    closing.start()
    closing.join(timeout=30)
    assert not closing.is_alive(), "close waited out RECORD_EVERY"
    assert batches == [["send 1"], [f"send {n}" for n in range(2, 7)]]


@pytest.mark.django_db(transaction=True)
def test_the_recorder_of_sends_that_outlived_their_job_closes_its_connection_when_it_stops(monkeypatch):
    """Its thread's connection would otherwise stay open until garbage collection: a session
    still using the database when it is dropped, or one held per stopped recorder."""
    from concurrent.futures import Future

    from django.db import connections

    used = []

    def record(*, results, **kwargs):
        wrapper = connections["default"]  # this thread's own
        wrapper.ensure_connection()
        used.append(wrapper)

    monkeypatch.setattr(recorders, "attempts_record", record)
    recorder = recorders.Recorder()
    finished = Future()
    finished.set_result("sent")
    recorder.adopt({finished: "claim"})
    for _ in range(200):
        if used:
            break
        time.sleep(0.05)
    assert used, "the recorder recorded the finished send"
    recorder.shutdown()
    (thread_connection,) = used
    assert thread_connection.connection is None  # closed by the thread on its way out


def _drain_past_its_budget_and_end() -> None:
    """A worker process's last job: its budget ends while its send waits for a slow answer, which it
    leaves to the process's recorder; then the process ends, as a recycled django-q2 worker does."""
    drain.deliveries_drain(time_budget=0.2, linger=0)


@pytest.mark.service
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_that_ends_records_the_answers_of_the_sends_its_drain_job_left(account, receiver):
    """django-q2 ends a worker process after ``recycle`` jobs (and at a stop) through
    multiprocessing's normal exit: the answers the process's recorder was waiting for are
    recorded first, not lost with it (each would be sent again once its lease ran out)."""
    receiver.answer(Answer(delay=1.0))
    delivery = completed(TaskFactory(owner=account.user, callback_url=receiver.url))
    connections.close_all()  # the child process opens its own

    worker = multiprocessing.get_context("fork").Process(target=_drain_past_its_budget_and_end)
    worker.start()
    worker.join(timeout=30)

    assert worker.exitcode == 0
    assert len(receiver.wait_for(1)) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts.get().succeeded
