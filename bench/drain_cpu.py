"""The engine alone: rate and CPU per callback of a dispatcher run in this process.

``--n`` completions to 4 fast origins are committed, then a dispatcher
(``engine.dispatcher.Dispatcher``) runs in this process (no cluster) with ``--in-flight`` slots until
every callback is recorded delivered. CPU is this process's
(``time.process_time``: the dispatcher, the sends, and SQLite, which runs inside).

    python bench/drain_cpu.py --n 2000 --in-flight 64,384 --rounds 2
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

PORT = 9270


def drain_round(receiver: str, n: int, in_flight: int) -> tuple[float, float]:
    """(callbacks/s, CPU ms per callback) of one round."""
    from django.db import transaction

    from callbacks_app.engine.dispatcher import Dispatcher, senders
    from callbacks_app.models import DeliveryAttempt
    from tasks_app.models import Task
    from tasks_app.services import task_complete

    before = DeliveryAttempt.objects.filter(succeeded=True).count()
    _, ids = harness.make_tasks(n, f"{receiver}/callback", email=f"drain{time.time()}@example.com")
    for i in range(4):
        Task.objects.filter(id__in=ids[i::4]).update(callback_url=f"http://127.0.0.1:{PORT + i}/callback")
    with transaction.atomic():
        for task_id in ids:
            task_complete(task_id=task_id, response={"category": "red"})
    started, cpu = time.perf_counter(), time.process_time()
    while DeliveryAttempt.objects.filter(succeeded=True).count() < before + n:
        Dispatcher(sender=senders, slots=in_flight).run(idle_exit=0.1)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return n / elapsed, cpu * 1000 / n


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--in-flight", default="64,384")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    harness.configure("sqlite")
    receiver = harness.start_receiver(PORT, 3)
    for _ in range(args.rounds):
        for in_flight in (int(x) for x in args.in_flight.split(",")):
            rate, cpu = drain_round(receiver, args.n, in_flight)
            print(
                f"in flight {in_flight:4}: {rate:6.0f} callbacks/s, {cpu:5.2f} ms CPU per callback",
                flush=True,
            )


if __name__ == "__main__":
    main()
