"""A fast callback receiver for the benchmarks (aiohttp), run as its own process.

POST any path: answers 200 (or holds the request for ``--hang-path`` targets,
a receiver that never answers; or, under ``/fail-first``, answers 500 to the
first callback of each task and 200 to the next), and records for each callback the receipt time,
the task id and the path. GET /stats returns the counts; GET /receipts the
receipt times by task id; POST /reset forgets everything.

    python bench/receiver.py --port 9100
    python bench/receiver.py --port 9100 --extra-ports 16   # also 9101-9116: 17 origins
    python bench/receiver.py --port 9200 --hosts 60 --delay 2  # 127.0.0.2-61, answering after 2 s

With ``--delay`` every callback is answered after that many seconds (a receiver
that works before it answers); /stats then also gives the requests being
answered now (``in_flight``) and the most seen at once (``peak_in_flight``).

For the fault harness (bench/faults.py): ``--log FILE`` writes one JSON line per
callback (``webhook-id``, attempt, event, listening port, arrival and end times,
status), and /stats gives the most requests seen at once per listening port
(``peak_by_origin``: the per-origin cap as the receiver sees it). Under ``/mix``
the first attempt of a delivery fails (500) for ``--fail-rate`` of the
deliveries, hangs (until the sender leaves, at most ``--hang-for`` seconds) for
``--hang-rate`` of them and answers after ``--slow`` seconds for ``--slow-rate``
of them, chosen by a hash of the ``webhook-id``; later attempts answer 200.
Under ``/outage`` every callback is answered 503 while ``POST /outage?on=1``
holds (``on=0`` ends it).
"""

import argparse
import asyncio
import hashlib
import json
import socket
import time

from aiohttp import web


def _share(webhook_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by the delivery id: which deliveries of ``/mix`` misbehave."""
    digest = hashlib.sha256(f"{salt}:{webhook_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


class Mix:
    """What ``/mix`` does to a delivery's first attempt, and the ``/outage`` switch."""

    def __init__(self, fail_rate=0.0, hang_rate=0.0, slow_rate=0.0, slow=0.0, hang_for=60.0):
        self.fail_rate, self.hang_rate, self.slow_rate = fail_rate, hang_rate, slow_rate
        self.slow, self.hang_for = slow, hang_for
        self.outage = False

    def behaviour(self, path: str, webhook_id: str, attempt: str) -> str:
        if path.startswith("/outage") and self.outage:
            return "outage"
        if not path.startswith("/mix") or attempt != "1" or not webhook_id:
            return "ok"
        share = _share(webhook_id, "mix")
        if share < self.fail_rate:
            return "fail"
        if share < self.fail_rate + self.hang_rate:
            return "hang"
        if share < self.fail_rate + self.hang_rate + self.slow_rate:
            return "slow"
        return "ok"


async def _hold(request: web.Request, seconds: float) -> None:
    """Wait ``seconds``, or less if the sender leaves first (its connection closes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.05)


def make_app(
    hang_path: str, delay: float = 0.0, log_path: str = "", mix: Mix | None = None
) -> web.Application:
    receipts: dict[str, float] = {}
    failed_once: set[str] = set()
    by_path: dict[str, int] = {}
    count = {"n": 0, "in_flight": 0, "peak_in_flight": 0}
    by_origin: dict[int, int] = {}
    peak_by_origin: dict[int, int] = {}
    log = open(log_path, "a", buffering=1 << 16) if log_path else None  # noqa: SIM115 - open while it runs
    mix = mix or Mix()

    async def logged(request: web.Request) -> web.Response:
        """``callback`` with its arrival, end and answer logged, counted per listening port."""
        if log is None:
            return await callback(request)
        port = (request.transport.get_extra_info("sockname") or ("", 0))[1] if request.transport else 0
        by_origin[port] = by_origin.get(port, 0) + 1
        peak_by_origin[port] = max(peak_by_origin.get(port, 0), by_origin[port])
        started = time.time()
        status = 0
        try:
            response = await callback(request)
            status = response.status
            return response
        finally:
            by_origin[port] -= 1
            line = {
                "id": request.headers.get("webhook-id", ""),
                "attempt": request.headers.get("scale-callback-attempt", ""),
                "event": request.headers.get("scale-callback-event", ""),
                "port": port,
                "peer": request.remote or "",
                "path": request.path,
                "start": started,
                "end": time.time(),
                "status": status,
            }
            log.write(json.dumps(line) + "\n")

    async def callback(request: web.Request) -> web.Response:
        behaviour = mix.behaviour(
            request.path,
            request.headers.get("webhook-id", ""),
            request.headers.get("scale-callback-attempt", ""),
        )
        if behaviour == "outage":
            await request.read()
            return web.Response(status=503, text="outage")
        if behaviour == "fail":
            await request.read()
            return web.Response(status=500, text="failing on purpose")
        if behaviour == "hang":
            await _hold(request, mix.hang_for)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499, text="the sender left")  # logged as unanswered
        elif behaviour == "slow":
            await asyncio.sleep(mix.slow)
        if hang_path and request.path.startswith(hang_path):
            await asyncio.sleep(3600)
        if delay:
            count["in_flight"] += 1
            count["peak_in_flight"] = max(count["peak_in_flight"], count["in_flight"])
            try:
                await asyncio.sleep(delay)
            finally:
                count["in_flight"] -= 1
        body = await request.read()
        now = time.time()
        count["n"] += 1
        by_path[request.path] = by_path.get(request.path, 0) + 1
        try:
            task_id = json.loads(body)["task_id"]
        except (ValueError, KeyError, TypeError):
            return web.Response(text="ok")
        if request.path.startswith("/fail-first") and task_id not in failed_once:
            failed_once.add(task_id)
            return web.Response(status=500, text="try again")
        receipts.setdefault(task_id, now)
        return web.Response(text="ok")

    async def stats(request):
        return web.json_response(
            {
                "received": count["n"],
                "by_path": by_path,
                "unique_tasks": len(receipts),
                "in_flight": count["in_flight"],
                "peak_in_flight": count["peak_in_flight"],
                "peak_by_origin": peak_by_origin,
            }
        )

    async def outage(request):
        mix.outage = request.query.get("on") == "1"
        return web.json_response({"outage": mix.outage})

    async def flush(request):
        if log is not None:
            log.flush()
        return web.json_response({"ok": True})

    async def close_log(app):
        if log is not None:
            log.close()

    async def receipts_view(request):
        return web.json_response(receipts)

    async def reset(request):
        receipts.clear()
        failed_once.clear()
        by_path.clear()
        count["n"] = count["peak_in_flight"] = 0
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/stats", stats)
    app.router.add_get("/receipts", receipts_view)
    app.router.add_post("/reset", reset)
    app.router.add_post("/outage", outage)
    app.router.add_post("/flush", flush)
    app.router.add_post("/{tail:.*}", logged)
    app.on_cleanup.append(close_log)
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--hang-path", default="/hang")
    parser.add_argument("--extra-ports", type=int, default=0, help="also listen on the next N ports")
    parser.add_argument("--hosts", type=int, default=0, help="also listen on 127.0.0.2 to 127.0.0.N+1")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each callback is answered")
    parser.add_argument("--bind", default="127.0.0.1", help="the first address to listen on")
    parser.add_argument("--log", default="", help="write one JSON line per callback to this file")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="/mix: first attempts answered 500")
    parser.add_argument("--hang-rate", type=float, default=0.0, help="/mix: first attempts held")
    parser.add_argument("--hang-for", type=float, default=60.0, help="/mix: the longest a hang lasts")
    parser.add_argument("--slow-rate", type=float, default=0.0, help="/mix: first attempts answered late")
    parser.add_argument("--slow", type=float, default=0.0, help="/mix: seconds a slow answer takes")
    args = parser.parse_args()
    sockets = []
    hosts = [args.bind, *(f"127.0.0.{2 + i}" for i in range(args.hosts))]
    for host in hosts:
        for port in range(args.port, args.port + 1 + args.extra_ports):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(4096)
            sockets.append(listener)
    mix = Mix(args.fail_rate, args.hang_rate, args.slow_rate, args.slow, args.hang_for)
    web.run_app(
        make_app(args.hang_path, args.delay, args.log, mix),
        sock=sockets,
        print=None,
        access_log=None,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
