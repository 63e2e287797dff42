"""ScaleHooks against django-webhook (Celery + Redis), delivering to the same receiver in one run.

Both sides run on PostgreSQL + Redis, one after the other, against one receiver
process (bench/receiver.py), with the same count of driver processes changing
``--n`` rows:

- ScaleHooks: ``throughput.scalehooks_run`` (``task_complete`` from the
  drivers; the cluster signs, sends and records every attempt in its ledger).
- django-webhook 0.0.15: the Django project under bench/peer/ in a venv of its
  own (bench/peer/requirements.txt; it brings its own Django and Celery); its
  drivers (bench/peer/drive.py) read a task, complete it and ``save()``; the
  ``post_save`` receiver queues ``fire_webhook``; a Celery worker (prefork, its
  default concurrency: one process per core) signs, sends and records each
  attempt as a ``WebhookEvent``.

Each rate is ``n`` over the time from the drivers' start to the last webhook
recorded delivered in that side's ledger. The CPU lines are milliseconds per
event by component (``harness.cpu_by_component``; processes that exited during
the run, such as database backends of closed connections, included).

Only PostgreSQL + Redis (the stack Celery needs); the peer's database is
``scalehooks_bench_peer`` and its broker Redis db 10, both emptied at each run.
The peer venv is created on first use:

    python3 -m venv bench/peer/.venv && bench/peer/.venv/bin/pip install -r bench/peer/requirements.txt
    flock /tmp/bench.lock .venv/bin/python bench/peer.py --n 10000
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import throughput

PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_PYTHON = PEER_DIR / ".venv" / "bin" / "python"
PEER_DATABASE_NAME = "scalehooks_bench_peer"
PEER_DATABASE_URL = f"{harness.PG_ADMIN_URL}/{PEER_DATABASE_NAME}"
PEER_BROKER_URL = os.environ.get("BENCH_PEER_REDIS_URL", "redis://127.0.0.1:6379/10")


def peer_env(**extra: str) -> dict[str, str]:
    """The environment of the peer's processes (this process's own points at ScaleHooks)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "peerproject.settings",
        "PEER_DATABASE_URL": PEER_DATABASE_URL,
        "PEER_BROKER_URL": PEER_BROKER_URL,
        **extra,
    }


def ensure_peer_venv() -> None:
    """Create bench/peer/.venv from bench/peer/requirements.txt unless it exists."""
    if PEER_PYTHON.exists():
        return
    print("creating bench/peer/.venv (once)", flush=True)
    subprocess.run(["python3", "-m", "venv", str(PEER_DIR / ".venv")], check=True)
    subprocess.run(
        [str(PEER_PYTHON), "-m", "pip", "install", "-q", "-r", str(PEER_DIR / "requirements.txt")], check=True
    )


def peer_setup(n: int, url: str) -> None:
    """A fresh peer database with ``n`` pending tasks whose updates fire a webhook to ``url``."""
    for statement in (
        f"DROP DATABASE IF EXISTS {PEER_DATABASE_NAME}",
        f"CREATE DATABASE {PEER_DATABASE_NAME}",
    ):
        subprocess.run(["psql", f"{harness.PG_ADMIN_URL}/postgres", "-qc", statement], check=True)
    subprocess.run(
        [str(PEER_PYTHON), "drive.py", "setup", "--n", str(n), "--url", url],
        cwd=PEER_DIR,
        env=peer_env(),
        check=True,
    )


def start_celery_worker(concurrency: int | None, db_reuse: bool) -> subprocess.Popen:
    """The peer's Celery worker, as django-webhook's docs run it (``celery -A … worker``), stopped at exit.

    ``db_reuse``: keep each worker process's database connection across tasks
    (see ``CELERY_DB_REUSE_MAX`` in bench/peer/peerproject/settings.py).
    """
    command = [str(PEER_PYTHON), "-m", "celery", "-A", "peerproject", "worker", "--loglevel", "WARNING"]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    env = peer_env(PEER_DB_REUSE_MAX="1000000") if db_reuse else peer_env()
    return harness.start_process(
        command, ready=b"peer worker ready", name="celery", timeout=60, cwd=PEER_DIR, env=env
    )


def _webhooks_delivered(connection) -> int:
    return connection.execute(
        "SELECT count(*) FROM django_webhook_webhookevent WHERE status = 'SUCCESS'"
    ).fetchone()[0]


def peer_run(*, n: int, drivers: int) -> dict:
    """Complete the peer's ``n`` tasks from ``drivers`` processes; wait until every webhook is recorded delivered.

    A worker must be running. Returns the same figures as ``throughput.scalehooks_run``.
    """
    import psycopg

    drive = subprocess.Popen(
        [str(PEER_PYTHON), "drive.py", "run", "--drivers", str(drivers)],
        cwd=PEER_DIR,
        env=peer_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if drive.stdout.readline().strip() != "ready":
            raise RuntimeError("the peer's drivers did not start")
        with psycopg.connect(PEER_DATABASE_URL, autocommit=True) as connection:
            cpu_before = {**harness.cpu_by_component(), "drivers": 0.0}
            started = time.perf_counter()
            drive.stdin.write("go\n")
            drive.stdin.flush()
            delivered = harness.wait_until(
                lambda: _webhooks_delivered(connection) >= n, timeout=3600, interval=0.2
            )
            finished = time.perf_counter()
        report = json.loads(drive.stdout.readline() or "null")
        if not report:
            raise RuntimeError("the peer's drivers failed")
        cpu_after = {**harness.cpu_by_component(), "drivers": report["drivers_cpu"]}
    finally:
        if drive.poll() is None:
            drive.kill()
        drive.wait()
    return {
        "completion_rate": n / report["seconds"],
        "rate": n / (finished - started),
        "delivered": delivered,
        "cpu": harness.cpu_report(cpu_before, cpu_after, n),
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="events (task completions) per side")
    parser.add_argument("--drivers", type=int, default=2, help="processes completing tasks, on each side")
    parser.add_argument(
        "--celery-concurrency",
        type=int,
        default=None,
        help="the peer worker's processes (default: Celery's, one per core)",
    )
    parser.add_argument(
        "--peer-db-reuse",
        action="store_true",
        help="let the peer's Celery worker keep its database connections (not its default)",
    )
    args = parser.parse_args()

    harness.configure("postgres")
    from django.conf import settings

    receiver = harness.start_receiver()

    _, task_ids = harness.make_tasks(args.n, f"{receiver}/callback")
    cluster = harness.start_cluster()
    ours = throughput.scalehooks_run(task_ids=task_ids, drivers=args.drivers)
    ours_received = harness.receiver_stats(receiver)["by_path"].get("/callback", 0)
    harness.stop(cluster)

    harness.receiver_reset(receiver)
    ensure_peer_venv()
    peer_setup(args.n, f"{receiver}/peer")
    worker = start_celery_worker(args.celery_concurrency, args.peer_db_reuse)
    peer = peer_run(n=args.n, drivers=args.drivers)
    peer_received = harness.receiver_stats(receiver)["by_path"].get("/peer", 0)
    harness.stop(worker)

    print(
        f"stack                    PostgreSQL + Redis, {args.n} events per side from {args.drivers} driver "
        f"processes, one receiver"
    )
    print(f"ScaleHooks               {settings.Q_WORKERS} django-q2 workers, signed, ledger on")
    print(f"  completions committed  {ours['completion_rate']:8.0f} /s")
    print(
        f"  end to end             {ours['rate']:8.0f} /s  (all delivered: {ours['delivered']}, "
        f"receiver saw {ours_received})"
    )
    print(f"  CPU per callback (ms)  {ours['cpu']}")
    print(
        f"django-webhook 0.0.15    Celery prefork x {args.celery_concurrency or os.cpu_count()}, "
        f"one signing secret, STORE_EVENTS on"
        f"{', database connections kept (CELERY_DB_REUSE_MAX)' if args.peer_db_reuse else ''}"
    )
    print(f"  saves committed        {peer['completion_rate']:8.0f} /s")
    print(
        f"  end to end             {peer['rate']:8.0f} /s  (all delivered: {peer['delivered']}, "
        f"receiver saw {peer_received})"
    )
    print(f"  CPU per webhook (ms)   {peer['cpu']}  (cluster = the Celery worker)")
    print(
        f"ratio                    {ours['rate'] / peer['rate']:8.2f}  ScaleHooks / django-webhook "
        f"(target: > 1)"
    )


if __name__ == "__main__":
    main()
