"""The callback feed's long-poll (SPEC §17): from a commit to the answer of a request waiting on it.

A reader waits on ``GET /v1/callbacks?after=<cursor>&wait=10`` (gunicorn, deploy/gunicorn.conf.py,
``--web-workers`` processes); once its request waits, this process completes a task of the
account (no callback target: its event is in the feed as ``not_sent``, no cluster needed) and
the reader's answer is timed from the completion's return (its commit done) and from its call.
The news crosses processes as in production: Redis pub/sub with ``REDIS_URL``, PostgreSQL
``LISTEN`` without it, polling on SQLite. Also timed: a page of the feed read without waiting.

    python bench/feed.py --backend postgres --n 200
    python bench/feed.py --backend sqlite --n 200
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

WEB_PORT = int(os.environ.get("BENCH_WEB_PORT", "9181"))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--n", type=int, default=200, help="events waited for, one after the other")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--pages", type=int, default=200, help="pages of 100 read without waiting")
    args = parser.parse_args()

    harness.configure(args.backend)
    import requests
    from django.conf import settings
    from django.db import connection

    from tasks_app.accounts import account_create
    from tasks_app.models import Task
    from tasks_app.services import task_complete

    account = account_create(email="feed-bench@example.com")
    Task.objects.bulk_create(
        [
            Task(
                owner=account.user,
                type="categorization",
                instruction="Is this object red or blue?",
                params={"attachment_type": "text", "attachment": "tomato", "categories": ["red", "blue"]},
                metadata={"bench": True, "padding": "x" * 400},
            )
            for _ in range(args.n + 100)
        ]
    )
    task_ids = list(Task.objects.filter(owner=account.user).values_list("id", flat=True))
    url = harness.start_web(args.web_workers, WEB_PORT)
    session = requests.Session()
    session.auth = (account.live_api_key, "")

    # A page of 100 read without waiting (the first 100 events).
    for task_id in task_ids[args.n :]:
        task_complete(task_id=task_id, response={"category": "red"})
    page_seconds = []
    for _ in range(args.pages):
        started = time.perf_counter()
        answer = session.get(f"{url}/v1/callbacks", params={"limit": 100}, timeout=30)
        page_seconds.append(time.perf_counter() - started)
        assert answer.status_code == 200 and len(answer.json()["callbacks"]) == 100, answer.text
    cursor = answer.json()["next_cursor"]

    from_return, from_call, misses = [], [], 0
    for task_id in task_ids[: args.n]:
        result = {}

        def wait(after=cursor, result=result):
            reader = requests.Session()
            reader.auth = session.auth
            answer = reader.get(f"{url}/v1/callbacks", params={"after": after, "wait": 10}, timeout=30)
            result["at"] = time.perf_counter()
            result["body"] = answer.json()

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.15)  # the request is in and waiting (its first read found nothing)
        called = time.perf_counter()
        task_complete(task_id=task_id, response={"category": "red"})
        returned = time.perf_counter()
        thread.join()
        events = result["body"]["callbacks"]
        if [event["task_id"] for event in events] != [task_id]:
            misses += 1
            continue
        cursor = result["body"]["next_cursor"]
        from_return.append(result["at"] - returned)
        from_call.append(result["at"] - called)
    connection.close()

    news = (
        "redis pub/sub"
        if settings.REDIS_URL
        else ("postgresql listen" if args.backend == "postgres" else "polling")
    )
    ms = lambda values, q: harness.percentile(values, q) * 1000  # noqa: E731
    print(f"backend                  {args.backend} (news: {news}), gunicorn x {args.web_workers}")
    print(
        f"commit -> waiting answer {ms(from_return, 0.5):6.1f} ms p50  {ms(from_return, 0.95):6.1f} ms p95  "
        f"{ms(from_return, 0.99):6.1f} ms p99  ({len(from_return)} events; from the completion's return)"
    )
    print(
        f"call -> waiting answer   {ms(from_call, 0.5):6.1f} ms p50  {ms(from_call, 0.95):6.1f} ms p95  "
        f"(from the completion's call: its own time included)"
    )
    print(f"wrong or missing answers {misses}")
    print(
        f"page of 100, no wait     {ms(page_seconds, 0.5):6.1f} ms p50  {ms(page_seconds, 0.95):6.1f} ms p95"
    )


if __name__ == "__main__":
    main()
