"""CPU of the two hot paths in one process on PostgreSQL: ``task_complete``, then the claim.

``--n`` tasks are completed one by one (``task_complete``, each its own
transaction, the kick included), then their deliveries claimed ``--claim`` at a
time (``deliveries_claim``; nothing is sent). Printed: this process's CPU per
call (``time.process_time``) and every PostgreSQL process's; ``--profile``
prints the top of a cProfile of each phase (``cProfile.Profile(time.process_time)``).

    python bench/hot_cpu.py --n 1000 --claim 20 --rounds 2
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
    database = harness.cpu_by_component()["database"]
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    work()
    if profiler:
        profiler.disable()
    cpu = time.process_time() - cpu
    database = harness.cpu_by_component()["database"] - database
    print(
        f"{label}: {cpu * 1000 / calls:6.2f} ms CPU per call here, "
        f"{database * 1000 / calls:6.2f} ms in PostgreSQL ({calls} calls)",
        flush=True,
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("TOP", "35"))
        )


def hot_round(n: int, claim: int, profile: bool) -> None:
    from callbacks_app.engine.leases import deliveries_claim
    from callbacks_app.models import Delivery
    from tasks_app.services import task_complete

    _, ids = harness.make_tasks(n, "http://127.0.0.1:9/callback", email=f"hot{time.time()}@example.com")

    def complete():
        for task_id in ids:
            task_complete(task_id=task_id, response={"category": "red"})

    _measured("task_complete", n, complete, profile)
    due = list(Delivery.objects.filter(task_id__in=ids).values_list("id", flat=True))
    chunks = [due[i : i + claim] for i in range(0, len(due), claim)]

    def claim_all():
        for chunk in chunks:
            assert len(deliveries_claim(ids=chunk)) == len(chunk)

    _measured(f"claim of {claim}", len(chunks), claim_all, profile)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--claim", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    harness.configure("postgres")
    for _ in range(args.rounds):
        hot_round(args.n, args.claim, args.profile)


if __name__ == "__main__":
    main()
