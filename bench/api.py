"""The API's routes through gunicorn under concurrent keep-alive clients, one or more trees side by side.

For each tree given (``--tree``, repeatable: this one by default; e.g. ``--tree /work/before
--tree .`` compares a checkout of an older commit with this one in one run), the benchmark:

- makes a PostgreSQL database of its own for it (``--db-prefix`` + its index), migrated by
  that tree's own ``manage.py``; an account whose ledger holds ``--ledger`` tasks (filled by
  ``INSERT ... SELECT`` over ``generate_series``, newest first in ``task_list_idx``'s order),
  an operator (``create_account --staff``'s role) and ``--pending`` pending tasks to complete;
- starts that tree's gunicorn as ``make run`` does (``deploy/gunicorn.conf.py``, its access log
  included, ``--web-workers`` processes), with the tree's own settings plus one route,
  ``/bench/minimal``: a Django view answering ``{"ok": true}`` through the whole middleware stack
  (bench/api_bench_settings.py), the ceiling of any view on that server;
- then, route by route and tree after tree (interleaved, ``--rounds`` times), drives it for
  ``--seconds`` with ``--connections`` asyncio clients (aiohttp), each one keep-alive
  connection sending its next request when the last is answered:

  minimal   GET  /bench/minimal
  create    POST /v1/task/categorization  (a ~0.6 KB categorization task)
  get       GET  /v1/task/{id}            (ids of the ledger's newest 1,000)
  list      GET  /v1/tasks?limit=100      (the first page, newest first, with ``total``)
  complete  POST /v1/ops/task/{id}/complete (an operator's key, each a pending task)

and prints, per route and tree, requests per second, latency p50 and p99, and the web
process's CPU per request (the gunicorn master and workers' user + system CPU time over the
run, from /proc through psutil, divided by the requests answered: the client is not counted).
Every answer must be a 200. The cluster does not run (the completions' callbacks wait in the
ledger): ``bench/api_throughput.py`` measures completions delivered end to end.

    python bench/api.py --tree /work/before --tree . --ledger 1000000
    python bench/api.py --tree /work/before --tree . --reuse --routes list --connections 1
"""

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
ROUTES = ("minimal", "create", "get", "list", "complete")
CREATE_BODY = {
    "callback_url": "http://127.0.0.1:9/callback",
    "instruction": "Is this object red or blue?",
    "attachment_type": "text",
    "attachment": "tomato",
    "categories": ["red", "blue"],
    "metadata": {"bench": True, "padding": "x" * 400},
}
COMPLETE_BODY = {"response": {"category": "red"}}


# --- inside a tree: prepare its database (run with the tree's own python) -------------------


def prepare(ledger: int, pending: int) -> dict:
    """Migrate; an account with ``ledger`` tasks, an operator, ``pending`` tasks to complete."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tasks_app.accounts import account_create
    from tasks_app.models import Task

    call_command("migrate", verbosity=0)
    account = account_create(email="api-bench@example.com")
    operator = account_create(email="api-bench-ops@example.com", staff=True)
    owner = account.profile.user

    def task(**extra):
        return Task(
            owner=owner,
            type="categorization",
            instruction=CREATE_BODY["instruction"],
            params={key: CREATE_BODY[key] for key in ("attachment_type", "attachment", "categories")},
            callback_url=CREATE_BODY["callback_url"],
            metadata=CREATE_BODY["metadata"],
            **extra,
        )

    template = task()
    template.save()
    started = time.perf_counter()
    if ledger > 1:
        table = Task._meta.db_table
        columns = [field.column for field in Task._meta.concrete_fields]
        made = {
            "id": "substr(md5(g::text || 'api-bench'), 1, 24)",
            "created_at": "t.created_at - g * interval '1 second'",
            "updated_at": "t.created_at - g * interval '1 second'",
        }
        select = ", ".join(made.get(column, f't."{column}"') for column in columns)
        quoted = ", ".join(f'"{column}"' for column in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{table}" ({quoted}) SELECT {select} FROM "{table}" t, '
                f"generate_series(1, %s) g WHERE t.id = %s",
                [ledger - 1, template.id],
            )
            cursor.execute(f'VACUUM ANALYZE "{table}"')  # as autovacuum would leave it
    filled = time.perf_counter() - started
    # Pending tasks to complete: older than the whole ledger, never on the first page.
    to_complete = [task() for _ in range(pending)]
    Task.objects.bulk_create(to_complete, batch_size=2000)
    oldest = Task.objects.order_by("created_at").values_list("created_at", flat=True).first()
    ids = [t.id for t in to_complete]
    Task.objects.filter(id__in=ids).update(created_at=oldest)  # behind the ledger
    newest = list(
        Task.objects.filter(owner=owner).order_by("-created_at", "-id").values_list("id", flat=True)[:1000]
    )
    return {
        "key": account.live_api_key,
        "operator_key": operator.live_api_key,
        "get_ids": newest,
        "pending_ids": ids,
        "ledger": Task.objects.filter(owner=owner).count(),
        "fill_seconds": round(filled, 1),
    }


# --- the driver -----------------------------------------------------------------------------


class Tree:
    def __init__(self, index: int, path: Path, args):
        self.index, self.path, self.args = index, path.resolve(), args
        self.label = f"{self.path.name}@{self._commit()}"
        self.python = self.path / ".venv" / "bin" / "python"
        self.database = f"{args.db_prefix}_{index}"
        self.port = args.port + index
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "api_bench_settings",
            "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(self.path)]),
            "SECRET_KEY": "bench-only-" + "not-secret-" * 5,
            "DATABASE_URL": f"{PG_ADMIN_URL}/{self.database}",
            "REDIS_URL": REDIS,
            "LOG_LEVEL": "WARNING",
            "API_THROTTLE_RATE": "1000000/min",
            "CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "ENV_FILE": "/nonexistent/.env",  # nothing of a developer's .env
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": str(args.web_workers),
        }
        self.process = None

    def _commit(self) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()

    def prepare(self) -> None:
        state = Path(tempfile.gettempdir()) / f"{self.database}.json"
        if self.args.reuse and state.exists():  # the last run's database, as it left it
            self.data = json.loads(state.read_text())
            self.pending = []  # completed by that run: no complete route
            return
        for sql in (f"DROP DATABASE IF EXISTS {self.database}", f"CREATE DATABASE {self.database}"):
            subprocess.run(["psql", f"{PG_ADMIN_URL}/postgres", "-qc", sql], check=True)
        out = subprocess.run(
            [str(self.python), __file__, "--prepare", str(self.args.ledger), str(self.args.pending)],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise SystemExit(f"preparing {self.label} failed:\n{out.stderr[-3000:]}")
        self.data = json.loads(out.stdout.strip().splitlines()[-1])
        self.pending = list(self.data["pending_ids"])
        state.write_text(json.dumps(self.data))

    def start(self) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-api-{self.index}-", suffix=".log", delete=False)  # noqa: SIM115 - open while gunicorn runs
        self.process = subprocess.Popen(
            [str(self.python), "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=self.path,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/bench/minimal", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn of {self.label} did not start: {self.log.name}") from None
                time.sleep(0.2)
        time.sleep(1)  # every worker booted

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(20)

    def cpu_seconds(self) -> float:
        import psutil

        master = psutil.Process(self.process.pid)
        total = 0.0
        for proc in [master, *master.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        times = master.cpu_times()
        return total + times.children_user + times.children_system  # workers replaced, if any

    def requests_for(self, route: str):
        """(method, path, body, key) for each request of ``route``, endlessly."""
        key, ops = self.data["key"], self.data["operator_key"]
        if route == "minimal":
            while True:
                yield "GET", "/bench/minimal", None, key
        elif route == "create":
            body = json.dumps(CREATE_BODY).encode()
            while True:
                yield "POST", "/v1/task/categorization", body, key
        elif route == "get":
            ids = self.data["get_ids"]
            while True:
                yield "GET", f"/v1/task/{random.choice(ids)}", None, key
        elif route == "list":
            while True:
                yield "GET", "/v1/tasks?limit=100", None, key
        elif route == "complete":
            body = json.dumps(COMPLETE_BODY).encode()
            while self.pending:
                yield "POST", f"/v1/ops/task/{self.pending.pop()}/complete", body, ops
            raise SystemExit(f"{self.label}: out of pending tasks, raise --pending")


async def drive(tree: Tree, route: str, seconds: float, connections: int) -> dict:
    import aiohttp

    requests = tree.requests_for(route)
    latencies: list[float] = []
    failures: list[str] = []
    auth = {}

    async def client():
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as session:
            while time.perf_counter() < deadline:
                method, path, body, key = next(requests)
                if key not in auth:
                    auth[key] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
                headers = {"Authorization": auth[key]}
                if body:
                    headers["Content-Type"] = "application/json"
                sent = time.perf_counter()
                async with session.request(method, tree.url + path, data=body, headers=headers) as answer:
                    text = await answer.read()
                    if answer.status != 200:
                        failures.append(f"{answer.status} {text[:200]!r}")
                latencies.append(time.perf_counter() - sent)

    cpu = tree.cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cpu = tree.cpu_seconds() - cpu
    if failures:
        raise SystemExit(f"{tree.label} {route}: {len(failures)} answers not 200, e.g. {failures[0]}")
    latencies.sort()
    n = len(latencies)
    return {
        "n": n,
        "rate": n / elapsed,
        "p50": latencies[n // 2] * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "cpu": cpu * 1000 / n,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", action="append", type=Path, help="a checkout with its .venv (repeatable)")
    parser.add_argument("--routes", default=",".join(ROUTES), help=f"of {', '.join(ROUTES)}")
    parser.add_argument("--seconds", type=float, default=10.0, help="per route, tree and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--ledger", type=int, default=1_000_000, help="tasks of the account")
    parser.add_argument("--pending", type=int, default=20_000, help="pending tasks to complete")
    parser.add_argument("--db-prefix", default="scalehooks_apibench")
    parser.add_argument("--port", type=int, default=9280)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="the databases of the last run with this --db-prefix, as it left them (not for the complete route)",
    )
    parser.add_argument("--prepare", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(prepare(*args.prepare)))
        return

    routes = args.routes.split(",")
    unknown = set(routes) - set(ROUTES)
    if unknown:
        raise SystemExit(f"unknown routes: {', '.join(sorted(unknown))}")
    trees = [Tree(i, path, args) for i, path in enumerate(args.tree or [BENCH_DIR.parent])]
    for tree in trees:
        tree.prepare()
        print(
            f"{tree.label}: ledger of {tree.data['ledger']:,} tasks (filled in {tree.data['fill_seconds']} s)"
        )
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        for tree in trees:
            tree.start()
        for _ in range(args.rounds):
            for route in routes:
                for tree in trees:
                    result = asyncio.run(drive(tree, route, args.seconds, args.connections))
                    results.setdefault((route, tree.label), []).append(result)
    finally:
        for tree in trees:
            tree.stop()

    print(
        f"\n{args.connections} keep-alive connections, gunicorn x {args.web_workers} "
        f"({os.cpu_count()} CPUs), {args.rounds} x {args.seconds:.0f} s per route and tree, PostgreSQL + Redis"
    )
    print(f"{'route':9} {'tree':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'web CPU ms/req':>15}")
    for route in routes:
        for tree in trees:
            runs = results[(route, tree.label)]
            print(
                f"{route:9} {tree.label:24} {statistics.mean(r['rate'] for r in runs):8.0f} "
                f"{statistics.median(r['p50'] for r in runs):8.1f} {max(r['p99'] for r in runs):8.1f} "
                f"{sum(r['cpu'] * r['n'] for r in runs) / sum(r['n'] for r in runs):15.2f}"
            )


if __name__ == "__main__":
    main()
