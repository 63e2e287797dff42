"""Latency from the commit of a completion to the receipt of its callback, at an offered rate.

Completions are made at ``--rate`` per second (one thread, paced); each one's
commit time is taken when ``task_complete`` returns, its receipt time by the
receiver. Prints p50/p90/p99/max.

    python bench/latency.py --backend postgres --rate 100 --seconds 20   # Redis broker
    python bench/latency.py --backend sqlite   --rate 100 --seconds 20   # ORM broker
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rate", type=float, default=100.0, help="completions per second offered")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    harness.configure(args.backend)
    from django.conf import settings

    from tasks_app.services import task_complete

    receiver = harness.start_receiver(9102)
    n = int(args.rate * args.seconds)
    _, warmup = harness.make_tasks(20, f"{receiver}/warmup", email="warmup@example.com")
    _, task_ids = harness.make_tasks(n, f"{receiver}/callback")
    harness.start_cluster()
    for task_id in warmup:
        task_complete(task_id=task_id, response={"category": "red"})
    harness.wait_until(lambda: harness.receiver_stats(receiver)["unique_tasks"] >= len(warmup), 30)

    committed = {}
    started = time.monotonic()
    for i, task_id in enumerate(task_ids):
        pause = started + i / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        task_complete(task_id=task_id, response={"category": "red"})
        committed[task_id] = time.time()
    offered = n / (time.monotonic() - started)
    harness.wait_until(
        lambda: harness.receiver_stats(receiver)["unique_tasks"] >= n + len(warmup), 120, interval=0.2
    )
    receipts = harness.receiver_receipts(receiver)
    latencies = [(receipts[t] - committed[t]) * 1000 for t in task_ids if t in receipts]
    broker = "redis" if settings.Q_CLUSTER.get("redis") else "orm"
    print(
        f"backend {args.backend}, broker {broker}, {settings.Q_WORKERS} workers; "
        f"offered {offered:.0f} completions/s for {args.seconds:.0f} s; {len(latencies)}/{n} delivered"
    )
    print(
        f"commit -> receipt latency ms: p50 {harness.percentile(latencies, 0.5):.0f}  "
        f"p90 {harness.percentile(latencies, 0.9):.0f}  p99 {harness.percentile(latencies, 0.99):.0f}  "
        f"max {max(latencies):.0f}"
    )
    print(
        "targets (issue 15): p50 <= 10 ms and p99 <= 30 ms on PostgreSQL + Redis; p50 <= 50 ms on the ORM broker"
    )


if __name__ == "__main__":
    main()
