"""Isolation: a target that never answers must not slow the others down.

Phase 1 delivers ``--n`` callbacks spread over four healthy targets; phase 2
the same number again, plus a fifth target that holds every request until
the timeout and gets 20 % of all traffic. The healthy targets' delivery rate
of phase 2 over phase 1 is the figure (target: >= 0.8). With ``--other-account``, phase
3 sends the same healthy callbacks beside another account's deliveries (20 % of the
traffic again) to hanging targets on 16 origins, which the per-origin cap alone does not
bound: the fair shares between accounts do (its figure: phase 3 over phase 1). Phase 4 is
its control: the same traffic of the other account to 16 origins that answer at once, so
that phase 3 over phase 4 is what the hanging costs beyond the other account's share of
the machine (starting 750 sends costs CPU whether their receivers answer or not).

Each phase's completions commit together (one transaction), so that what is
measured is the delivery, not the 25 % more completions of phase 2: the clock
starts at that commit and stops when the last healthy callback is recorded.

A phase lasts a few seconds, and one phase's rate varies by a third from run
to run on a shared 2-core machine, so the pair runs ``--rounds`` times and the
figure is the ratio of the medians. Between rounds the hanging target's
deliveries are finished as failed (no retries) and its sends left to time out,
so that every phase 1 runs without it.

    python bench/isolation.py --backend sqlite
    python bench/isolation.py --backend postgres
"""

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=3000, help="healthy callbacks per phase")
    parser.add_argument("--rounds", type=int, default=3, help="phase 1 / phase 2 pairs")
    parser.add_argument(
        "--other-account",
        action="store_true",
        help="phase 3: another account's hanging targets on 16 origins; phase 4: the same, answering",
    )
    args = parser.parse_args()
    harness.configure(args.backend)
    from django.conf import settings
    from django.db import transaction

    from callbacks_app.models import Delivery
    from tasks_app.models import Task
    from tasks_app.services import task_complete

    # Each target on an origin of its own (9104-9108): the caps count origins.
    harness.start_receiver(9104, extra_ports=4)
    if args.other_account:
        harness.start_receiver(9120, extra_ports=15)
    healthy = [f"http://127.0.0.1:{9104 + i}/healthy{i}" for i in range(4)]
    harness.start_cluster()
    _, template_ids = harness.make_tasks(1, healthy[0])
    template = Task.objects.get(id=template_ids[0])
    other_owner = (
        harness.make_tasks(0, healthy[0], email="other@example.com")[0].user if args.other_account else None
    )

    def phase(name: str, hanging_share: float, hanging_targets=None, hanging_owner=None) -> float:
        n_hang = int(args.n * hanging_share / (1 - hanging_share))
        hanging_targets = itertools.cycle(hanging_targets or [hanging])
        targets = [
            *itertools.islice(itertools.cycle(healthy), args.n),
            *itertools.islice(hanging_targets, n_hang),
        ]
        # Interleave the hanging target evenly through the healthy traffic.
        tasks = Task.objects.bulk_create(
            Task(
                owner=(hanging_owner or template.owner) if i >= args.n else template.owner,
                type=template.type,
                params=template.params,
                callback_url=targets[i],
            )
            for i in sorted(
                range(len(targets)),
                key=lambda i: i * 1.0 if i < args.n else (i - args.n) * (args.n / max(n_hang, 1)) + 0.5,
            )
        )
        ids = [t.id for t in tasks]
        with transaction.atomic():
            for task_id in ids:
                task_complete(task_id=task_id, response={"category": "red"})
        started = time.monotonic()
        healthy_ids = [
            t.id for t in tasks if t.owner_id == template.owner_id and "/hang/" not in t.callback_url
        ]
        harness.wait_until(
            lambda: (
                Delivery.objects.filter(task_id__in=healthy_ids, status="succeeded").count()
                >= len(healthy_ids)
            ),
            timeout=600,
            interval=0.2,
        )
        rate = len(healthy_ids) / (time.monotonic() - started)
        print(
            f"{name:<52} healthy callbacks/s {rate:7.0f}  ({len(healthy_ids)} healthy, {n_hang} to the other targets)"
        )
        return rate

    hanging = "http://127.0.0.1:9108/hang/x"
    # The second receiver listens on 9120-9135: one hanging target per origin.
    hostile = [f"http://127.0.0.1:{9120 + k}/hang/x" for k in range(16)]
    answering = [f"http://127.0.0.1:{9120 + k}/ok/x" for k in range(16)]
    alone, shared, beside_other, beside_answering = [], [], [], []

    def finish_hanging():
        Delivery.objects.filter(target__contains="/hang/", status="pending").update(
            status="failed", next_attempt_at=None
        )
        time.sleep(settings.CALLBACK_CONNECT_TIMEOUT + settings.CALLBACK_TIMEOUT + 1)

    for round_number in range(1, args.rounds + 1):
        alone.append(phase(f"round {round_number}, phase 1: healthy targets alone", 0.0))
        shared.append(phase(f"round {round_number}, phase 2: + hanging target at 20 %", 0.2))
        if args.other_account:
            finish_hanging()
            beside_other.append(
                phase(
                    f"round {round_number}, phase 3: + other account, 16 hanging", 0.2, hostile, other_owner
                )
            )
            beside_answering.append(
                phase(
                    f"round {round_number}, phase 4: + other account, 16 answering",
                    0.2,
                    answering,
                    other_owner,
                )
            )
        if round_number < args.rounds:
            finish_hanging()
    alone_rate, shared_rate = statistics.median(alone), statistics.median(shared)
    print(
        f"medians: alone {alone_rate:.0f}/s, beside the hanging target {shared_rate:.0f}/s; "
        f"ratios by round {', '.join(f'{b / a:.2f}' for a, b in zip(alone, shared, strict=True))}"
    )
    if beside_other:
        other_rate = statistics.median(beside_other)
        print(
            f"beside another account's 16 hanging origins: median {other_rate:.0f}/s, "
            f"ratio {other_rate / alone_rate:.2f}; by round "
            f"{', '.join(f'{b / a:.2f}' for a, b in zip(alone, beside_other, strict=True))}"
        )
        answering_rate = statistics.median(beside_answering)
        print(
            f"beside the same traffic answered at once (control): median {answering_rate:.0f}/s, "
            f"ratio {answering_rate / alone_rate:.2f}; hanging over answering {other_rate / answering_rate:.2f}"
        )
    print(
        f"ratio {shared_rate / alone_rate:.2f} (target >= 0.8); {settings.Q_WORKERS} workers, "
        f"CALLBACK_TIMEOUT {settings.CALLBACK_TIMEOUT:g} s, "
        f"CALLBACK_MAX_IN_FLIGHT_PER_TARGET {settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET}"
    )


if __name__ == "__main__":
    main()
