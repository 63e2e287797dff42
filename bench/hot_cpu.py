"""CPU of the three hot paths in one process: ``task_complete``, the claim, the recording.

``--n`` tasks are completed one by one (``task_complete``, each its own
transaction, the kick included), then their deliveries claimed ``--claim`` at a
time (``deliveries_claim``; nothing is sent), then each claim's attempts recorded
as answered 200 (``attempts_record``, one batch per claim, as a drain job's
recorder writes them). Printed: this process's CPU per call
(``time.process_time``) and, on PostgreSQL, every PostgreSQL process's; ``--profile``
prints the top of a cProfile of each phase (``cProfile.Profile(time.process_time)``).

    python bench/hot_cpu.py --n 1000 --claim 20 --rounds 2
    python bench/hot_cpu.py --n 1000 --claim 4 --backend sqlite
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


def _measured(label: str, calls: int, work, profile: bool) -> None:
    profiler = cProfile.Profile(time.process_time) if profile else None
    database = harness.cpu_by_component().get("database", 0.0)
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    work()
    if profiler:
        profiler.disable()
    cpu = time.process_time() - cpu
    database = harness.cpu_by_component().get("database", 0.0) - database
    from django.db import connection

    in_database = (
        f", {database * 1000 / calls:6.2f} ms in PostgreSQL" if connection.vendor == "postgresql" else ""
    )
    print(f"{label}: {cpu * 1000 / calls:6.2f} ms CPU per call here{in_database} ({calls} calls)", flush=True)
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("TOP", "35"))
        )


def hot_round(n: int, claim: int, profile: bool) -> None:
    from callbacks_app import transport
    from callbacks_app.engine.attempt import SendResult
    from callbacks_app.engine.leases import deliveries_claim
    from callbacks_app.engine.recording import attempts_record
    from callbacks_app.models import Delivery
    from tasks_app.services import task_complete

    _, ids = harness.make_tasks(n, "http://127.0.0.1:9/callback", email=f"hot{time.time()}@example.com")

    def complete():
        for task_id in ids:
            task_complete(task_id=task_id, response={"category": "red"})

    _measured("task_complete", n, complete, profile)
    due = list(Delivery.objects.filter(task_id__in=ids).values_list("id", flat=True))
    chunks = [due[i : i + claim] for i in range(0, len(due), claim)]

    claims = []

    def claim_all():
        for chunk in chunks:
            claims.append(deliveries_claim(ids=chunk))
            assert len(claims[-1]) == len(chunk)

    _measured(f"claim of {claim}", len(chunks), claim_all, profile)
    answered = transport.CallbackResult(ok=True, duration_ms=3, status_code=200, body_excerpt="ok")

    def record_all():
        for batch in claims:
            attempts_record(results=[(c, SendResult(headers=c.headers, result=answered)) for c in batch])

    _measured(f"record of {claim}", len(claims), record_all, profile)
    assert not Delivery.objects.filter(task_id__in=ids).exclude(status=Delivery.Status.SUCCEEDED).exists()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--claim", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args()
    harness.configure(args.backend)
    for _ in range(args.rounds):
        hot_round(args.n, args.claim, args.profile)


if __name__ == "__main__":
    main()
