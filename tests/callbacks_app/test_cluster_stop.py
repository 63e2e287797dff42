"""A ``qcluster`` stops gracefully on SIGTERM or SIGINT (``callbacks_app.cluster_stop``).

The signal may reach the main process alone (Docker, Kubernetes, ``kill PID``)
or every process of the cluster at once (systemd's default
``KillMode=control-group``, a terminal's Ctrl-C): either way the cluster must
stop on its own, its workers finishing as on a stop of the main process, and
leave no process behind. Each case runs several times: the hang this guards
against (a child dying while it holds a lock the main process then waits for)
did not happen on every try.
"""

import os
import signal
import subprocess
import time

import psutil
import pytest

from callbacks_app.models import Delivery
from tests.callbacks_app.test_alerts_clusters import complete_tasks
from tests.servers import Answer

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

TRIES = 3
STOP_TIMEOUT = 20  # seconds; an idle cluster stops in about two


def group_is_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("whole_group", [False, True], ids=["main-process", "process-group"])
def test_cluster_stops_gracefully_on_a_stop_signal(start_cluster, signum, whole_group):
    for _ in range(TRIES):
        cluster = start_cluster(Q_WORKERS="2")
        pid = cluster.process.pid  # also the process group's id (start_new_session)

        if whole_group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)

        # TimeoutExpired: the cluster hung
        assert cluster.process.wait(timeout=STOP_TIMEOUT) == 0, cluster.output()
        output = cluster.output()
        assert "has stopped." in output
        # Every worker ended its loop (a worker killed by the signal logs nothing).
        assert output.count("stopped doing work") == 2, output
        assert "stopped pushing tasks" in output
        assert "stopped monitoring results" in output
        assert group_is_gone(pid, timeout=5), "a process of the cluster outlived it"


def is_dead(process: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def overrunning_job():
    """A job that outlives its timeout: the alarm that would end it is ignored."""
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(60)


def test_a_worker_that_overran_its_timeout_is_still_terminated_by_the_guard(start_cluster):
    """Workers ignore SIGTERM from anyone but the guard: the guard's still ends an overrun."""
    from django_q.tasks import async_task

    cluster = start_cluster(Q_WORKERS="1")
    (worker,) = [
        p
        for p in psutil.Process(cluster.process.pid).children(recursive=True)
        if f"ready for work at {p.pid}" in cluster.output()
    ]
    async_task("tests.callbacks_app.test_cluster_stop.overrunning_job", timeout=1)
    deadline = time.monotonic() + 20
    while "after timeout" not in cluster.output():
        assert time.monotonic() < deadline, cluster.output()
        time.sleep(0.1)

    # Dead (a zombie until the sentinel reaps it), not sleeping on in its job.
    assert is_dead(worker, timeout=5), worker.status()
    os.kill(cluster.process.pid, signal.SIGTERM)
    assert cluster.process.wait(timeout=STOP_TIMEOUT) == 0, cluster.output()
    assert group_is_gone(cluster.process.pid, timeout=5), "a process of the cluster outlived it"


def test_without_its_main_process_the_cluster_dies_of_sigterm_as_before(start_cluster):
    """Nobody is left to stop the children once the main process is gone: they obey SIGTERM."""
    cluster = start_cluster(Q_WORKERS="2")
    pid = cluster.process.pid
    os.kill(pid, signal.SIGKILL)
    cluster.process.wait(timeout=5)
    try:
        assert not group_is_gone(pid, timeout=0.5)  # the sentinel and its children live on

        os.killpg(pid, signal.SIGTERM)

        assert group_is_gone(pid, timeout=5), "a process of the cluster ignored SIGTERM"
    finally:
        # Whatever survived: the fixture would kill the group too, but only after the test.
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


STOP_GRACE = 5  # seconds a supervisor waits after its stop signal before SIGKILL (Docker's is 10)


def test_on_its_stop_signal_a_cluster_records_every_answer_it_received_before_it_exits(
    start_cluster, account, receiver
):
    """A dispatcher stops claiming at the cluster's stop signal, lets its sends in flight finish
    and records their answers at once: each received 2xx is recorded before the supervisor's
    SIGKILL, and never sent again."""
    cluster = start_cluster(Q_WORKERS="1", CALLBACK_SENDS_IN_FLIGHT="4")
    receiver.answer(Answer(200, delay=0.1))
    complete_tasks(account, receiver.url, 300)
    receiver.wait_for(20, timeout=30)  # a stream of answers being recorded

    os.kill(cluster.process.pid, signal.SIGTERM)
    try:
        exited = cluster.process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        exited = None
    cluster.kill()  # the supervisor's SIGKILL after its grace

    answered = {r.header("webhook-id") for r in receiver.requests}
    recorded = set(Delivery.objects.filter(status="succeeded").values_list("id", flat=True))
    assert answered - recorded == set(), f"{len(answered - recorded)} of {len(answered)} answers not recorded"
    assert exited == 0, "the cluster did not stop within the grace"
