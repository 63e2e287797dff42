"""Callbacks to slow receivers (issue 15): the rate, the sends in flight, the cluster's memory.

``--receivers`` receivers on 127.0.0.2, 127.0.0.3, … (one origin each) answer
every callback after ``--delay`` seconds, as receivers that work before they
answer. ``--accounts`` accounts share ``--n`` callbacks, each account calling
its own ``receivers / accounts`` receivers. The callbacks are committed while
they are parked (not due); the cluster starts and its idle memory is read;
then all fall due at once. Printed: the delivery rate (first to last receipt),
the receiver's peak and median count of requests in flight against the
Little's-law limit (workers x CALLBACK_SENDS_IN_FLIGHT, and the per-origin
caps), the cluster's CPU per callback and its memory (RSS of all its
processes) at idle and at its peak while sending.

    python bench/slow_receivers.py --n 6000 --receivers 60 --accounts 6 --delay 2
    python bench/slow_receivers.py --n 6000 --receivers 60 --accounts 1 --delay 2
    python bench/slow_receivers.py --n 6000 --receivers 1 --accounts 1 --delay 0.1
"""

import argparse
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

PORT = 9200
PARKED = timedelta(hours=1)


def cluster_rss_mb(process) -> float:
    total = 0
    try:
        parent = psutil.Process(process.pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for proc in family:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def parked_callbacks(*, n: int, receivers: int, accounts: int) -> None:
    """``n`` completed tasks of ``accounts`` accounts, their callbacks committed but not due yet."""
    from django.db import transaction
    from django.utils import timezone

    from callbacks_app.models import Delivery
    from tasks_app.models import Task
    from tasks_app.services import task_complete

    per_account = n // accounts
    hosts_per_account = max(1, receivers // accounts)
    for a in range(accounts):
        _, ids = harness.make_tasks(per_account, "http://127.0.0.1/", email=f"slow{a}@example.com")
        for h in range(hosts_per_account):
            host = 2 + (a * hosts_per_account + h) % receivers
            Task.objects.filter(id__in=ids[h::hosts_per_account]).update(
                callback_url=f"http://127.0.0.{host}:{PORT}/callback"
            )
        with transaction.atomic():
            for task_id in ids:
                task_complete(task_id=task_id, response={"category": "red"})
    Delivery.objects.update(next_attempt_at=timezone.now() + PARKED)


class Sampler(threading.Thread):
    """Reads the receiver's requests in flight and the cluster's memory every 0.2 s."""

    def __init__(self, receiver: str, cluster):
        super().__init__(daemon=True)
        self.receiver, self.cluster = receiver, cluster
        self.in_flight: list[int] = []
        self.rss: list[float] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.2):
            self.in_flight.append(harness.receiver_stats(self.receiver)["in_flight"])
            self.rss.append(cluster_rss_mb(self.cluster))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--receivers", type=int, default=60)
    parser.add_argument("--accounts", type=int, default=6)
    parser.add_argument("--delay", type=float, default=2.0)
    args = parser.parse_args()

    harness.configure(args.backend)
    from django.conf import settings
    from django.utils import timezone

    from callbacks_app.models import Delivery, DeliveryAttempt
    from callbacks_app.wakeups import dispatchers_wake

    receiver = harness.start_receiver(PORT, 0, "--hosts", str(args.receivers), "--delay", str(args.delay))
    parked_callbacks(n=args.n, receivers=args.receivers, accounts=args.accounts)
    n = Delivery.objects.count()
    cluster = harness.start_cluster()
    time.sleep(5)  # started dispatchers find nothing due
    idle_rss = cluster_rss_mb(cluster)

    sampler = Sampler(receiver, cluster)
    sampler.start()
    cpu_before = harness.cpu_by_component()
    Delivery.objects.update(next_attempt_at=timezone.now())
    dispatchers_wake()  # else the dispatchers find them at their next look, within a second
    delivered = harness.wait_until(
        lambda: DeliveryAttempt.objects.filter(succeeded=True).count() >= n, timeout=1800, interval=0.5
    )
    cpu_after = harness.cpu_by_component()
    sampler.stop.set()
    sampler.join()
    receipts = sorted(harness.receiver_receipts(receiver).values())
    # receipt times are when the answer was written, after the delay
    rate = (len(receipts) - 1) / (receipts[-1] - receipts[0]) if len(receipts) > 1 else 0.0
    busy = [x for x in sampler.in_flight if x > 0]
    steady = busy[len(busy) // 5 : len(busy) * 4 // 5] or busy or [0]
    workers = settings.Q_WORKERS
    slots_per_job = getattr(settings, "CALLBACK_SENDS_IN_FLIGHT", 64)  # 64 before issue 15
    slots = workers * slots_per_job
    per_origin = args.receivers * settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET
    limit = min(slots, per_origin, n)
    print(
        f"backend {args.backend}, {workers} workers, CALLBACK_SENDS_IN_FLIGHT "
        f"{slots_per_job}, {args.accounts} account(s), {args.receivers} receiver(s) "
        f"answering after {args.delay:g} s, {n} callbacks (all delivered: {delivered})"
    )
    print(f"rate                {rate:8.0f} callbacks/s (first to last receipt)")
    print(
        f"in flight           peak {max(sampler.in_flight or [0])}, median {statistics.median(steady):.0f} "
        f"(Little's-law limit {limit}: min(workers x slots {slots}, receivers x per-origin cap {per_origin}); "
        f"at that limit {limit / args.delay:.0f}/s)"
    )
    print(f"CPU per callback    {harness.cpu_report(cpu_before, cpu_after, n)}")
    print(
        f"cluster memory      idle {idle_rss:.0f} MiB, peak while sending {max(sampler.rss or [0]):.0f} MiB"
    )


if __name__ == "__main__":
    main()
