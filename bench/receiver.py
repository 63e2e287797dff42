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
"""

import argparse
import asyncio
import json
import socket
import time

from aiohttp import web


def make_app(hang_path: str, delay: float = 0.0) -> web.Application:
    receipts: dict[str, float] = {}
    failed_once: set[str] = set()
    by_path: dict[str, int] = {}
    count = {"n": 0, "in_flight": 0, "peak_in_flight": 0}

    async def callback(request: web.Request) -> web.Response:
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
            }
        )

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
    app.router.add_post("/{tail:.*}", callback)
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--hang-path", default="/hang")
    parser.add_argument("--extra-ports", type=int, default=0, help="also listen on the next N ports")
    parser.add_argument("--hosts", type=int, default=0, help="also listen on 127.0.0.2 to 127.0.0.N+1")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each callback is answered")
    args = parser.parse_args()
    sockets = []
    hosts = ["127.0.0.1", *(f"127.0.0.{2 + i}" for i in range(args.hosts))]
    for host in hosts:
        for port in range(args.port, args.port + 1 + args.extra_ports):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(4096)
            sockets.append(listener)
    web.run_app(make_app(args.hang_path, args.delay), sock=sockets, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
