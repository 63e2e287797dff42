"""A ``qcluster`` stops once, however many SIGINT and SIGTERM it gets.

django-q2 (1.11) stops its cluster from inside the signal handler
(``Cluster.sig_handler``): it sets a multiprocessing ``Event`` whose lock is
not reentrant, then waits for the sentinel. A second signal that lands while
the first handler holds that lock runs the handler again, and it waits for the
lock forever: the cluster never exits (django-q2 issue #346). Several signals
are common: Ctrl-C under ``make run`` gives the cluster the terminal's SIGINT
and the shell's TERM, a process manager may signal the whole process group and
then the main process. Measured with SIGINT, SIGTERM, SIGTERM 0.5 ms apart:
3 stops of 6 hung until SIGKILL (and one ``make run`` this way in practice).

``install()`` (from ``CallbacksAppConfig.ready``) wraps the handler so that the
first signal makes the process ignore both, then stops the cluster as
django-q2 does: gracefully, jobs finishing. SIGKILL still ends a stop that
takes too long.
"""

import functools
import signal

from django_q.cluster import Cluster


def install() -> None:
    """Make ``Cluster.sig_handler`` stop once (clusters created afterwards use it)."""
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
