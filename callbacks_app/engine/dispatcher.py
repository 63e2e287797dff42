"""The dispatcher: one per django-q2 worker process, for the life of the process.

Every worker process of a ``qcluster`` starts one on django-q2's ``post_spawn`` signal
(``start_in_worker``), on a thread of its own; the cluster's sentinel replaces a worker
process that dies, and its dispatcher with it. Each turn of its loop:

1. records the sends that came back (``recording.attempts_record``: attempts, outcomes,
   target health, a few statements per batch),
2. claims due deliveries for its free slots, fair between accounts and within the
   per-origin caps (``picking.deliveries_pick``, ``leases.deliveries_claim``), and starts
   their sends on the process's event loop (``Sender``),
3. sleeps until a send comes back, a commit wakes it (``wakeups``) or its next look.

Nothing else runs delivery: a retry is a row that falls due, a dead worker's deliveries are
taken again once their lease lapses, and any number of dispatchers in any number of
clusters share the ledger through the leases. What a turn does is decided by ``Turn``, a
function of its counts and the clock, tested without a cluster.
"""

import logging
import multiprocessing.util
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from callbacks_app.alerts import alerts_fan_out_overdue
from callbacks_app.cluster_stop import cluster_stopping
from callbacks_app.engine.attempt import SendResult
from callbacks_app.engine.leases import Claim, deliveries_claim, send_lease
from callbacks_app.engine.picking import deliveries_pick
from callbacks_app.engine.recording import attempts_record
from callbacks_app.engine.sender import Sender
from callbacks_app.wakeups import Listener, wakeup_channel

logger = logging.getLogger(__name__)

# How a dispatcher paces itself. These follow from measurements (docs/benchmarks.md) and are not
# settings: the knobs are CALLBACK_SENDS_IN_FLIGHT and CALLBACK_MAX_IN_FLIGHT_PER_TARGET.
PACE = {
    "look_every": 1.0,  # s: a look of its own accord where commits wake it (retries, lapsed leases)
    "poll_min": 0.02,  # s: where nothing wakes it (SQLite), the first look after work ...
    "poll_max": 0.25,  # s: ... doubling while it finds nothing, up to this
    "claim_gap": 0.04,  # s: under load, the longest wait after a claim so that each takes a batch
    "gap_rates": (150.0, 400.0),  # claims/s: no gap below the first, the whole gap from the second
    "record_every": 0.1,  # s: while sends keep coming back, a recording transaction at most this often
    "exit_wait": 5.0,  # s: a process that ends records what its sends answer within this
}


@dataclass
class Turn:
    """What a dispatcher knows between two turns, and what it decides from it (times: monotonic s).

    ``claim_due`` and ``record_due`` say whether to claim and to record now; ``sleep`` how long
    to wait for something to change. ``channel``: whether commits wake it.
    """

    slots: int
    channel: bool
    dispatchers: int = 1  # in the cluster (Q_WORKERS), which share the wake-ups
    in_flight: int = 0
    finished: int = 0
    first_finished: float = 0.0  # when the oldest send not yet recorded came back
    last_claim: float = float("-inf")
    last_record: float = float("-inf")
    idle_looks: int = 0  # looks in a row that found nothing
    woken: bool = False  # a commit woke it since its last claim
    backlog: bool = True  # its last claim filled every free slot: more may be due
    room: bool = False  # sends came back while an origin was at its cap
    capped: bool = False  # its last pick left an origin at its cap out
    next_due: float = float("inf")  # when the earliest retry of what it recorded falls due
    claims: deque = field(default_factory=deque)  # (when, how many) over the last second

    def claim_rate(self, now: float) -> float:
        while self.claims and self.claims[0][0] < now - 1.0:
            self.claims.popleft()
        return sum(n for _, n in self.claims)

    def claim_gap(self, now: float) -> float:
        """None below the first of ``gap_rates`` claimed a second, the whole gap from the second
        on: a claim's statements cost the same for one delivery as for thirty. Wake-ups are
        shared between the cluster's ``dispatchers``, so the rate is this one's times their
        number, and so is the gap: together they claim about as often as one would."""
        low, high = PACE["gap_rates"]
        share = (self.claim_rate(now) * self.dispatchers - low) / (high - low)
        return PACE["claim_gap"] * self.dispatchers * min(1.0, max(0.0, share))

    def look_every(self) -> float:
        if self.channel:
            return PACE["look_every"]
        return min(PACE["poll_max"], PACE["poll_min"] * 2**self.idle_looks)

    def next_claim(self, now: float) -> float:
        """When the next claim is due (``now`` or earlier: at once)."""
        if self.backlog or self.room:
            return now
        if self.woken:
            return self.last_claim + self.claim_gap(now)
        return min(self.last_claim + self.look_every(), self.next_due)

    def claim_due(self, now: float) -> bool:
        # With no slot free it still claims: another account may be owed its share (picking).
        return self.next_claim(now) <= now

    def record_due(self, now: float) -> bool:
        if not self.finished:
            return False
        quiet = now - self.last_record >= PACE["record_every"]
        return quiet or not self.in_flight or now - self.first_finished >= PACE["record_every"]

    def sleep(self, now: float) -> float:
        wake_at = [self.next_claim(now)]
        if self.finished:
            wake_at.append(self.first_finished + PACE["record_every"])
        return max(0.0, min(wake_at) - now)

    def recorded(self, now: float, *, due_in: float | None) -> None:
        """A batch was recorded; ``due_in``: seconds until the first of its retries falls due."""
        self.finished, self.last_record = 0, now
        if due_in is not None:
            self.next_due = min(self.next_due, now + max(0.0, due_in))

    def claimed(self, now: float, *, n: int, free: int, capped: bool) -> None:
        self.last_claim, self.woken, self.room = now, False, False
        if self.next_due <= now:
            self.next_due = float("inf")
        self.backlog = n > 0 and n >= free
        self.idle_looks = 0 if n else self.idle_looks + 1
        self.capped = capped
        if n:
            self.claims.append((now, n))

    def came_back(self, now: float, n: int) -> None:
        if n and not self.finished:
            self.first_finished = now
        self.finished += n
        self.room = self.room or (n > 0 and self.capped)


class Dispatcher:
    """Claims, sends and records, turn after turn (``run``), with this process's ``Sender``.

    ``slots``: sends it keeps in flight (``CALLBACK_SENDS_IN_FLIGHT``); ``clock``: monotonic
    seconds; both given by tests.
    """

    def __init__(
        self, *, sender: "Sender", slots: int | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.sender = sender
        self.clock = clock
        channel = wakeup_channel()
        self.turn = Turn(
            slots=slots or settings.CALLBACK_SENDS_IN_FLIGHT,
            channel=channel is not None,
            dispatchers=settings.Q_WORKERS,
        )
        self.pending: dict[Future, Claim] = {}
        self.finished: list[tuple[Claim, SendResult]] = []
        self.event = threading.Event()
        self.stop = threading.Event()
        self._channel = channel
        self._alerts_at = float("-inf")

    def run(self, *, idle_exit: float | None = None) -> int:
        """Turn until stopped (``stop``, the cluster's stop signal), or, with ``idle_exit``, until
        nothing was due nor in flight for that many seconds (tests, ``--wait``). How many sends
        were recorded. The sends still in flight at a stop finish and are recorded first."""
        listener = Listener(self._channel, self.event) if self._channel is not None else None
        recorded, idle_since = 0, self.clock()
        try:
            while not self.stop.is_set() and not cluster_stopping():
                try:
                    recorded += self.step()
                except Exception:
                    logger.exception("A dispatcher's turn failed; it goes on after a second")
                    _connection_refresh()
                    self.stop.wait(1.0)
                if self.pending or self.finished or self.turn.backlog:
                    idle_since = self.clock()
                elif idle_exit is not None and self.clock() - idle_since >= idle_exit:
                    break
                self._wait(listener)
        finally:
            if listener is not None:
                listener.stop()
            # At the cluster's stop its sends get their whole time limit (a supervisor's SIGKILL
            # may follow: an answer received is recorded first); at the process's end exit_wait.
            stopping = cluster_stopping() or not self.stop.is_set()
            recorded += self.finish(timeout=None if stopping else PACE["exit_wait"])
        return recorded

    def step(self) -> int:
        """One turn: record what came back if due, claim if due. How many sends were recorded."""
        now, turn = self.clock(), self.turn
        recorded = 0
        self._collect(now)
        if turn.record_due(now):
            recorded = self._record()
        if turn.claim_due(now):
            self._claim(now)
        if now - self._alerts_at >= PACE["look_every"]:
            self._alerts_at = now
            alerts_fan_out_overdue(now=timezone.now())  # target health's alerts whose fan-out died
            _connection_refresh()
        return recorded

    def finish(self, *, timeout: float | None) -> int:
        """Claim nothing more; wait for the sends in flight (each within its time limit, at most
        ``timeout`` seconds; None: their lease) and record what came back. What does not come
        back stays "did not finish" and is sent again once its lease lapses, as after a kill."""
        if self.pending:
            limit = send_lease().total_seconds() if timeout is None else timeout
            wait(list(self.pending), timeout=limit)
            self._collect(self.clock())
        return self._record() if self.finished else 0

    def _collect(self, now: float) -> None:
        done = [future for future in self.pending if future.done()]
        for future in done:
            self.finished.append((self.pending.pop(future), future.result()))
        self.turn.came_back(now, len(done))
        self.turn.in_flight = len(self.pending)

    def _record(self) -> int:
        batch, self.finished = self.finished, []
        due = attempts_record(results=batch)
        due_in = None if due is None else (due - timezone.now()).total_seconds()
        self.turn.recorded(self.clock(), due_in=due_in)
        return len(batch)

    def _claim(self, now: float) -> None:
        free = self.turn.slots - len(self.pending)
        held = [(claim.delivery.owner_id, claim.delivery.target_origin) for claim in self.pending.values()]
        answered = [(claim.delivery.owner_id, claim.delivery.target_origin) for claim, _ in self.finished]
        picked = deliveries_pick(
            now=timezone.now(),
            limit=max(free, 0),
            held=held,
            slots=self.turn.slots,
            answered=lambda: answered,
        )
        claims = deliveries_claim(ids=picked.ids)
        for claim in claims:
            future = self.sender.submit(claim)
            future.add_done_callback(lambda _: self.event.set())
            self.pending[future] = claim
        self.turn.claimed(self.clock(), n=len(claims), free=free, capped=picked.capped)
        self.turn.in_flight = len(self.pending)

    def _wait(self, listener: Listener | None) -> None:
        if any(future.done() for future in self.pending):
            return
        timeout = self.turn.sleep(self.clock())
        if timeout > 0 and self.event.wait(timeout):
            self.event.clear()
        if listener is not None and listener.take_news():
            self.turn.woken = True


def _connection_refresh() -> None:
    """Let go of this thread's database connection if it broke or aged (never inside a caller's
    transaction: a test's, whose connection it is)."""
    if not connection.in_atomic_block:
        close_old_connections()


EMAIL_THREADS = 8  # email sends one process makes at once (email is rate-limited per account anyway)
senders = Sender(email_threads=EMAIL_THREADS)


class _ProcessDispatcher:
    """This worker process's dispatcher thread: started once, finished at the process's exit."""

    def __init__(self):
        self.dispatcher: Dispatcher | None = None
        self.thread: threading.Thread | None = None
        self.pid: int | None = None

    def start(self, sender=None, **kwargs) -> None:
        """``post_spawn`` receiver (a forked worker inherits no thread: one per pid)."""
        if self.pid == os.getpid():
            return
        self.pid = os.getpid()
        self.dispatcher = Dispatcher(sender=senders)
        self.thread = threading.Thread(target=self._run, name="scalehooks-dispatcher", daemon=True)
        self.thread.start()
        # django-q2 ends a worker process on its own (recycled after ``recycle`` jobs, or stopped
        # with the cluster): its dispatcher records first what its sends answer within exit_wait.
        multiprocessing.util.Finalize(None, self.stop, exitpriority=10)

    def _run(self) -> None:
        try:
            self.dispatcher.run()
        finally:
            connection.close()  # this thread's own

    def stop(self) -> None:
        if self.pid != os.getpid() or self.dispatcher is None:
            return
        self.dispatcher.stop.set()
        self.dispatcher.event.set()
        if self.thread is not None:
            self.thread.join(timeout=PACE["exit_wait"] + 1)
        self.dispatcher = self.thread = None


process_dispatcher = _ProcessDispatcher()
start_in_worker = process_dispatcher.start


def reset() -> None:
    """Stop this process's dispatcher and its sender (for tests): sends in flight are cancelled."""
    process_dispatcher.stop()
    senders.shutdown()


def deliveries_dispatch(*, idle_exit: float = 0.05) -> int:
    """Dispatch in this thread until nothing is due nor in flight for ``idle_exit`` seconds (tests,
    benchmarks); how many sends were recorded."""
    return Dispatcher(sender=senders).run(idle_exit=idle_exit)
