"""Completions through the real HTTP API on gunicorn, end to end, against the raw requests loop.

As a user's system completes tasks: ``--clients`` processes, each with one
``requests.Session``, POST ``/v1/ops/task/<id>/complete`` (the operator route,
tasks_app/views/ops.py) to gunicorn (deploy/gunicorn.conf.py, ``--web-workers``
processes) with an operator's API key; a cluster sends the callbacks to the
benchmark receiver. The raw loop POSTs the same signed ~1 KB callback body to the
same receiver from one ``requests.Session``, in the same run. Prints the rates, the
ratio and the CPU each part used per callback (web is gunicorn's processes).

    python bench/api_throughput.py --backend postgres --n 5000
    python bench/api_throughput.py --backend sqlite   --n 5000
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
from throughput import raw_loop_for

WEB_PORT = 9180


def _client(url: str, key: str, task_ids: list[str], go, cpu_used, index: int) -> None:
    """One client process: complete these tasks through the API one after the other."""
    import requests

    session = requests.Session()
    session.auth = (key, "")
    go.wait()
    cpu = time.process_time()
    for task_id in task_ids:
        answer = session.post(
            f"{url}/v1/ops/task/{task_id}/complete", json={"response": {"category": "red"}}, timeout=30
        )
        assert answer.status_code == 200, (answer.status_code, answer.text[:200])
    cpu_used[index] = time.process_time() - cpu


def api_run(*, url: str, key: str, task_ids: list[str], clients: int) -> dict:
    parts = [(url, key, task_ids[i::clients]) for i in range(clients)]
    return harness.completions_run(target=_client, parts=parts, n=len(task_ids), label="clients")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--n", type=int, default=5_000, help="completions to deliver")
    parser.add_argument("--baseline-n", type=int, default=3_000, help="requests of the raw loop")
    parser.add_argument("--clients", type=int, default=4, help="processes calling the API")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()

    harness.configure(args.backend)
    from django.conf import settings

    from tasks_app.accounts import account_create

    receiver = harness.start_receiver(9104)
    profile, task_ids = harness.make_tasks(args.n, f"{receiver}/callback")
    operator = account_create(email="ops@example.com", staff=True)
    raw_rate, raw_cpu = raw_loop_for(profile, task_ids[0], f"{receiver}/raw", args.baseline_n)
    harness.receiver_reset(receiver)
    url = harness.start_web(args.web_workers, WEB_PORT)
    harness.start_cluster()

    run = api_run(url=url, key=operator.live_api_key, task_ids=task_ids, clients=args.clients)
    received = harness.receiver_stats(receiver)["unique_tasks"]
    broker = "redis" if settings.Q_CLUSTER.get("redis") else "orm"
    print(
        f"backend                  {args.backend} (broker: {broker}), {settings.Q_WORKERS} workers, "
        f"gunicorn x {args.web_workers}, {args.clients} API clients"
    )
    print(
        f"raw requests.Session     {raw_rate:8.0f} POST/s  ({args.baseline_n} requests; "
        f"{raw_cpu:.2f} ms of CPU per request, client and receiver)"
    )
    print(f"completions through API  {run['completion_rate']:8.0f} /s")
    print(
        f"end-to-end callbacks     {run['rate']:8.0f} /s  ({args.n} completions, all delivered: {run['delivered']}, "
        f"receiver saw {received} tasks)"
    )
    print(f"CPU per callback (ms)    {run['cpu']}")
    print(f"ratio                    {run['rate'] / raw_rate:8.2f}  (end to end through the API / raw loop)")


if __name__ == "__main__":
    main()
