"""A ``qcluster`` stops once, gracefully, however many SIGINT and SIGTERM it gets
and whichever of its processes get them.

django-q2 (1.11) stops its cluster from the main process's signal handler
(``Cluster.sig_handler``): it sets a multiprocessing ``Event`` (the stop event)
and waits for the sentinel, the child process that guards the workers, the
pusher and the monitor. Two ways this hangs until SIGKILL:

- A second signal to the main process that lands while the first handler
  holds the event's lock, which is not reentrant, runs the handler again, and
  it waits for the lock forever (django-q2 issue #346). Ctrl-C under
  ``make run`` gives the cluster the terminal's SIGINT and the shell's TERM.
- A signal to every process of the cluster: systemd's default
  (``KillMode=control-group``), ``kill -TERM -PGID``. django-q2 lets SIGTERM
  kill the sentinel and the processes it forks at once; a sentinel that dies
  waiting on the stop event leaves ``Event.set`` in the main process waiting
  for it to wake, forever, and a worker killed mid-job drops its sends and may
  die holding a queue's lock (docs/deployment.md has what was measured).

``install()`` (from ``CallbacksAppConfig.ready``) changes three things:

- The main process, on its first signal, ignores SIGINT and SIGTERM from then
  on, then stops the cluster as django-q2 does: gracefully, jobs finishing.
- The cluster's other processes ignore SIGTERM (SIGINT they already ignore)
  and leave the stop to the main process, which got the signal too, or is the
  one to get it. They still obey the SIGTERMs meant for them: the guard's, sent
  to a worker whose job overran its timeout (the worker's timer reads 0 then),
  and any once the main process is gone, when nobody else would stop them. At
  its exit the sentinel kills the children still alive, which django-q2 did
  with SIGTERM.

- The cluster's processes can tell that it is stopping (``cluster_stopping``,
  django-q2's stop event, which the workers inherit when the sentinel forks
  them): a dispatcher then claims nothing more, lets its sends in flight finish
  and records their answers at once (``engine.dispatcher``), so that an answer
  received is recorded before a supervisor's SIGKILL, not a batch later.

SIGKILL still ends a stop that takes too long.
"""

import functools
import multiprocessing
import os
import signal

from django_q import cluster as q_cluster
from django_q.cluster import Cluster, Sentinel


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_stop_event = None  # this cluster's stop event, in the sentinel and the processes it forks


def cluster_stopping() -> bool:
    """Whether the cluster this process belongs to got its stop signal (False outside a cluster)."""
    event = _stop_event
    return event is not None and event.is_set()


def _child_sigterm(main_pid: int, signum, frame) -> None:
    """SIGTERM in a child of the cluster: ignored, unless meant for this process.

    Runs in a signal handler, so it takes no lock: the worker's timer is read
    from its shared memory directly.
    """
    timer = getattr(multiprocessing.current_process(), "timer", None)  # set on workers only
    timed_out = timer is not None and timer.get_obj().value == 0
    if timed_out or not _is_alive(main_pid):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)  # dies of it, as it would have


class StoppedByMainSentinel(Sentinel):
    """django-q2's sentinel, whose processes leave a stop to the main process."""

    def start(self):
        global _stop_event
        _stop_event = self.stop_event  # inherited by the workers forked below
        # Sentinel.__init__ has just set its own handlers; the pool, the pusher
        # and the monitor are forked from here on and inherit this one.
        signal.signal(signal.SIGTERM, functools.partial(_child_sigterm, self.parent_pid))
        try:
            super().start()
        finally:
            for child in multiprocessing.active_children():
                child.kill()


def install() -> None:
    """Make clusters created afterwards stop once, by their main process."""
    q_cluster.Sentinel = StoppedByMainSentinel
    original = Cluster.sig_handler
    if getattr(original, "stops_once", False):
        return

    @functools.wraps(original)
    def sig_handler(self, signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        original(self, signum, frame)

    sig_handler.stops_once = True
    Cluster.sig_handler = sig_handler
