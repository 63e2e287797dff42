"""What every benchmark needs: a fresh database, a receiver process, cluster processes.

A benchmark calls ``configure(backend)`` before importing anything from Django;
the process then drives ScaleHooks through its services, as the API would.
Everything started here is stopped at exit.
"""

import atexit
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
# The database a PostgreSQL run drops and creates, and the receiver's first port: set them
# apart when several people run benchmarks on one machine.
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "scalehooks_bench")
RECEIVER_PORT = int(os.environ.get("BENCH_RECEIVER_PORT", "9100"))

_children: list[subprocess.Popen] = []


def _stop_children():
    for child in _children:
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for child in _children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


atexit.register(_stop_children)


def configure(backend: str, **env) -> dict:
    """Point this process (and the children it starts) at a fresh database; migrate it."""
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="scalehooks-bench-")) / "bench.sqlite3"
        database_url = f"sqlite:///{path}"
        redis_url = ""
    elif backend == "postgres":
        name = PG_BENCH_DB
        subprocess.run(
            ["psql", f"{PG_ADMIN_URL}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True
        )
        subprocess.run(["psql", f"{PG_ADMIN_URL}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        database_url = f"{PG_ADMIN_URL}/{name}"
        redis_url = REDIS
    else:
        raise SystemExit(f"unknown backend {backend!r}: sqlite or postgres")
    settings = {
        "DJANGO_SETTINGS_MODULE": "scalehooks.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-" + "not-secret-" * 5,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "Q_CLUSTER_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "1000000/min",
        **{key: str(value) for key, value in env.items()},
    }
    os.environ.update(settings)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return settings


def start_receiver(port: int = RECEIVER_PORT, extra_ports: int = 0, *receiver_args: str) -> str:
    """The benchmark receiver on ``port`` (and the ``extra_ports`` next ports: more origins;
    ``receiver_args``: more of ``bench/receiver.py``'s options)."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(BASE_DIR / "bench" / "receiver.py"),
            "--port",
            str(port),
            "--extra-ports",
            str(extra_ports),
            *receiver_args,
        ],
        start_new_session=True,
    )
    _children.append(process)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            receiver_stats(url)
            return url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("receiver did not start")


def receiver_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as answer:
        return json.load(answer)


def receiver_receipts(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/receipts", timeout=30) as answer:
        return json.load(answer)


def receiver_reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/reset", method="POST"), timeout=5).close()


def start_process(
    command: list[str], *, ready: bytes, name: str, timeout: float, **popen
) -> subprocess.Popen:
    """Start ``command`` in a session of its own, logging to a file, stopped at exit;
    return once its log shows ``ready``."""
    log = open(tempfile.mktemp(prefix=f"bench-{name}-", suffix=".log"), "wb")  # noqa: SIM115 - the child's, open while it runs
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **popen)
    _children.append(process)
    deadline = time.monotonic() + timeout
    while ready not in Path(log.name).read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start, see {log.name}")
        time.sleep(0.1)
    return process


def start_cluster(**env) -> subprocess.Popen:
    return start_process(
        [sys.executable, "manage.py", "qcluster"],
        ready=b"running.",
        name="qcluster",
        timeout=30,
        cwd=BASE_DIR,
        env={**os.environ, "Q_LOG_LEVEL": "INFO", **{k: str(v) for k, v in env.items()}},
    )


def stop(process: subprocess.Popen) -> None:
    """Stop one child and its process group now, e.g. a cluster before another system is measured."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(condition, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


def make_tasks(n: int, callback_url: str, email: str = "bench@example.com"):
    """An account and ``n`` pending categorization tasks calling back ``callback_url``."""
    from tasks_app.accounts import account_create
    from tasks_app.models import Task

    profile = account_create(email=email).profile
    tasks = [
        Task(
            owner=profile.user,
            type="categorization",
            instruction="Is this object red or blue?",
            params={
                "attachment_type": "text",
                "attachment": "tomato",
                "categories": ["red", "blue"],
                "allow_multiple": False,
            },
            callback_url=callback_url,
            metadata={"bench": True, "padding": "x" * 400},  # ~1 KB callbacks
        )
        for _ in range(n)
    ]
    Task.objects.bulk_create(tasks, batch_size=1000)
    return profile, [t.id for t in tasks]


def _cpu_seconds(processes, reaped: bool = False) -> float:
    """CPU seconds of these processes; with ``reaped``, also of their children that
    exited and were reaped (which psutil can no longer see one by one)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
            if reaped:
                total += times.children_user + times.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def cpu_by_component() -> dict[str, float]:
    """CPU seconds used so far by each part of a benchmark, for a breakdown per callback.

    "benchmark" is this process alone (driver processes report their own CPU),
    "cluster" every process a cluster started, "database" every PostgreSQL
    process (SQLite runs inside the processes that use it). The last two
    include their processes that exited: worker processes django-q2 replaced
    and PostgreSQL backends of closed connections, whose CPU time goes to the
    parent that reaps them.
    """
    components = {"benchmark": [psutil.Process()], "receiver": [], "cluster": [], "database": [], "redis": []}
    web = []  # gunicorn's processes, where a benchmark starts it (bench/api_throughput.py)
    for child in _children:
        try:
            parent = psutil.Process(child.pid)
            family = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        command = " ".join(parent.cmdline())
        if "gunicorn" in command:
            web += family
            continue
        kind = "receiver" if "receiver.py" in command else "cluster"
        components[kind] += family
    if web:
        components["web"] = web
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            components["database"].append(proc)
        elif proc.info["name"] == "redis-server":
            components["redis"].append(proc)
    return {
        name: _cpu_seconds(procs, reaped=name in ("cluster", "database", "web"))
        for name, procs in components.items()
    }


def cpu_report(before: dict[str, float], after: dict[str, float], n: int) -> str:
    """CPU milliseconds per callback by component between two ``cpu_by_component`` readings."""
    parts = [f"{name} {(after[name] - before[name]) * 1000 / n:.2f}" for name in before]
    total = sum(after.values()) - sum(before.values())
    return f"{', '.join(parts)}; total {total * 1000 / n:.2f} ms of CPU per callback"


def completions_run(*, target, parts: list[tuple], n: int, label: str) -> dict:
    """Run ``target(*part, go, cpu_used, index)`` in one forked process per part of the work; they
    start together (``go``) and write their CPU seconds to ``cpu_used[index]``. Waits until ``n``
    callbacks are recorded delivered; returns the completion and end-to-end rates and the CPU
    per callback of each component (``label``: what the processes are, e.g. "drivers")."""
    from django.db import connection

    from callbacks_app.models import DeliveryAttempt

    connection.close()  # forked processes must not inherit an open connection
    context = multiprocessing.get_context("fork")
    go = context.Event()
    cpu_used = context.Array("d", len(parts))
    processes = [
        context.Process(target=target, args=(*part, go, cpu_used, i)) for i, part in enumerate(parts)
    ]
    for process in processes:
        process.start()
    time.sleep(1)  # let every process get ready
    cpu_before = {**cpu_by_component(), label: 0.0}
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
        assert process.exitcode == 0, f"one of the {label} failed"
    completed = time.perf_counter()
    delivered = wait_until(
        lambda: DeliveryAttempt.objects.filter(succeeded=True).count() >= n, timeout=3600, interval=0.2
    )
    finished = time.perf_counter()
    cpu_after = {**cpu_by_component(), label: sum(cpu_used)}
    return {
        "completion_rate": n / (completed - started),
        "rate": n / (finished - started),
        "delivered": delivered,
        "cpu": cpu_report(cpu_before, cpu_after, n),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_web(workers: int, port: int) -> str:
    """gunicorn as ``make run`` serves it (deploy/gunicorn.conf.py), ``workers`` processes on
    ``port``, once every worker answers; its base URL."""
    import urllib.error
    import urllib.request

    start_process(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
        ready=b"Booting worker",
        name="gunicorn",
        timeout=60,
        cwd=BASE_DIR,
        env={**os.environ, "PORT": str(port), "WEB_CONCURRENCY": str(workers)},
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)
        except urllib.error.HTTPError:
            return True  # an answer all the same
        except OSError:
            return False
        return True

    assert wait_until(answers, 60), "gunicorn did not answer"
    time.sleep(1)  # every worker booted
    return url
