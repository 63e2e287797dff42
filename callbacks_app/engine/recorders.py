"""Recording threads: finished sends written to the ledger off the drain job's own thread.

- ``JobRecorder``: a drain job's own recording thread. The job hands it every
  finished send and goes straight back to claiming, so a commit that wakes the
  job is claimed at once instead of after the recording of the sends that
  finished just before it (a transaction of several statements: milliseconds,
  which set the median from commit to receipt, docs/benchmarks.md). Batches
  form by themselves, whatever finished while the thread wrote the last batch,
  and while sends keep finishing a transaction begins at most every
  ``RECORD_EVERY``: a stream of answers is written a batch at a time, not a
  transaction each. Each costs the cluster and the database their fixed part:
  a batch of 8 costs 0.96 ms of CPU a callback, one of 32 0.29 ms
  (docs/benchmarks.md, "The engine's CPU alone"). The wait is after the
  receipt: it delays ``callback_succeeded`` by as much, never a send, and the
  caps count an answered send as done (``picking``).
- ``Recorder``: records the sends that outlive the drain job that started them
  (a receiver that hangs, a job that failed), one thread per process. When the
  process ends on its own (django-q2 recycles a worker after ``recycle`` jobs, or
  stops it with the cluster), it records what those sends answer within
  ``EXIT_WAIT`` first: an answer received is not sent again when its lease runs out.

Both write through ``recording.attempts_record``, which never raises, on a
database connection of their own (Django's connections are per thread), closed
when the thread ends.
"""

import logging
import multiprocessing.util
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait

from django.conf import settings
from django.db import close_old_connections, connection

from callbacks_app.engine.attempt import SendResult
from callbacks_app.engine.leases import Claim
from callbacks_app.engine.recording import attempts_record

logger = logging.getLogger(__name__)

# Seconds: while answers keep coming, a job's recording transactions begin at most this often.
RECORD_EVERY = settings.CALLBACK_RECORD_EVERY
# Seconds a process that ends waits for the answers of the sends its recorder still holds.
EXIT_WAIT = 5.0


class JobRecorder:
    """One drain job's recording thread (started on first use): ``put`` finished sends, ``close`` at the job's end.

    Unless ``threaded`` (a job run inside a transaction, which another thread's
    connection could not see), batches are recorded at once in the caller's thread.
    """

    def __init__(self, *, threaded: bool = True):
        self._threaded = threaded
        self._queue: list[tuple[Claim, SendResult]] = []
        self._writing: list[tuple[Claim, SendResult]] = []
        self._condition = threading.Condition()
        self._closed = False
        self._hurry = False
        self._thread: threading.Thread | None = None

    def put(self, results: list[tuple[Claim, SendResult]]) -> None:
        if not self._threaded:
            attempts_record(results=results)
            return
        with self._condition:
            self._queue.extend(results)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scalehooks-recording", daemon=True)
                self._thread.start()
            self._condition.notify()

    def unrecorded(self) -> list[tuple[int, str]]:
        """(account, origin) of each send put here and not recorded yet."""
        with self._condition:
            return [
                (claim.delivery.owner_id, claim.delivery.target_origin)
                for claim, _ in (*self._writing, *self._queue)
            ]

    def _written(self) -> None:
        """The batch being written is no longer unrecorded: called before the commit that
        releases its leases. The pick reads the leases first, then ``unrecorded``, so a send
        of the batch is still leased when the pick counts it, or no longer listed when it
        subtracts the answered ones (its cap counts it a moment longer). Never released and
        still listed: subtracted and not counted, which gave its origin room beyond its cap."""
        with self._condition:
            self._writing = []

    def hurry(self) -> None:
        """Record every send put here at once from now on, without gathering for ``RECORD_EVERY``
        (the cluster is stopping: a supervisor's SIGKILL may follow)."""
        with self._condition:
            self._hurry = True
            self._condition.notify()

    def close(self) -> None:
        """Record what is queued, then stop: when this returns, every send put here is recorded."""
        with self._condition:
            self._closed = True
            self._condition.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        began = float("-inf")
        try:
            while True:
                with self._condition:
                    while not self._queue and not self._closed:
                        self._condition.wait()
                    # Gather what else finishes until RECORD_EVERY after the last batch began
                    # (nothing to wait for after a quiet spell, once the job closes or hurries).
                    while (
                        not self._closed
                        and not self._hurry
                        and (left := began + RECORD_EVERY - time.monotonic()) > 0
                    ):
                        self._condition.wait(left)
                    if not self._queue:
                        return
                    self._writing, self._queue = self._queue, []
                began = time.monotonic()
                attempts_record(results=self._writing, on_written=self._written)
                self._written()  # had the batch failed even row by row
        finally:
            connection.close()


class Recorder:
    """Records sends that outlive the drain job that started them (a hanging receiver, a job that failed).

    One daemon thread per process, started on first use. A process that ends on
    its own (a django-q2 worker recycled or stopped: ``multiprocessing`` runs its
    exit finalizers) records first what those sends answer within ``EXIT_WAIT``
    (``finish``). Should the process be killed instead, those attempts stay "did
    not finish" and their deliveries are taken over when the send lease runs out.
    """

    def __init__(self):
        self._pending: dict[Future, Claim] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid: int | None = None  # the process whose thread and exit finalizer these are

    def adopt(self, pending: dict[Future, Claim]) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (a forked worker inherits no thread)
                self._pid, self._pending, self._thread = os.getpid(), {}, None
                multiprocessing.util.Finalize(None, self.finish, exitpriority=10)
            self._pending.update(pending)
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="scalehooks-recorder", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def finish(self, timeout: float = EXIT_WAIT) -> None:
        """Stop the thread, then record the sends still held that answer within ``timeout`` seconds
        (the process is ending); those that do not stay "did not finish", as at a kill."""
        if self._pid != os.getpid():
            return
        self._stop_thread()
        with self._lock:
            futures, self._pending = dict(self._pending), {}
        if not futures:
            return
        done, _ = wait(futures, timeout=timeout)
        try:
            if done:
                attempts_record(results=[(futures[future], future.result()) for future in done])
        except Exception:
            logger.exception("Recording sends that outlived their drain job failed at the process's end")
        finally:
            connection.close()

    def shutdown(self) -> None:
        """Stop the thread and forget the sends it had not recorded yet (they stay "did not finish")."""
        self._stop_thread()
        with self._lock:
            self._pending.clear()

    def _stop_thread(self) -> None:
        """Stop the thread, after the recording it is writing if any."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, stop: threading.Event) -> None:
        try:
            self._record_until(stop)
        finally:
            connection.close()  # this thread's own: not left open for the garbage collector

    def _record_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.wait()
            with self._lock:
                futures = dict(self._pending)
            if not futures:
                self._wake.clear()
                continue
            done, _ = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
            if not done or stop.is_set():
                continue
            with self._lock:
                for future in done:
                    self._pending.pop(future, None)
            try:
                attempts_record(results=[(futures[future], future.result()) for future in done])
            except Exception:
                logger.exception("Recording sends that outlived their drain job failed")
            finally:
                close_old_connections()
