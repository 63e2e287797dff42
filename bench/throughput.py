"""End-to-end callback throughput against a raw requests.Session loop, measured in one run.

End to end: ``task_complete`` commits → the cluster sends → the receiver answers
2xx → the attempt is recorded. The raw loop POSTs the same signed ~1 KB body to
the same receiver from one ``requests.Session``, one request after the other.

The completions come from ``--drivers`` processes (as from a web tier of that
many gunicorn workers), each completing its share of the tasks one after the
other. The figures include the CPU time each part of the run used per callback.

    python bench/throughput.py --backend sqlite   --n 10000
    python bench/throughput.py --backend postgres --n 10000
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


def raw_loop(url: str, body: bytes, headers: dict, n: int) -> tuple[float, float]:
    """The loop's rate, and the CPU milliseconds per request of its two ends (this process and
    the receiver): a yardstick of the machine's speed, for reading the CPU per callback of a
    run on a slower or a busier machine than another."""
    import requests

    session = requests.Session()
    before = harness.cpu_by_component()
    started = time.perf_counter()
    for _ in range(n):
        response = session.post(url, data=body, headers=headers, timeout=15)
        assert response.status_code == 200
    rate = n / (time.perf_counter() - started)
    after = harness.cpu_by_component()
    cpu = sum(after[part] - before[part] for part in ("benchmark", "receiver"))
    return rate, cpu * 1000 / n


def raw_loop_for(profile, task_id: str, url: str, n: int) -> tuple[float, float]:
    """The raw loop, POSTing the callback body of ``task_id`` as completed, signed as ScaleHooks signs it."""
    from django.utils import timezone

    from callbacks_app.payloads import callback_payload
    from callbacks_app.signing import sign
    from tasks_app.models import Task

    sample = Task.objects.get(id=task_id)
    sample.status, sample.response = "completed", {"category": "red"}
    body = callback_payload(sample)
    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.live_callback_auth_key,
        "webhook-id": "msg_bench",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(
            secrets=[profile.live_signing_secret], msg_id="msg_bench", timestamp=now, body=body
        ),
    }
    return raw_loop(url, body.encode(), headers, n)


def _drive(task_ids: list[str], go, cpu_used, index: int) -> None:
    """One driver process: complete these tasks one after the other once ``go`` is set;
    its CPU seconds go to ``cpu_used[index]``."""
    from django.db import connection

    from tasks_app.services import task_complete

    connection.close()  # never share the parent's connection
    go.wait()
    cpu = time.process_time()
    for task_id in task_ids:
        task_complete(task_id=task_id, response={"category": "red"})
    connection.close()
    cpu_used[index] = time.process_time() - cpu


def scalehooks_run(*, task_ids: list[str], drivers: int) -> dict:
    """Complete ``task_ids`` from ``drivers`` processes; wait until every callback is recorded delivered.

    A cluster must be running. Returns the completion and end-to-end rates and
    the CPU time per callback of each part.
    """
    parts = [(task_ids[i::drivers],) for i in range(drivers)]
    return harness.completions_run(target=_drive, parts=parts, n=len(task_ids), label="drivers")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=10_000, help="completions to deliver")
    parser.add_argument("--baseline-n", type=int, default=3_000, help="requests of the raw loop")
    parser.add_argument("--drivers", type=int, default=2, help="processes completing tasks")
    parser.add_argument("--clusters", type=int, default=1)
    args = parser.parse_args()

    harness.configure(args.backend)
    from django.conf import settings

    receiver = harness.start_receiver()
    profile, task_ids = harness.make_tasks(args.n, f"{receiver}/callback")
    raw_rate, raw_cpu = raw_loop_for(profile, task_ids[0], f"{receiver}/raw", args.baseline_n)
    harness.receiver_reset(receiver)
    for _ in range(args.clusters):
        harness.start_cluster()

    run = scalehooks_run(task_ids=task_ids, drivers=args.drivers)
    received = harness.receiver_stats(receiver)["unique_tasks"]
    print(
        f"backend                  {args.backend} (broker: {'redis' if settings.Q_CLUSTER.get('redis') else 'orm'}), "
        f"{settings.Q_WORKERS} workers x {args.clusters} cluster(s), {args.drivers} completing processes"
    )
    print(
        f"raw requests.Session     {raw_rate:8.0f} POST/s  ({args.baseline_n} requests; "
        f"{raw_cpu:.2f} ms of CPU per request, client and receiver)"
    )
    print(f"completions committed    {run['completion_rate']:8.0f} /s")
    print(
        f"end-to-end callbacks     {run['rate']:8.0f} /s  ({args.n} completions, all delivered: {run['delivered']}, "
        f"receiver saw {received} tasks)"
    )
    print(f"CPU per callback (ms)    {run['cpu']}")
    print(
        f"ratio                    {run['rate'] / raw_rate:8.2f}  (target: >= 0.3 on SQLite + ORM, >= 0.5 on PostgreSQL + Redis)"
    )


if __name__ == "__main__":
    main()
