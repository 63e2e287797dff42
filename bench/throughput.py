"""End-to-end callback throughput against a raw requests.Session loop, measured in one run.

End to end: ``task_complete`` commits → the cluster sends → the receiver answers
2xx → the attempt is recorded. The raw loop POSTs the same signed ~1 KB body to
the same receiver from one ``requests.Session``, one request after the other.

    python bench/throughput.py --backend sqlite   --n 10000
    python bench/throughput.py --backend postgres --n 10000
"""

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


def raw_loop(url: str, body: bytes, headers: dict, n: int) -> float:
    import requests

    session = requests.Session()
    started = time.perf_counter()
    for _ in range(n):
        response = session.post(url, data=body, headers=headers, timeout=15)
        assert response.status_code == 200
    return n / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=10_000, help="completions to deliver")
    parser.add_argument("--baseline-n", type=int, default=3_000, help="requests of the raw loop")
    parser.add_argument("--drivers", type=int, default=2, help="threads completing tasks")
    parser.add_argument("--clusters", type=int, default=1)
    args = parser.parse_args()

    harness.configure(args.backend)
    from django.conf import settings
    from django.db import connection

    from callbacks_app.models import DeliveryAttempt
    from callbacks_app.payloads import callback_payload
    from tasks_app.models import Task
    from tasks_app.services import task_complete

    receiver = harness.start_receiver()
    profile, task_ids = harness.make_tasks(args.n, f"{receiver}/callback")

    sample = Task.objects.get(id=task_ids[0])
    sample.status, sample.response = "completed", {"category": "red"}
    body = callback_payload(sample).encode()
    from callbacks_app.signing import sign
    from django.utils import timezone

    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.live_callback_auth_key,
        "webhook-id": "msg_bench",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secrets=[profile.signing_secret], msg_id="msg_bench", timestamp=now, body=body.decode()),
    }
    raw_rate = raw_loop(f"{receiver}/raw", body, headers, args.baseline_n)
    harness.receiver_reset(receiver)

    for _ in range(args.clusters):
        harness.start_cluster()

    slices = [task_ids[i :: args.drivers] for i in range(args.drivers)]

    def drive(ids):
        for task_id in ids:
            task_complete(task_id=task_id, response={"category": "red"})
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=drive, args=(ids,)) for ids in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    completed = time.perf_counter()
    done = harness.wait_until(
        lambda: DeliveryAttempt.objects.filter(succeeded=True).count() >= args.n, timeout=3600, interval=0.2
    )
    finished = time.perf_counter()
    received = harness.receiver_stats(receiver)["unique_tasks"]

    rate = args.n / (finished - started)
    print(f"backend                  {args.backend} (broker: {'redis' if settings.Q_CLUSTER.get('redis') else 'orm'}), "
          f"{settings.Q_WORKERS} workers x {args.clusters} cluster(s), {args.drivers} completing threads")
    print(f"raw requests.Session     {raw_rate:8.0f} POST/s  ({args.baseline_n} requests)")
    print(f"completions committed    {args.n / (completed - started):8.0f} /s")
    print(f"end-to-end callbacks     {rate:8.0f} /s  ({args.n} completions, all delivered: {done}, "
          f"receiver saw {received} tasks)")
    print(f"ratio                    {rate / raw_rate:8.2f}  (target: >= 0.3 on SQLite + ORM, >= 0.5 on PostgreSQL + Redis)")


if __name__ == "__main__":
    main()
