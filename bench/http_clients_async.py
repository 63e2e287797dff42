"""POSTs per second and CPU per POST of aiohttp, httpx's AsyncClient and a raw requests loop (issue 15).

Each client POSTs the same ~1 KB JSON body to the benchmark receiver
(``bench/receiver.py``, its own process) with 1, 50 and 500 requests in flight
(the requests loop: that many threads, one ``requests.Session`` each). It
prints the rate and the CPU milliseconds this process spent per POST: what
chose the client of the asynchronous sender.

    python bench/http_clients_async.py --n 3000
    PYTHONPATH=/path/to/httpx python bench/http_clients_async.py   # httpx is not a dependency
"""

import argparse
import asyncio
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

BODY = b'{"task_id": "bench", "padding": "' + b"x" * 1000 + b'"}'
HEADERS = {"Content-Type": "application/json"}


async def _aiohttp(url: str, n: int, in_flight: int) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=in_flight, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        left = iter(range(n))

        async def worker():
            for _ in left:
                async with session.post(url, data=BODY, headers=HEADERS) as response:
                    await response.read()
                    assert response.status == 200

        await asyncio.gather(*(worker() for _ in range(in_flight)))


async def _httpx(url: str, n: int, in_flight: int) -> None:
    import httpx

    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        left = iter(range(n))

        async def worker():
            for _ in left:
                response = await client.post(url, content=BODY, headers=HEADERS)
                assert response.status_code == 200

        await asyncio.gather(*(worker() for _ in range(in_flight)))


def _requests(url: str, n: int, in_flight: int) -> None:
    import requests

    left = iter(range(n))
    lock = threading.Lock()

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if next(left, None) is None:
                    return
            response = session.post(url, data=BODY, headers=HEADERS, timeout=30)
            assert response.status_code == 200

    threads = [threading.Thread(target=worker) for _ in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(name: str, url: str, n: int, in_flight: int) -> tuple[float, float]:
    """(POST/s, CPU ms per POST) of one client at ``in_flight`` concurrent requests."""
    started, cpu = time.perf_counter(), time.process_time()
    if name == "aiohttp":
        asyncio.run(_aiohttp(url, n, in_flight))
    elif name == "httpx":
        asyncio.run(_httpx(url, n, in_flight))
    else:
        _requests(url, n, in_flight)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return n / elapsed, cpu * 1000 / n


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=3000, help="POSTs per client and concurrency")
    parser.add_argument("--in-flight", default="1,50,500")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per figure (the median is printed)")
    args = parser.parse_args()
    url = harness.start_receiver(port=9180) + "/callback"
    clients = ["aiohttp", "httpx", "requests"]
    try:
        import httpx  # noqa: F401
    except ImportError:
        clients.remove("httpx")
        print("httpx not importable: skipped")
    for in_flight in (int(x) for x in args.in_flight.split(",")):
        for name in clients:
            rounds = sorted(measure(name, url, args.n, in_flight) for _ in range(args.rounds))
            rate, cpu = rounds[len(rounds) // 2]
            print(f"{name:9} {in_flight:4} in flight  {rate:7.0f} POST/s  {cpu:5.2f} ms CPU per POST")


if __name__ == "__main__":
    main()
