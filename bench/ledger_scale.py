"""Finding due deliveries in a large ledger: 1,000,000 deliveries, 100,000 of them pending.

Times the query that picks the deliveries to send (``engine.picking.deliveries_to_send``, with
no send in flight and again with 640:
in-flight counts per origin and account, then due rows, then due rows of other accounts
than those found: the whole of the 1,000 due rows, as one account holds them), then picking and claiming them
(``engine.deliveries_claim``: the lease, the attempt rows) as a drain job does before it
sends, then recording what they sent (``engine.recording.attempts_record``, a batch of 32
per transaction, target health included), and prints the plans of the due query and of the in-flight count.

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
import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--pending", type=int, default=100_000)
    args = parser.parse_args()
    harness.configure(args.backend)

    from django.db import connection
    from django.utils import timezone

    from callbacks_app.engine import pick_sql
    from callbacks_app.engine.attempt import SendResult
    from callbacks_app.engine.leases import deliveries_claim
    from callbacks_app.engine.picking import deliveries_to_send
    from callbacks_app.engine.recording import attempts_record
    from callbacks_app.models import Delivery, generate_delivery_id

    profile, task_ids = harness.make_tasks(1000, "http://127.0.0.1:9/")
    now = timezone.now()
    started = time.perf_counter()
    batch = []
    for i in range(args.deliveries):
        pending = i < args.pending
        batch.append(
            Delivery(
                id=f"{generate_delivery_id()[:-6]}{i:06x}"[-28:],
                task_id=task_ids[i % len(task_ids)],
                owner_id=profile.user_id,
                event="task.completed",
                target=f"http://127.0.0.1:9/{i // 100 % 50}",  # 50 targets, the due ones too
                target_origin=f"http://127.0.0.1:{9 + i // 100 % 50}",  # as if on 50 origins
                payload="{}",
                status="pending" if pending else ("succeeded" if i % 10 else "failed"),
                attempt_count=1,
                # Pending ones are spread over the next 24 h; 1 % are due now.
                next_attempt_at=(now + timedelta(seconds=(i % 100) * 864 - 100)) if pending else None,
                finished_at=None if pending else now - timedelta(minutes=i % 10_000),
            )
        )
        if len(batch) == 20_000:
            Delivery.objects.bulk_create(batch)
            batch = []
    Delivery.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"generated {Delivery.objects.count():,} deliveries "
        f"({Delivery.objects.filter(status='pending').count():,} pending) in {time.perf_counter() - started:.0f} s"
    )

    timings = []
    for _ in range(50):
        t0 = time.perf_counter()
        due = deliveries_to_send(now=timezone.now(), limit=32)
        timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"deliveries_to_send: {len(due)} picked; "
        f"median {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms over 50 runs (target <= 10 ms)"
    )

    conn, statements = pick_sql._connection()
    explain = "EXPLAIN QUERY PLAN " if conn.vendor == "sqlite" else "EXPLAIN "

    def plan(title: str, sql: str, params: list) -> None:
        print(title)
        with conn.cursor() as cursor:
            cursor.execute(explain + sql, params)
            print("\n".join(" ".join(str(column) for column in row) for row in cursor.fetchall()))

    plan("plan of the pick's due query:", *pick_sql.due_statement(now=timezone.now(), window=128))
    plan(
        "plan of the due query for other accounts (it finds none: every due row is looked at):",
        *pick_sql.due_statement(now=timezone.now(), window=128, accounts_out=[profile.user_id]),
    )

    timings = []
    claims = []
    for _ in range(20):
        t0 = time.perf_counter()
        claims.append(deliveries_claim(ids=deliveries_to_send(now=timezone.now(), limit=32)))
        timings.append((time.perf_counter() - t0) * 1000)
    claimed = sum(len(batch) for batch in claims)
    print(
        f"pick and claim 32: {claimed} claimed in 20 runs; "
        f"median {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms"
    )
    timings = []
    for _ in range(50):  # the sends in flight are the oldest due rows: a pick must not step over them
        t0 = time.perf_counter()
        deliveries_to_send(now=timezone.now(), limit=32)
        timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"deliveries_to_send with {claimed} sends in flight: "
        f"median {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms over 50 runs"
    )

    # Recording what those claims sent, a batch per claim as the drain's recorder does:
    # every other attempt a 500, so that each batch fails and succeeds on its origins.
    timings = []
    for batch in claims:
        results = [
            (claim, SendResult(headers=claim.headers, result=_result(ok=i % 2 == 0)))
            for i, claim in enumerate(batch)
        ]
        t0 = time.perf_counter()
        attempts_record(results=results)
        timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"record 32 attempts: {len(timings)} batches; "
        f"median {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms"
    )
    at = statements.datetime.get_db_prep_value(timezone.now(), conn)
    plan(
        f"plan of the in-flight count ({claimed} sends in flight):",
        statements.in_flight,
        [Delivery.Status.PENDING, at],
    )


def _result(*, ok: bool):
    from callbacks_app.transport import CallbackResult

    if ok:
        return CallbackResult(ok=True, status_code=200, body_excerpt="ok", error="", duration_ms=12)
    return CallbackResult(ok=False, status_code=500, body_excerpt="boom", error="HTTP 500", duration_ms=40)


if __name__ == "__main__":
    main()
