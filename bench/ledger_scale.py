"""Finding due deliveries in a large ledger: 1,000,000 deliveries, 100,000 of them pending.

Times the dispatcher's query (``dispatcher.deliveries_due``) and prints its plan.

    python bench/ledger_scale.py --backend sqlite
    python bench/ledger_scale.py --backend postgres
"""

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=100_000)
    args = parser.parse_args()
    harness.configure(args.backend)

    from django.db import connection
    from django.utils import timezone

    from callbacks_app.dispatcher import deliveries_due
    from callbacks_app.models import Delivery, generate_delivery_id

    profile, task_ids = harness.make_tasks(1000, "http://127.0.0.1:9/")
    now = timezone.now()
    started = time.perf_counter()
    batch = []
    for i in range(args.deliveries):
        pending = i < args.pending
        batch.append(Delivery(
            id=f"{generate_delivery_id()[:-6]}{i:06x}"[-28:],
            task_id=task_ids[i % len(task_ids)],
            event="task.completed",
            target="http://127.0.0.1:9/",
            payload="{}",
            status="pending" if pending else ("succeeded" if i % 10 else "failed"),
            attempt_count=1,
            # Pending ones are spread over the next 24 h; 1 % are due now.
            next_attempt_at=(now + timedelta(seconds=(i % 100) * 864 - 100)) if pending else None,
            finished_at=None if pending else now - timedelta(minutes=i % 10_000),
        ))
        if len(batch) == 20_000:
            Delivery.objects.bulk_create(batch)
            batch = []
    Delivery.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated {Delivery.objects.count():,} deliveries "
          f"({Delivery.objects.filter(status='pending').count():,} pending) in {time.perf_counter() - started:.0f} s")

    timings = []
    for _ in range(50):
        t0 = time.perf_counter()
        due = deliveries_due(now=timezone.now())
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"deliveries_due: {len(due)} due rows returned; "
          f"median {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms over 50 runs (target <= 10 ms)")

    query = Delivery.objects.filter(status="pending", next_attempt_at__lte=timezone.now())
    from django.db.models import Q
    query = query.filter(Q(leased_until__isnull=True) | Q(leased_until__lt=timezone.now())).order_by("next_attempt_at")
    print("plan:")
    print(query.values_list("id", flat=True)[:200].explain())


if __name__ == "__main__":
    main()
