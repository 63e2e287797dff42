"""How late retries go out against their due time.

Every callback's first attempt gets a 500 (the receiver's ``/fail-first``), so
each delivery schedules one retry ``--delay`` seconds later (±10 % jitter).
The due time is read from the ledger (``next_attempt_at``) while the retry
waits; lateness is the retry attempt's start minus that due time.

    python bench/punctuality.py --backend sqlite --n 1000
    python bench/punctuality.py --backend postgres --n 1000
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
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=5.0, help="the retry delay, seconds")
    parser.add_argument("--rate", type=float, default=100.0, help="completions per second")
    args = parser.parse_args()
    harness.configure(args.backend, CALLBACK_RETRY_SCHEDULE=f"{args.delay},{args.delay}")
    from callbacks_app.models import Delivery, DeliveryAttempt
    from tasks_app.services import task_complete

    receiver = harness.start_receiver(9103)
    _, task_ids = harness.make_tasks(args.n, f"{receiver}/fail-first")
    harness.start_cluster()

    due = {}

    def watch():
        for delivery_id, next_at in Delivery.objects.filter(
            status="pending", attempt_count=1, next_attempt_at__isnull=False, leased_until__isnull=True
        ).values_list("id", "next_attempt_at"):
            due.setdefault(delivery_id, next_at)

    started = time.monotonic()
    for i, task_id in enumerate(task_ids):
        pause = started + i / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        task_complete(task_id=task_id, response={"category": "red"})
        if i % 20 == 0:
            watch()
    deadline = time.monotonic() + 120
    while DeliveryAttempt.objects.filter(number=2).count() < args.n and time.monotonic() < deadline:
        watch()
        time.sleep(0.1)
    retries = dict(DeliveryAttempt.objects.filter(number=2).values_list("delivery_id", "started_at"))
    lateness = sorted((retries[d] - due[d]).total_seconds() for d in due if d in retries)
    print(f"backend {args.backend}: {len(retries)}/{args.n} retries sent, due time seen for {len(lateness)}")
    print(
        f"lateness s: p50 {harness.percentile(lateness, 0.5):.2f}  p99 {harness.percentile(lateness, 0.99):.2f}  "
        f"max {lateness[-1]:.2f}  (target: p99 <= 5 s; negative = early, never expected)"
    )


if __name__ == "__main__":
    main()
