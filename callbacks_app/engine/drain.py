"""The drain job: keep up to ``DRAIN_IN_FLIGHT`` sends in flight, claim more as slots free up.

A drain job (``deliveries_drain``) sends through this process's sender (HTTP
on an event loop, email on threads, ``engine.sender``) and hands the results,
as they come back, to its recording thread (``engine.recorders``), which
writes them a batch per transaction while the job goes on claiming. So the
queue and the database are paid per batch rather than per callback, a commit
that wakes the job is claimed without waiting for a recording, and a slow
receiver holds one slot, not the worker. Sends that outlive their job (a
receiver that hangs) are recorded by this process's recorder.
"""

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait

from django.conf import settings
from django.db import connection
from django.utils import timezone

from callbacks_app.cluster_stop import cluster_stopping
from callbacks_app.engine.leases import Claim, deliveries_claim, new_lease_token, send_lease
from callbacks_app.engine.picking import DRAIN_IN_FLIGHT, deliveries_pick
from callbacks_app.engine.recorders import JobRecorder, Recorder
from callbacks_app.engine.sender import Sender
from callbacks_app.kicks import request_drain
from callbacks_app.pausing import deliveries_due_unpaused  # target health (SPEC §16): paused targets wait
from callbacks_app.wakeups import Listener, wakeup_channel
from callbacks_app.watch import WATCH, watch_release, watch_take

logger = logging.getLogger(__name__)

DRAIN_TIME_BUDGET = 10.0  # seconds a drain job takes new work before it hands over
CLAIM_EVERY = 0.02  # seconds between claims while work trickles in (at once while it piles up)
CLAIM_GAP = settings.CALLBACK_CLAIM_GAP  # seconds a woken watcher waits at most between claims, under load
GAP_FROM_RATE = 150.0  # deliveries claimed a second: below this a wake-up is claimed at once
GAP_FULL_RATE = 400.0  # ...: from this on a woken watcher waits the whole CLAIM_GAP
RATE_WINDOW = 1.0  # seconds of claims the rate is counted over
WAKE_POLL = 0.1  # seconds: a watcher woken by commits still looks this often (a lost wake-up)
DRAIN_LINGER = 0.5  # seconds the watching drain job stays after the last work it found
HELP_LAG = 0.1  # seconds: a watcher that claims deliveries due longer ago than this asks for help
HELP_EVERY = 0.5  # seconds between a lagging watcher's calls for help
EMAIL_THREADS = 8  # email sends one process makes at once (email is rate-limited per account anyway)


senders = Sender(email_threads=EMAIL_THREADS)
recorder = Recorder()


def reset() -> None:
    """Stop this process's recorder and its sender (for tests).

    Sends still in flight are cancelled (emails finish on their threads) and
    not recorded: their attempts stay "did not finish". The next drain job
    starts a new loop.
    """
    recorder.shutdown()
    senders.shutdown()


def _lagging(claims: list[Claim], *, allowance: float = 0.0) -> bool:
    """Whether some of these claims waited more than ``HELP_LAG`` (+ ``allowance``) seconds past their due time."""
    if not claims:
        return False
    oldest = min(claim.delivery.next_attempt_at for claim in claims)
    return (timezone.now() - oldest).total_seconds() > HELP_LAG + allowance


def deliveries_drain(
    *, time_budget: float = DRAIN_TIME_BUDGET, in_flight: int = DRAIN_IN_FLIGHT, linger: float = DRAIN_LINGER
) -> int:
    """Send due deliveries until none is left or the time budget is spent; how many were sent.

    Keeps up to ``in_flight`` sends going, claims more as they finish, and
    records finished ones a batch per transaction. While work keeps coming,
    claims are paced (``CLAIM_EVERY`` when polling, the claim gap of ``_Waits``
    when woken, ``RECORD_EVERY`` for the records) so that each claim and each
    record takes a batch, not a callback at a time.

    The first drain job to start takes the watch of the ledger
    (``callbacks_app.watch``): while it holds it, kicks queue no more jobs,
    and it stays until nothing has come for ``linger`` seconds. A job that
    finds the watch taken helps while there is work and leaves when idle.

    Work left when the budget is spent is handed to a new drain job; sends
    still in flight then (a receiver that hangs) are recorded by this
    process's recorder thread, so the worker is free at once.
    """
    holder = new_lease_token()
    pending: dict[Future, Claim] = {}
    try:
        return _drain(
            holder=holder, pending=pending, time_budget=time_budget, in_flight=in_flight, linger=linger
        )
    except BaseException:
        try:
            watch_release(holder=holder)
        except Exception:
            logger.exception("Giving up the drain watch failed (it lapses by itself)")
        raise
    finally:
        # Whatever ended the job (its budget, or an exception midway), the sends
        # still in flight, or finished but not recorded, are the recorder's.
        if pending:
            recorder.adopt(pending)


def _drain(
    *, holder: str, pending: dict[Future, Claim], time_budget: float, in_flight: int, linger: float
) -> int:
    """The loop of ``deliveries_drain``; leaves what is still in ``pending`` to its caller."""
    watch_until = watch_take(holder=holder)
    waits = _Waits(watching=watch_until is not None)
    # Inside a transaction (a caller's, a test's) another thread's connection could
    # not see what the job claimed: it records in its own thread then.
    recording = JobRecorder(threaded=not connection.in_atomic_block)
    try:
        return _drain_loop(
            holder=holder,
            pending=pending,
            time_budget=time_budget,
            in_flight=in_flight,
            linger=linger,
            watch_until=watch_until,
            waits=waits,
            recording=recording,
        )
    finally:
        recording.close()
        waits.close()


def _drain_loop(
    *,
    holder: str,
    pending: dict[Future, Claim],
    time_budget: float,
    in_flight: int,
    linger: float,
    watch_until,
    waits: "_Waits",
    recording: JobRecorder,
) -> int:
    deadline = time.monotonic() + time_budget
    sent = 0
    idle_claims = 0
    last_claim = last_help = 0.0
    last_work = time.monotonic()
    backlog = True  # claim at once
    while time.monotonic() < deadline:
        if cluster_stopping():
            sent += _finish_for_stop(pending=pending, recording=recording)
            break
        if watch_until is not None and watch_until - timezone.now() < WATCH / 2:
            watch_until = watch_take(holder=holder)
        waits.watching(watch_until is not None)
        free = in_flight - len(pending)
        claimed_nothing = False
        if free <= 0 and watch_until is not None and time.monotonic() - last_help >= HELP_EVERY:
            # Every slot taken (by a busy stream, or by receivers that hang): while
            # it watches, no kick brings another job, so ask for one.
            request_drain(helper=True)
            last_help = time.monotonic()
        # With no slot free, another account's work may still be owed its share (picking).
        if (free > 0 or pending) and (backlog or waits.claim_due(last_claim)):
            held = [(claim.delivery.owner_id, claim.delivery.target_origin) for claim in pending.values()]
            picked = deliveries_pick(
                now=timezone.now(),
                limit=max(free, 0),
                held=held,
                slots=in_flight,
                answered=recording.unrecorded,
            )
            claims = deliveries_claim(ids=picked.ids)
            last_claim = time.monotonic()
            waits.claimed(len(claims), capped=picked.capped)
            for claim in claims:
                pending[waits.watched_send(senders.submit(claim))] = claim
            backlog = bool(claims) and len(claims) >= free
            # More may be due than this job keeps up with: ask another worker to help.
            # The watcher asks at most every HELP_EVERY seconds while it lags behind.
            lagging = (
                watch_until is not None
                and last_claim - last_help >= HELP_EVERY
                and _lagging(claims, allowance=waits.poll_lag())
            )
            if backlog or lagging:
                request_drain(helper=True)
                last_help = last_claim
            if claims:
                last_work, idle_claims = last_claim, 0
            else:
                claimed_nothing, idle_claims = True, idle_claims + 1
        if not pending and claimed_nothing:
            if watch_until is None:
                break  # a helper: leaves as soon as it finds nothing
            if time.monotonic() - last_work >= linger:
                # Give the watch up first, then look once more (see callbacks_app.watch).
                watch_release(holder=holder)
                watch_until = None
                if not deliveries_due_unpaused(now=timezone.now()).exists():
                    break
                watch_until = watch_take(holder=holder)
                backlog, last_work = True, time.monotonic()
                continue
        done = waits.wait(pending, idle_claims=idle_claims, free=free)
        if done:
            # Recorded on the job's recording thread, while this one claims on.
            recording.put([(pending.pop(future), future.result()) for future in done])
            sent += len(done)
            waits.answered()
    if watch_until is not None:
        watch_release(holder=holder)
    if time.monotonic() >= deadline and deliveries_due_unpaused(now=timezone.now()).exists():
        request_drain(force=True)
    return sent


def _finish_for_stop(*, pending: dict[Future, Claim], recording: JobRecorder) -> int:
    """The cluster is stopping: claim nothing more, let the sends in flight finish (each within
    its time limit) and record their answers at once, so that a 2xx received before a supervisor's
    SIGKILL is recorded, not sent again once the lease runs out. The watch is given up by the
    caller; the next cluster's sweep takes what is still due. How many sends finished."""
    recording.hurry()
    finished = 0
    while pending:
        done, _ = wait(list(pending), timeout=send_lease().total_seconds(), return_when=FIRST_COMPLETED)
        if not done:
            break  # left to the process's recorder (``deliveries_drain``'s ``finally``)
        recording.put([(pending.pop(future), future.result()) for future in done])
        finished += len(done)
    return finished


class _Waits:
    """How a drain job waits between claims: for a send to finish, a wake-up, or its next poll.

    A watching job on a deployment with a wake-up channel (``callbacks_app.wakeups``)
    is woken by the commits that make deliveries due and claims at once, looking of
    its own accord every ``WAKE_POLL``. Without a channel (SQLite), and in a helper,
    it polls every ``CLAIM_EVERY`` while work comes. Either claims at once, too, when
    sends come back while an origin was at its cap.

    Claims grow with the load by themselves: the commits that come while the job
    claims wait for the next claim, which takes them all. Under load a woken
    watcher also waits out a gap after its last claim (``claim_gap``: nothing
    below ``GAP_FROM_RATE`` deliveries a second, the whole ``CLAIM_GAP`` from
    ``GAP_FULL_RATE``), so that each claim takes a batch: a claim's statements
    cost the same for 1 delivery as for 30, and a batch of 8 costs 0.65 ms of CPU a
    callback against 0.28 ms for 32 (docs/benchmarks.md, "The engine's CPU alone").
    The gap delays a callback by at most ``CLAIM_GAP`` where it saves the most,
    and never at the rates at which the latency from commit to receipt is measured.
    """

    def __init__(self, *, watching: bool):
        self._event = threading.Event()
        self._channel = wakeup_channel()
        self._listener = None
        self._stopped: list[Listener] = []
        self._woken = False
        self._capped = self._room = False
        self._last_claim = float("-inf")
        self._claims: deque[tuple[float, int]] = deque()  # (when, how many) of the last RATE_WINDOW
        self._claimed = 0  # deliveries in self._claims
        self.watching(watching)

    def watching(self, watching: bool) -> None:
        """Listen while the job holds the watch, and only then: a job that lost it must not
        take the wake-ups meant for the one that holds it now."""
        if watching and self._listener is None and self._channel is not None:
            self._listener = Listener(self._channel, self._event)
        elif not watching and self._listener is not None:
            self._listener.stop(wait=False)
            self._stopped.append(self._listener)
            self._listener = None

    def close(self) -> None:
        self.watching(False)
        for listener in self._stopped:
            listener.stop()

    def watched_send(self, future: Future) -> Future:
        """``future``, which wakes the job when it finishes."""
        future.add_done_callback(lambda _: self._event.set())
        return future

    def claim_due(self, last_claim: float) -> bool:
        if self._room:
            return True
        since = time.monotonic() - last_claim
        if self._listener is None:
            return since >= CLAIM_EVERY
        return (self._woken and since >= self.claim_gap()) or since >= WAKE_POLL

    def claim_gap(self) -> float:
        """How long after its last claim a woken watcher waits before the next, at the rate
        it has been claiming deliveries at over the last ``RATE_WINDOW``."""
        now = time.monotonic()
        while self._claims and self._claims[0][0] < now - RATE_WINDOW:
            self._claimed -= self._claims.popleft()[1]
        return gap_for_rate(self._claimed / RATE_WINDOW)

    def poll_lag(self) -> float:
        """How late a woken watcher may find a delivery without lagging behind: one that no
        wake-up announced (a retry falling due, a lost wake-up) waits for its next look, one
        announced under load for the claim gap."""
        return max(WAKE_POLL, CLAIM_GAP) if self._listener is not None else 0.0

    def claimed(self, n: int, *, capped: bool) -> None:
        """A claim of ``n`` deliveries was made; ``capped``: some origin was at its cap then
        (work may wait for room)."""
        self._woken = self._room = False
        self._capped = capped
        self._last_claim = time.monotonic()
        if n:
            self._claims.append((self._last_claim, n))
            self._claimed += n

    def answered(self) -> None:
        """Sends came back: their origins have room again, which a capped pick was waiting for
        (the pick counts a send against its origin's cap until it is answered)."""
        self._room = self._capped

    def wait(self, pending: dict, *, idle_claims: int, free: int) -> set[Future]:
        """Wait as the job's state asks; the sends that finished.

        The event is set by every send that finishes (``watched_send``) and by the
        listener's wake-ups.
        """
        done = {future for future in pending if future.done()}
        if done:
            return done
        if free > 0 and self._room:
            return done  # claim at once
        if self._listener is None:
            # Look again soon while work comes; back off while nothing new comes.
            timeout = min(0.5, 0.01 * 2**idle_claims, CLAIM_EVERY if free > 0 else 0.5)
        elif free > 0 and self._woken:
            timeout = self._last_claim + self.claim_gap() - time.monotonic()
            if timeout <= 0:
                return done  # claim at once
        else:
            timeout = WAKE_POLL  # also renews the watch in time, busy or not
        self._event.wait(timeout)
        self._event.clear()
        if self._listener is not None:
            self._woken = self._listener.take_news() or self._woken
        return {future for future in pending if future.done()}


def gap_for_rate(rate: float) -> float:
    """The claim gap (``_Waits.claim_gap``) of a watcher claiming ``rate`` deliveries a second:
    none below ``GAP_FROM_RATE``, ``CLAIM_GAP`` from ``GAP_FULL_RATE`` on, linear in between."""
    share = (rate - GAP_FROM_RATE) / (GAP_FULL_RATE - GAP_FROM_RATE)
    return CLAIM_GAP * min(1.0, max(0.0, share))
