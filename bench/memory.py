"""Worker memory over many deliveries: does a cluster's resident memory stay flat?

Delivers ``--n`` callbacks in chunks of 10,000 (each chunk's completions commit
together) and samples the resident memory (RSS) of every process of the
cluster after each chunk. Target: flat within ±10 % after the first chunk.

    python bench/memory.py --backend sqlite --n 100000
"""

import argparse
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

CHUNK = 10_000


def cluster_rss_mb(process) -> float:
    parent = psutil.Process(process.pid)
    total = 0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    harness.configure(args.backend)
    from django.db import transaction

    from callbacks_app.models import DeliveryAttempt
    from tasks_app.services import task_complete

    receiver = harness.start_receiver(9105)
    cluster = harness.start_cluster()
    samples = []
    delivered = 0
    started = time.monotonic()
    while delivered < args.n:
        _, ids = harness.make_tasks(CHUNK, f"{receiver}/callback", email=f"m{delivered}@example.com")
        with transaction.atomic():
            for task_id in ids:
                task_complete(task_id=task_id, response={"category": "red"})
        delivered += CHUNK
        harness.wait_until(
            lambda delivered=delivered: DeliveryAttempt.objects.filter(succeeded=True).count() >= delivered,
            1800,
            interval=0.5,
        )
        samples.append(cluster_rss_mb(cluster))
        print(
            f"{delivered:>7} delivered  cluster RSS {samples[-1]:7.1f} MiB  "
            f"({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    base = samples[0]
    drift = max(abs(s - base) for s in samples[1:]) / base * 100 if len(samples) > 1 else 0
    print(f"after the first chunk: {base:.1f} MiB; largest change since: {drift:.1f} % (target: within 10 %)")


if __name__ == "__main__":
    main()
