"""Benchmark: 10,000 callbacks into one inbox over real HTTP, then its list (SPEC §15).

Starts gunicorn (``deploy/gunicorn.conf.py``, 2 workers) on a fresh database,
creates an account and an inbox, and sends ``--requests`` signed ~1 KB
callbacks to the inbox's URL from ``--threads`` client threads (one
keep-alive session each). Prints the capture rate and latency, how many
requests the inbox kept (``INBOX_MAX_REQUESTS``: 500), then the time to list
them: ``GET /v1/inboxes/{id}/requests?limit=500`` over HTTP, and the
portal's partial ``templates/inbox/_requests.html`` rendered with the 500 rows
in this process (selector and template), each ``--rounds`` times (median,
max). Last, a 2 MiB body: the status and what was kept.

    flock /tmp/bench.lock .venv/bin/python bench/inbox.py --backend sqlite
    flock /tmp/bench.lock .venv/bin/python bench/inbox.py --backend postgres
"""

import argparse
import base64
import json
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

PORT = 9110


def signed_callback(profile, n: int) -> tuple[bytes, dict]:
    from standardwebhooks.webhooks import Webhook

    body = json.dumps(
        {
            "task_id": f"{n:024x}",
            "status": "completed",
            "response": {"category": "red"},
            "task": {"task_id": f"{n:024x}", "status": "completed", "metadata": {"padding": "x" * 700}},
        },
        separators=(",", ":"),
    )
    now = datetime.now(tz=UTC)
    msg_id = f"msg_bench{n:016x}"
    return body.encode(), {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.live_callback_auth_key,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(profile.live_signing_secret).sign(msg_id, now, body),
        "scale-callback-attempt": "1",
    }


def send_all(url: str, profile, total: int, threads: int) -> list[float]:
    import requests

    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker():
        session = requests.Session()
        mine = []
        for n in counter:
            body, headers = signed_callback(profile, n)
            started = time.perf_counter()
            answer = session.post(url, data=body, headers=headers, timeout=30)
            mine.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"request {n}: HTTP {answer.status_code}")
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now (a server still booting on a busy machine does not)."""
    import requests

    try:
        return requests.get(url, timeout=5).ok
    except requests.RequestException:
        return False


def timed(function, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    base = f"http://127.0.0.1:{PORT}"
    # The capture itself is measured: no per-inbox rate (INBOX_CAPTURE_RATE) in the way.
    harness.configure(
        args.backend, PUBLIC_BASE_URL=base, CALLBACK_ALLOWED_NETWORKS="", INBOX_CAPTURE_RATE="1000000/min"
    )
    harness.start_process(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
        ready=b"Booting worker",
        name="gunicorn",
        timeout=30,
        cwd=harness.BASE_DIR,
        env={**__import__("os").environ, "PORT": str(PORT), "WEB_CONCURRENCY": "2"},
    )
    import requests
    from django.template.loader import render_to_string

    from inbox_app.models import CapturedRequest
    from inbox_app.selectors import inbox_requests
    from inbox_app.services import inbox_create
    from tasks_app.accounts import account_create

    issued = account_create(email="bench-inbox@example.com")
    inbox = inbox_create(profile=issued.profile, mode="live", name="bench")
    if not harness.wait_until(lambda: answers(f"{base}/healthz"), 60, interval=0.2):
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    started = time.perf_counter()
    latencies = send_all(inbox.url + "callback", issued.profile, args.requests, args.threads)
    elapsed = time.perf_counter() - started
    kept = CapturedRequest.objects.filter(inbox=inbox).count()
    verified = sum(1 for r in CapturedRequest.objects.filter(inbox=inbox) if not r.verification["reasons"])
    print(f"backend {args.backend}: {args.requests} signed ~1 KB callbacks, {args.threads} client threads")
    print(
        f"  capture: {args.requests / elapsed:.0f} requests/s; latency ms p50 "
        f"{harness.percentile(latencies, 0.5) * 1000:.1f}  p99 {harness.percentile(latencies, 0.99) * 1000:.1f}"
    )
    print(f"  kept: {kept} (INBOX_MAX_REQUESTS), every check passed on {verified}")

    auth = "Basic " + base64.b64encode(f"{issued.live_api_key}:".encode()).decode()
    session = requests.Session()

    def api_list():
        answer = session.get(
            f"{base}/v1/inboxes/{inbox.id}/requests", params={"limit": 500}, headers={"Authorization": auth}
        )
        assert answer.status_code == 200 and len(answer.json()["requests"]) == kept, answer.status_code

    def partial():
        html = render_to_string(
            "inbox/_requests.html", {"requests": inbox_requests(inbox=inbox, limit=500, with_bodies=False)}
        )
        assert html.count("data-request-id") == kept

    for name, function in (
        ("API list, 500 requests", api_list),
        ("partial _requests.html, 500 rows", partial),
    ):
        seconds = timed(function, args.rounds)
        print(
            f"  {name}: median {statistics.median(seconds) * 1000:.0f} ms, "
            f"max {max(seconds) * 1000:.0f} ms over {args.rounds} rounds"
        )

    answer = requests.post(inbox.url + "big", data=b"x" * (2 * 1024 * 1024), timeout=30)
    big = CapturedRequest.objects.filter(inbox=inbox).order_by("-number").first()
    print(
        f"  2 MiB body: HTTP {answer.status_code}, kept {len(bytes(big.body))} of {big.body_size} bytes, "
        f"truncated={big.truncated}"
    )


if __name__ == "__main__":
    main()
