"""The fault harness (issue 28): ScaleHooks as several hosts, a schedule of faults, the invariants.

Run as root (it makes network namespaces):

    .venv/bin/python bench/faults.py --profile ci       # both stacks, every fault once, < 3 minutes
    .venv/bin/python bench/faults.py --profile full     # each fault alone, then combined, both stacks
    .venv/bin/python bench/faults.py --profile soak     # one hour, 100 completions/s, 2 clusters
    .venv/bin/python bench/faults.py --cleanup          # remove what a crashed run left (prefix shf-)

It starts its own PostgreSQL (/usr/local/bin/postgres) and Redis (/usr/bin/redis-server) in a
temporary directory, never the machine's shared ones, and runs the service as hosts, each a
network namespace (``ip netns``) joined to a bridge by a veth pair, addresses 10.77.0.0/24:

    root namespace 10.77.0.1   this driver (in-process completions, the checks) and the forwarder
    shf-db         10.77.0.10  PostgreSQL :5432, Redis :6379
    shf-web        10.77.0.20  gunicorn (deploy/gunicorn.conf.py) :8000
    shf-c1..c3     10.77.0.3N  `manage.py qcluster`
    shf-rx         10.77.0.40  bench/receiver.py: :9100.. one origin per port, :9099 the operators' webhooks

Every host reaches PostgreSQL and Redis through the forwarder (``proxy`` below, in the root
namespace, one port per host and service: 10.77.0.1:15000+N and :16000+N), which passes, holds
(a silent partition: bytes stop, connections stay open), delays or drops bytes on command. The
kernel here has no netem qdisc and no tc actions, so latency and loss are made there; "loss" of a
TCP stream is what the application sees of it, a chunk held back for a retransmission timeout
(200–600 ms) with the given probability. A cluster host is cut from the receivers by pointing
its neighbour entry of 10.77.0.40 at a MAC nobody has (silent: its packets go nowhere); the
receiver host is made unreachable by setting its veth down.

The invariants are checked from the receiver's log (one JSON line per request with its
``webhook-id``, arrival and end) and the ledger, and printed as a report (``--report FILE``
also writes it as Markdown).
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PREFIX = "shf"
BRIDGE = f"{PREFIX}-br"
NET = "10.77.0"
ROOT_IP = f"{NET}.1"
INSTANCE = 0
HOST_IPS = {"db": 10, "web": 20, "c1": 31, "c2": 32, "c3": 33, "rx": 40}
DB_IP, WEB_IP, RX_IP = f"{NET}.10", f"{NET}.20", f"{NET}.40"
RX_FIRST_PORT, OPS_PORT, OUTAGE_PORT_OFFSET = 9100, 9099, 60
PROXY_CONTROL = ("127.0.0.1", 15999)


def instance_set(n: int) -> None:
    """Run as instance ``n`` (0 by default): names, addresses and ports of its own, so that two
    runs (a soak and a short schedule) share the machine; each cleans up only its own."""
    global PREFIX, BRIDGE, NET, ROOT_IP, DB_IP, WEB_IP, RX_IP, PROXY_CONTROL, INSTANCE
    INSTANCE = n
    PREFIX = "shf" if n == 0 else f"shf{n}"
    BRIDGE = f"{PREFIX}-br"
    NET = f"10.{77 + n}.0"
    ROOT_IP = f"{NET}.1"
    DB_IP, WEB_IP, RX_IP = f"{NET}.10", f"{NET}.20", f"{NET}.40"
    PROXY_CONTROL = ("127.0.0.1", 15999 - n)


NOWHERE_MAC = "02:00:00:00:00:ee"
POSTGRES_UID, POSTGRES_GID = "postgres", "postgres"
TIMEOUT, CONNECT_TIMEOUT = 5, 2
LEASE = TIMEOUT + CONNECT_TIMEOUT + 10  # the engine's send lease (docs/architecture.md)
RETRY_SCHEDULE = "1,2,4,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8"
CAP = 8  # CALLBACK_MAX_IN_FLIGHT_PER_TARGET here: small enough that the receiver can see it held


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=check, capture_output=True, text=True)


# --- Cleanup ------------------------------------------------------------------------------


def cleanup(workdirs: bool = True) -> None:
    """Remove every namespace, process, link and temporary directory named with the prefix."""
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(f"{PREFIX}-"):
            continue
        for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", name, check=False)
    for line in sh("ip", "-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"{PREFIX}-"):
            sh("ip", "link", "del", name, check=False)
    # The forwarder runs in the root namespace: found by its command line, which names the prefix.
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        mine = f"--instance={INSTANCE}" in cmdline or (
            INSTANCE == 0 and not any(a.startswith("--instance") for a in cmdline)
        )
        if "faults.py" in " ".join(cmdline) and "proxy" in cmdline and mine and proc.pid != os.getpid():
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
    if workdirs:
        for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}-run-*"):
            shutil.rmtree(path, ignore_errors=True)


# --- Network ------------------------------------------------------------------------------


def network_up(hosts: list[str]) -> None:
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{ROOT_IP}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for host in hosts:
        ns, veth = f"{PREFIX}-{host}", f"{PREFIX}-{host}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", veth, "master", BRIDGE, "up")
        sh("ip", "-n", ns, "addr", "add", f"{NET}.{HOST_IPS[host]}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def in_ns(host: str, command: list[str]) -> list[str]:
    return ["ip", "netns", "exec", f"{PREFIX}-{host}", *command]


def link(host: str, up: bool) -> None:
    sh("ip", "link", "set", f"{PREFIX}-{host}", "up" if up else "down")


def cut_from_receivers(host: str, cut: bool) -> None:
    ns = f"{PREFIX}-{host}"
    if cut:
        sh(
            "ip",
            "-n",
            ns,
            "neigh",
            "replace",
            RX_IP,
            "lladdr",
            NOWHERE_MAC,
            "dev",
            "eth0",
            "nud",
            "permanent",
        )
    else:
        sh("ip", "-n", ns, "neigh", "del", RX_IP, "dev", "eth0", check=False)


# --- The forwarder (its own process: python bench/faults.py proxy ROUTE...) ----------------


class Route:
    """One listening port forwarded to one address, and what it does to the bytes now."""

    def __init__(self, name: str):
        self.name = name
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.delay = 0.0
        self.loss = 0.0
        self.writers: set[asyncio.StreamWriter] = set()

    async def pipe(self, reader, writer):
        queue: asyncio.Queue = asyncio.Queue()

        async def read():
            try:
                while data := await reader.read(65536):
                    extra = random.uniform(0.2, 0.6) if self.loss and random.random() < self.loss else 0.0
                    await queue.put((time.monotonic() + self.delay + extra, data))
            except (ConnectionError, OSError):
                pass
            await queue.put((0, b""))

        async def write():
            while True:
                at, data = await queue.get()
                if not data:
                    break
                await self.flowing.wait()
                if (wait := at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(Exception):
                writer.write_eof()

        reading = asyncio.ensure_future(read())
        try:
            await write()
        except (ConnectionError, OSError):
            pass
        finally:
            reading.cancel()

    def cut(self):
        for writer in list(self.writers):
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()


async def proxy_main(specs: list[str]) -> None:
    from aiohttp import web

    routes: dict[str, Route] = {}

    for spec in specs:  # name=listen_ip:port=target_ip:port
        name, listen, target = spec.split("=")
        route = routes[name] = Route(name)
        lhost, lport = listen.rsplit(":", 1)
        thost, tport = target.rsplit(":", 1)

        async def handle(client_reader, client_writer, route=route, thost=thost, tport=int(tport)):
            try:
                server_reader, server_writer = await asyncio.open_connection(thost, tport)
            except OSError:
                client_writer.transport.abort()
                return
            route.writers |= {client_writer, server_writer}
            try:
                await asyncio.gather(
                    route.pipe(client_reader, server_writer), route.pipe(server_reader, client_writer)
                )
            finally:
                route.writers -= {client_writer, server_writer}
                for w in (client_writer, server_writer):
                    with contextlib.suppress(Exception):
                        w.close()

        await asyncio.start_server(handle, lhost, int(lport), reuse_address=True, backlog=1024)

    async def control(request):
        names = request.query.get("route", "").split(",")
        mode = request.query.get("mode", "pass")
        for name in names:
            route = routes[name]
            if mode == "hold":
                route.flowing.clear()
            elif mode == "cut":
                route.cut()
            else:
                route.flowing.set()
                route.delay = float(request.query.get("delay_ms", 0)) / 1000
                route.loss = float(request.query.get("loss", 0))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/set", control)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, *PROXY_CONTROL).start()
    await asyncio.Event().wait()


def proxy_set(routes: list[str], mode: str, **params) -> None:
    query = "&".join([f"route={','.join(routes)}", f"mode={mode}", *(f"{k}={v}" for k, v in params.items())])
    request = urllib.request.Request(
        f"http://{PROXY_CONTROL[0]}:{PROXY_CONTROL[1]}/set?{query}", method="POST"
    )
    urllib.request.urlopen(request, timeout=5).close()


# --- Processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    command: list[str]
    env: dict
    logfile: Path
    ready: bytes = b""
    process: subprocess.Popen | None = None
    cwd: Path = BASE_DIR

    def start(self, timeout: float = 60) -> "Proc":
        out = open(self.logfile, "ab")  # noqa: SIM115 - the child's, open while it runs
        out.write(f"\n--- start {time.time():.3f}\n".encode())
        out.flush()
        start_at = self.logfile.stat().st_size
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while self.ready and self.ready not in self.logfile.read_bytes()[start_at:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start, see {self.logfile}")
            time.sleep(0.1)
        return self

    def signal(self, signum: int, group: bool = True) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if group:
                    os.killpg(self.process.pid, signum)
                else:
                    self.process.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.process:
            self.process.wait()

    def stop(self, timeout: float = 20) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.signal(signal.SIGTERM, group=False)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def pids(self) -> list[int]:
        import psutil

        if not self.process or self.process.poll() is not None:
            return []
        try:
            parent = psutil.Process(self.process.pid)
            return [parent.pid, *(child.pid for child in parent.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []


def wait_for(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return True
        time.sleep(interval)
    return False


class Stack:
    """The hosts of one run: databases, forwarder, receiver, web, clusters."""

    def __init__(self, workdir: Path, clusters: int, mix: dict):
        self.workdir = workdir
        self.cluster_hosts = [f"c{i}" for i in range(1, clusters + 1)]
        self.mix = mix
        self.procs: dict[str, Proc] = {}
        self.database = "scalehooks"
        self.broker = "redis"
        self.secret = "faults-only-" + "not-secret-" * 5

    # PostgreSQL and Redis on the database host
    def databases_start(self) -> None:
        data = self.workdir / "pg"
        data.mkdir()
        shutil.chown(data, POSTGRES_UID, POSTGRES_GID)
        shutil.chown(self.workdir, POSTGRES_UID, POSTGRES_GID)
        as_postgres = ["setpriv", "--reuid", POSTGRES_UID, "--regid", POSTGRES_GID, "--clear-groups"]
        subprocess.run(
            [
                *as_postgres,
                "/usr/local/bin/initdb",
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {NET}.0/24 trust\n")
        self.procs["postgres"] = Proc(
            "postgres",
            in_ns(
                "db",
                [
                    *as_postgres,
                    "/usr/local/bin/postgres",
                    "-D",
                    str(data),
                    "-c",
                    f"listen_addresses={DB_IP}",
                    "-c",
                    "port=5432",
                    "-c",
                    f"unix_socket_directories={data}",
                    "-c",
                    "max_connections=500",
                    "-c",
                    "fsync=off",  # the machine never crashes here: the OS keeps what was written
                    "-c",
                    "shared_buffers=128MB",
                ],
            ),
            {**os.environ},
            self.workdir / "postgres.log",
            ready=b"ready to accept connections",
        ).start()
        subprocess.run(
            ["psql", f"postgres://postgres@{DB_IP}:5432/postgres", "-qc", "CREATE DATABASE scalehooks"],
            check=True,
            capture_output=True,
        )
        self.procs["redis"] = Proc(
            "redis",
            in_ns(
                "db",
                [
                    "/usr/bin/redis-server",
                    "--bind",
                    DB_IP,
                    "--port",
                    "6379",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                    "--protected-mode",
                    "no",
                ],
            ),
            {**os.environ},
            self.workdir / "redis.log",
            ready=b"Ready to accept connections",
        ).start()

    def proxy_start(self) -> None:
        specs = []
        for host in ["web", *self.cluster_hosts]:
            n = HOST_IPS[host]
            specs += [
                f"{host}-db={ROOT_IP}:{15000 + n}={DB_IP}:5432",
                f"{host}-redis={ROOT_IP}:{16000 + n}={DB_IP}:6379",
            ]
        self.procs["proxy"] = Proc(
            "proxy",
            [sys.executable, str(Path(__file__).resolve()), f"--instance={INSTANCE}", "proxy", *specs],
            {**os.environ},
            self.workdir / "proxy.log",
        ).start()
        if not wait_for(lambda: proxy_set([f"{self.cluster_hosts[0]}-db"], "pass") is None, 10):
            raise RuntimeError(f"the forwarder did not start, see {self.workdir / 'proxy.log'}")

    def receiver_start(self) -> None:
        self.receiver_log = self.workdir / "receiver.jsonl"
        command = [
            sys.executable,
            str(BASE_DIR / "bench" / "receiver.py"),
            "--bind",
            RX_IP,
            "--port",
            str(OPS_PORT),
            "--extra-ports",
            str(1 + OUTAGE_PORT_OFFSET),
            "--log",
            str(self.receiver_log),
            "--fail-rate",
            str(self.mix["fail"]),
            "--hang-rate",
            str(self.mix["hang"]),
            "--hang-for",
            str(3 * TIMEOUT),
            "--slow-rate",
            str(self.mix["slow"]),
            "--slow",
            "0.5",
        ]
        self.procs["receiver"] = Proc(
            "receiver", in_ns("rx", command), {**os.environ}, self.workdir / "receiver.log"
        )
        self.procs["receiver"].start()
        if not wait_for(lambda: self.receiver("GET", "/stats"), 15):
            raise RuntimeError("the receiver did not start")

    def receiver(self, method: str, path: str):
        request = urllib.request.Request(f"http://{RX_IP}:{OPS_PORT}{path}", method=method)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)

    def env(self, host: str) -> dict:
        n = HOST_IPS.get(host, 1)
        via = host if host in ("web", *self.cluster_hosts) else None
        database = (
            f"postgres://postgres@{ROOT_IP}:{15000 + n}/{self.database}"
            if via
            else f"postgres://postgres@{DB_IP}:5432/{self.database}"
        )
        redis = (
            (f"redis://{ROOT_IP}:{16000 + n}/0" if via else f"redis://{DB_IP}:6379/0")
            if self.broker == "redis"
            else ""
        )
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "DJANGO_SETTINGS_MODULE": "scalehooks.settings",
            "ENV_FILE": "/nonexistent",
            "SECRET_KEY": self.secret,
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "ALLOWED_HOSTS": f"{WEB_IP},localhost",
            "CALLBACK_ALLOWED_NETWORKS": f"{NET}.0/24",
            "Q_CLUSTER_NAME": "faults",
            "Q_WORKERS": "2",
            "Q_LOG_LEVEL": "WARNING" if host == "driver" else "INFO",
            "LOG_LEVEL": "WARNING",
            "CALLBACK_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            "CALLBACK_TIMEOUT": str(TIMEOUT),
            "CALLBACK_RETRY_SCHEDULE": RETRY_SCHEDULE,
            "CALLBACK_MAX_IN_FLIGHT_PER_TARGET": str(CAP),
            "CALLBACK_TARGET_ALERT_FAILURES": "5",
            "OPS_WEBHOOK_URLS": f"http://{RX_IP}:{OPS_PORT}/ops",
            "OPS_WEBHOOK_SECRET": "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "EMAIL_URL": "dummymail://",
            "API_THROTTLE_RATE": "100000000/min",
            "STATIC_ROOT": str(self.workdir / "static"),
            "PUBLIC_BASE_URL": f"http://{WEB_IP}:8000",
        }

    def web_start(self) -> None:
        env = {**self.env("web"), "HOST": WEB_IP, "PORT": "8000", "WEB_CONCURRENCY": "2", "WEB_THREADS": "8"}
        if "web" not in self.procs:
            self.procs["web"] = Proc(
                "web",
                in_ns("web", [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]),
                env,
                self.workdir / "web.log",
                ready=b"Booting worker",
            )
        self.procs["web"].env = env
        self.procs["web"].start()

    def cluster_start(self, host: str) -> None:
        if host not in self.procs:
            self.procs[host] = Proc(
                host,
                in_ns(host, [sys.executable, "manage.py", "qcluster"]),
                {},
                self.workdir / f"{host}.log",
                ready=b"running.",
            )
        self.procs[host].env = self.env(host)
        self.procs[host].start()

    def stop_service(self) -> None:
        for name in ["web", *self.cluster_hosts]:
            if name in self.procs:
                self.procs[name].stop(10)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs.values())):
            with contextlib.suppress(Exception):
                proc.stop(5)


# --- The load ------------------------------------------------------------------------------


@dataclass
class Load:
    """Completions at a steady rate, half through the API, half in-process."""

    stack: Stack
    rate: float
    targets: int
    accounts: list = field(default_factory=list)
    completed: list = field(default_factory=list)
    errors: dict = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, n_accounts: int) -> None:
        from tasks_app.accounts import account_create

        self.ops_key = account_create(email=f"ops-{time.time_ns()}@example.com", staff=True).live_api_key
        for i in range(n_accounts):
            self.accounts.append(account_create(email=f"load{i}-{time.time_ns()}@example.com").profile)
        self.outage_account = account_create(email=f"outage-{time.time_ns()}@example.com").profile

    def new_tasks(self, n: int, *, outage: bool = False) -> list[str]:
        from tasks_app.models import Task

        tasks = []
        for _ in range(n):
            if outage:
                owner, url = self.outage_account, f"http://{RX_IP}:{OPS_PORT + OUTAGE_PORT_OFFSET}/outage/x"
            else:
                owner = random.choice(self.accounts)
                port = RX_FIRST_PORT + random.randrange(self.targets)
                url = f"http://{RX_IP}:{port}/mix/{owner.user_id}"
            tasks.append(
                Task(
                    owner=owner.user,
                    type="categorization",
                    instruction="Is this object red or blue?",
                    params={
                        "attachment_type": "text",
                        "attachment": "tomato",
                        "categories": ["red", "blue"],
                        "allow_multiple": False,
                    },
                    callback_url=url,
                    metadata={"faults": True, "padding": "x" * 400},
                )
            )
        Task.objects.bulk_create(tasks, batch_size=1000)
        return [t.id for t in tasks]

    def complete_in_process(self, task_id: str) -> None:
        from django.db import close_old_connections, connection

        from tasks_app.services import task_complete

        deadline = time.monotonic() + 120
        while True:
            try:
                task_complete(task_id=task_id, response={"category": "red"})
                break
            except Exception as error:  # the database restarted or partitioned: try again
                if self.task_completed(task_id):
                    break
                with self.lock:
                    self.errors[f"in-process {type(error).__name__}"] += 1
                with contextlib.suppress(Exception):
                    connection.close()
                close_old_connections()
                if time.monotonic() > deadline:
                    return
                time.sleep(0.5)
        with self.lock:
            self.completed.append(task_id)

    def complete_by_api(self, task_id: str) -> None:
        import base64

        auth = base64.b64encode(f"{self.ops_key}:".encode()).decode()
        request = urllib.request.Request(
            f"http://{WEB_IP}:8000/v1/ops/task/{task_id}/complete",
            data=json.dumps({"response": {"category": "red"}}).encode(),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
            method="POST",
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(request, timeout=20).close()
                break
            except urllib.error.HTTPError as error:
                if error.code == 400 and self.task_completed(task_id):
                    break  # an earlier try completed it, its answer lost (the web host killed)
                with self.lock:
                    self.errors[f"api {error.code}"] += 1
            except (OSError, urllib.error.URLError) as error:
                with self.lock:
                    self.errors[f"api {type(error).__name__}"] += 1
                if self.task_completed(task_id):
                    break
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)
        with self.lock:
            self.completed.append(task_id)

    def task_completed(self, task_id: str) -> bool:
        from django.db import connection

        from tasks_app.models import Task

        try:
            return Task.objects.filter(id=task_id, status="completed").exists()
        except Exception:
            with contextlib.suppress(Exception):
                connection.close()
            return False

    def run(self, seconds: float, processes: int = 1) -> None:
        """Complete ``rate`` tasks a second for ``seconds``, alternating API and in-process, from
        ``processes`` forked driver processes (one Python process tops out below 100 a second)."""
        import multiprocessing

        from django.db import connection

        started = time.time()
        if processes <= 1:
            self._run_here(seconds, self.rate, None)
        else:
            connection.close()  # a forked child must not share the parent's connection
            context = multiprocessing.get_context("fork")
            results = context.Queue()
            children = [
                context.Process(target=self._run_here, args=(seconds, self.rate / processes, results))
                for _ in range(processes)
            ]
            for child in children:
                child.start()
            for _ in children:
                completed, errors = results.get()
                self.completed += completed
                for key, n in errors.items():
                    self.errors[key] += n
            for child in children:
                child.join()
        self.load_seconds = time.time() - started
        log(f"load: {len(self.completed)} completions in {self.load_seconds:.0f} s")

    def _run_here(self, seconds: float, rate: float, results) -> None:
        from django.db import connection

        random.seed()
        if results is not None:
            self.completed = []  # a forked child counts its own
        pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="load")
        room = threading.BoundedSemaphore(64)  # behind schedule, the rate falls; the backlog does not grow
        started = time.monotonic()
        i = 0
        pending: list[str] = []
        while time.monotonic() - started < seconds:
            if not pending:
                try:
                    pending = self.new_tasks(max(10, int(rate * 2)))
                except Exception:
                    with contextlib.suppress(Exception):
                        connection.close()
                    time.sleep(0.5)
                    continue
            due = started + i / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            task_id = pending.pop()
            method = self.complete_by_api if i % 2 else self.complete_in_process
            room.acquire()
            pool.submit(method, task_id).add_done_callback(lambda _: room.release())
            i += 1
        pool.shutdown(wait=True)
        if results is not None:
            results.put((self.completed, dict(self.errors)))


# --- Faults --------------------------------------------------------------------------------


@dataclass
class FaultLog:
    entries: list = field(default_factory=list)

    def add(self, name: str, start: float, end: float, hosts: list[str]) -> None:
        self.entries.append({"name": name, "start": start, "end": end, "hosts": hosts})
        log(f"fault: {name} ({end - start:.1f} s)")


class Faults:
    """Each fault: inject, hold for a while, heal; logged with its window."""

    def __init__(self, stack: Stack, faultlog: FaultLog):
        self.stack, self.log = stack, faultlog

    def _window(self, name: str, hosts: list[str], inject, heal, seconds: float) -> None:
        start = time.time()
        inject()
        time.sleep(seconds)
        heal()
        self.log.add(name, start, time.time(), hosts)

    def kill_cluster(self, host: str, down: float = 3) -> None:
        proc = self.stack.procs[host]
        self._window(f"SIGKILL {host}", [host], proc.kill, lambda: proc.start(), down)

    def stop_cluster(self, host: str) -> None:
        proc = self.stack.procs[host]
        self._window(f"restart {host} (SIGTERM)", [host], proc.stop, lambda: proc.start(), 1)

    def partition(self, host: str, what: str, seconds: float) -> None:
        if what == "receivers":
            inject, heal = (lambda: cut_from_receivers(host, True)), (lambda: cut_from_receivers(host, False))
        else:
            route = f"{host}-{what}"
            inject, heal = (lambda: proxy_set([route], "hold")), (lambda: proxy_set([route], "pass"))
        self._window(f"{host} partitioned from {what} {seconds:.0f} s", [host], inject, heal, seconds)

    def degrade(self, host: str, what: str, seconds: float, *, delay_ms: int = 0, loss: float = 0.0) -> None:
        route = f"{host}-{what}"
        self._window(
            f"{host}↔{what}: {delay_ms} ms latency, {loss:.0%} loss",
            [host],
            lambda: proxy_set([route], "pass", delay_ms=delay_ms, loss=loss),
            lambda: proxy_set([route], "pass"),
            seconds,
        )

    def postgres_restart(self, mode: str) -> None:
        proc = self.stack.procs["postgres"]
        signum = signal.SIGINT if mode == "fast" else signal.SIGQUIT

        def inject():
            proc.signal(signum, group=False)
            proc.process.wait(60)

        self._window(f"PostgreSQL restart ({mode})", ["db"], inject, lambda: proc.start(), 0.5)

    def redis_restart_empty(self) -> None:
        proc = self.stack.procs["redis"]
        self._window("Redis killed, restarted empty", ["db"], proc.kill, lambda: proc.start(), 1)

    def receiver_unreachable(self, seconds: float) -> None:
        self._window(
            f"receiver host unreachable {seconds:.0f} s",
            ["rx"],
            lambda: link("rx", False),
            lambda: link("rx", True),
            seconds,
        )

    def kill_web(self) -> None:
        proc = self.stack.procs["web"]
        self._window("web host SIGKILLed mid-request", ["web"], proc.kill, self.stack.web_start, 1)

    def outage(self, on: bool) -> None:
        request = urllib.request.Request(f"http://{RX_IP}:{OPS_PORT}/outage?on={int(on)}", method="POST")
        urllib.request.urlopen(request, timeout=5).close()


def schedule(profile: str, stack: Stack, faults: Faults) -> list[tuple[float, str, object]]:
    """(seconds after the load starts, label, action) of a profile's faults, for one stack."""
    c = stack.cluster_hosts
    redis = stack.broker == "redis"
    long = LEASE + 5
    if profile == "ci":
        plan = [
            (3, lambda: faults.kill_cluster(c[0])),
            (8, lambda: faults.partition(c[1], "db", 5)),
            (14, lambda: faults.partition(c[0], "receivers", 5)),
            (20, lambda: faults.postgres_restart("immediate")),
            (25, lambda: faults.kill_web()),
            (28, lambda: faults.degrade(c[1], "db", 4, delay_ms=200, loss=0.05)),
            (34, lambda: faults.receiver_unreachable(3)),
        ]
        if redis:
            plan.append((38, lambda: faults.redis_restart_empty()))
        return plan
    if profile == "full":
        t = 5
        plan = []

        def at(seconds, action):
            nonlocal t
            plan.append((t, action))
            t += seconds

        # Each alone
        at(12, lambda: faults.kill_cluster(c[0]))
        at(12, lambda: faults.stop_cluster(c[1]))
        at(12, lambda: faults.partition(c[0], "db", 5))
        at(long + 8, lambda: faults.partition(c[1], "db", long))
        if redis:
            at(12, lambda: faults.partition(c[0], "redis", 5))
            at(long + 8, lambda: faults.partition(c[1], "redis", long))
        at(12, lambda: faults.partition(c[0], "receivers", 5))
        at(long + 8, lambda: faults.partition(c[1], "receivers", long))
        at(18, lambda: faults.degrade(c[0], "db", 12, delay_ms=200))
        at(18, lambda: faults.degrade(c[1], "db", 12, loss=0.05))
        if redis:
            at(18, lambda: faults.degrade(c[0], "redis", 12, delay_ms=200, loss=0.05))
        at(12, lambda: faults.postgres_restart("fast"))
        at(12, lambda: faults.postgres_restart("immediate"))
        if redis:
            at(12, lambda: faults.redis_restart_empty())
        at(15, lambda: faults.receiver_unreachable(8))
        at(10, lambda: faults.kill_web())
        # Combined: several at once, each in its own thread
        combo = [
            lambda: faults.kill_cluster(c[0], down=5),
            lambda: faults.partition(c[1], "db", long),
            lambda: faults.partition(c[2] if len(c) > 2 else c[1], "receivers", 8),
            lambda: faults.postgres_restart("immediate"),
            lambda: faults.kill_web(),
        ]
        if redis:
            combo.append(lambda: faults.redis_restart_empty())
        for i, action in enumerate(combo):
            plan.append((t + i * 2, action))
        t += long + 15
        combo2 = [
            lambda: faults.kill_cluster(c[1]),
            lambda: faults.receiver_unreachable(6),
            lambda: faults.degrade(c[0], "db", 10, delay_ms=200, loss=0.05),
        ]
        for i, action in enumerate(combo2):
            plan.append((t + i, action))
        return plan
    if profile == "soak":
        # one cluster restarted every ten minutes, alternately SIGKILL and SIGTERM
        every = faults.restart_every
        return [
            (every * k, (lambda k=k: faults.kill_cluster(c[1]) if k % 2 else faults.stop_cluster(c[1])))
            for k in range(1, 1000)
        ]
    raise SystemExit(f"unknown profile {profile}")


def faults_run(plan, started: float) -> list[threading.Thread]:
    threads = []
    for at, action in sorted(plan, key=lambda p: p[0]):
        if (wait := started + at - time.monotonic()) > 0:
            time.sleep(wait)
        thread = threading.Thread(target=action, daemon=True)
        thread.start()
        threads.append(thread)
    return threads


# --- Sampling (the soak) -------------------------------------------------------------------


def sample(stack: Stack) -> dict:
    import psutil
    from django.db import connection

    row = {"t": time.time(), "roles": {}}
    for name in ["web", *stack.cluster_hosts, "postgres", "redis", "receiver"]:
        proc = stack.procs.get(name)
        if not proc:
            continue
        rss = fds = 0
        count = 0
        for pid in proc.pids():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                p = psutil.Process(pid)
                if p.name() in ("ip", "setpriv"):
                    continue
                rss += p.memory_full_info().uss
                fds += p.num_fds()
                count += 1
        row["roles"][name] = {"uss_mb": round(rss / 2**20, 1), "fds": fds, "processes": count}
    with contextlib.suppress(Exception), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        row["pg_connections"] = cursor.fetchone()[0]
    return row


# --- The checks ----------------------------------------------------------------------------


def read_receipts(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return lines


DUPLICATE_KINDS = {
    "in flight at a kill": "sent, and answered, as its sender was killed (unavoidable)",
    "answered before a kill": "answered more than 0.5 s before its sender was killed, never recorded",
    "recording lost with the database": "answered; the recording failed with its database connection",
    "late after the sender gave up": "held in TCP behind a partition, delivered when it healed, "
    "after its sender had recorded a timeout",
    "answer lost": "answered; the answer did not reach the sender in time (recorded as a timeout)",
    "bug": "a second attempt recorded as succeeded, or no attempt row",
    "unexplained": "no fault of its sender (or of the database or receiver host) near it",
}


def _sender(receipt: dict) -> str:
    last = (receipt.get("peer") or "").rsplit(".", 1)[-1]
    return next((host for host, n in HOST_IPS.items() if str(n) == last), "?")


def duplicate_explain(wid: str, ok: list[dict], faults: list[dict]) -> list[dict]:
    """Each 2xx receipt of ``wid`` beyond the one its ledger records as succeeded, with why it
    happened: its own attempt's record and the faults of its sender around it."""
    from callbacks_app.models import DeliveryAttempt

    attempts = {
        a["number"]: a
        for a in DeliveryAttempt.objects.filter(delivery_id=wid).values(
            "number", "succeeded", "error", "started_at", "duration_ms"
        )
    }
    recorded = next((r for r in ok if attempts.get(int(r["attempt"] or 0), {}).get("succeeded")), None)
    found = []
    for r in ok:
        if r is recorded:
            continue
        host = _sender(r)
        attempt = attempts.get(int(r["attempt"] or 0))
        near = [
            f
            for f in faults
            if (host in f["hosts"] or "db" in f["hosts"] or "rx" in f["hosts"] or host == "?")
            and f["start"] - 1 <= r["end"] <= f["end"] + LEASE + 5
        ]
        names = [f["name"] for f in near]
        if attempt is None or attempt["succeeded"]:
            kind, detail = "bug", "recorded as succeeded twice" if attempt else "no attempt row"
        elif attempt["error"] == DeliveryAttempt.UNFINISHED:
            # a kill of its sender that came after the answer, within a lease of it
            kills = [
                f
                for f in near
                if host in f["hosts"]
                and f["name"].startswith(("SIGKILL", "restart"))
                and f["start"] - LEASE <= r["end"] <= f["start"] + 1.0
            ]
            database = [
                f
                for f in near
                if f["name"].startswith("PostgreSQL") or (host in f["hosts"] and "db" in f["name"])
            ]
            if kills:
                gap = kills[0]["start"] - r["end"]
                kind = "answered before a kill" if gap > 0.5 else "in flight at a kill"
                detail = f"answered {gap:.2f} s before '{kills[0]['name']}'"
            elif database:
                kind, detail = "recording lost with the database", f"during '{database[0]['name']}'"
            else:
                kind, detail = "unexplained", "attempt unfinished, no fault of its sender"
        else:
            sender_end = attempt["started_at"].timestamp() + attempt["duration_ms"] / 1000
            if r["start"] > sender_end:
                kind = "late after the sender gave up"
                detail = f"arrived {r['start'] - sender_end:.1f} s after its sender recorded: {attempt['error'][:60]}"
            else:
                kind, detail = "answer lost", f"recorded: {attempt['error'][:60]}"
            if not near:
                kind = "unexplained"
        found.append(
            {
                "webhook_id": wid,
                "attempt": r["attempt"],
                "sender": host,
                "kind": kind,
                "detail": detail,
                "faults": names,
            }
        )
    return found


def check(stack: Stack, load: Load, faultlog: FaultLog, *, label: str) -> dict:
    from django.db import connection

    from callbacks_app.models import Delivery, DeliveryAttempt, TargetAlert
    from tasks_app.models import Task

    connection.close()
    stack.receiver("POST", "/flush")
    receipts = [r for r in read_receipts(stack.receiver_log) if r["start"] >= load.since]
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in receipts:
        by_id[r["id"]].append(r)

    owners = [p.user_id for p in load.accounts]
    completed = set(Task.objects.filter(owner_id__in=owners, status="completed").values_list("id", flat=True))
    deliveries = list(
        Delivery.objects.filter(task_id__in=completed, event="task.completed").values_list(
            "id", "task_id", "status"
        )
    )
    delivered_ids = {d for d, rs in by_id.items() if any(200 <= r["status"] < 300 for r in rs)}
    tasks_with_delivery = {task for _, task, _ in deliveries}
    lost = [(d, task, status) for d, task, status in deliveries if d not in delivered_ids]
    no_delivery = completed - tasks_with_delivery
    ledger = defaultdict(int)
    for _, _, status in deliveries:
        ledger[status] += 1

    # no two attempts of one delivery in flight at once, as the receiver saw them
    # An overlap the sender did not make: the ledger ended the earlier attempt (its start plus its
    # duration, as the sender measured it) before the later one reached the receiver; only the
    # earlier connection's close did not reach the receiver (a partition between them).
    overlaps, overlaps_explained = [], []
    for wid, rs in by_id.items():
        rs = sorted(rs, key=lambda r: r["start"])
        for a, b in itertools.pairwise(rs):
            if b["start"] < a["end"]:
                ended = (
                    DeliveryAttempt.objects.filter(delivery_id=wid, number=int(a["attempt"] or 0))
                    .exclude(error=DeliveryAttempt.UNFINISHED)
                    .values_list("started_at", "duration_ms")
                    .first()
                )
                sender_end = ended[0].timestamp() + ended[1] / 1000 if ended else None
                if sender_end is not None and sender_end <= b["start"]:
                    overlaps_explained.append((wid, a, b, sender_end))
                else:
                    overlaps.append((wid, a, b))

    # duplicates: a delivery answered 2xx more than once; each receipt beyond the one the ledger
    # recorded as succeeded is explained by its own attempt's record and the faults of its sender
    duplicates = []
    for wid, rs in by_id.items():
        ok = sorted((r for r in rs if 200 <= r["status"] < 300), key=lambda r: r["start"])
        if len(ok) >= 2:
            duplicates += duplicate_explain(wid, ok, faultlog.entries)
    unmatched = [d for d in duplicates if d["kind"] in ("bug", "unexplained")]
    kinds: dict[str, int] = defaultdict(int)
    for d in duplicates:
        kinds[d["kind"]] += 1

    # the per-origin cap at the receiver
    stats = stack.receiver("GET", "/stats")
    peak = max((int(v) for v in stats.get("peak_by_origin", {}).values()), default=0)

    # callback_succeeded agrees with the ledger (the latest finished delivery of each task)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM tasks_app_task t
            JOIN LATERAL (
              SELECT d.status FROM callbacks_app_delivery d
              WHERE d.task_id = t.id AND d.status IN ('succeeded', 'failed')
              ORDER BY d.finished_at DESC LIMIT 1
            ) last ON true
            WHERE t.owner_id = ANY(%s)
              AND t.callback_succeeded IS DISTINCT FROM (last.status = 'succeeded')
            """,
            [owners],
        )
        disagree = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - a.due_at)),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - a.due_at)),
                   max(extract(epoch FROM a.started_at - a.due_at))
            FROM callbacks_app_deliveryattempt a JOIN callbacks_app_delivery d ON d.id = a.delivery_id
            WHERE d.owner_id = ANY(%s) AND a.due_at IS NOT NULL
            """,
            [owners],
        )
        lateness = cursor.fetchone()

    # alerts: each alert's operators' webhook received at least once
    alerts = list(TargetAlert.objects.values_list("id", "kind"))
    ops = Delivery.objects.filter(event="ops.alert").values_list("id", "payload")
    received_alerts = set()
    for delivery_id, payload in ops:
        if delivery_id in delivered_ids:
            received_alerts.add(json.loads(payload)["data"]["alert_id"])
    alerts_missing = [a for a in alerts if a[0] not in received_alerts]

    report = {
        "label": label,
        "completed": len(completed),
        "completions_counted_by_driver": len(load.completed),
        "completion_rate": round(len(load.completed) / max(1.0, getattr(load, "load_seconds", 1.0)), 1),
        "deliveries_by_status": dict(ledger),
        "lost": len(lost) + len(no_delivery),
        "lost_examples": lost[:5],
        "receipts": len(receipts),
        "overlaps": len(overlaps),
        "overlap_examples": [(w, a["start"], a["end"], b["start"]) for w, a, b in overlaps[:5]],
        "overlaps_sender_ended_first": [
            {"webhook_id": w, "earlier": [a["start"], a["end"]], "sender_ended": e, "later_start": b["start"]}
            for w, a, b, e in overlaps_explained
        ],
        "duplicates": duplicates,
        "duplicates_unmatched": len(unmatched),
        "duplicates_by_kind": dict(kinds),
        "deliveries_received_twice": len({d["webhook_id"] for d in duplicates}),
        "peak_per_origin": peak,
        "cap": CAP,
        "callback_succeeded_disagree": disagree,
        "lateness_s": {"p50": lateness[0], "p99": lateness[1], "max": lateness[2]},
        "alerts": [kind for _, kind in alerts],
        "alerts_missing": len(alerts_missing),
        "faults": faultlog.entries,
        "driver_errors": dict(load.errors),
    }
    report["held"] = {
        "0 lost": report["lost"] == 0,
        "no overlap": report["overlaps"] == 0,
        "duplicates matched to faults": report["duplicates_unmatched"] == 0,
        "per-origin cap": peak <= CAP,
        "callback_succeeded agrees": disagree == 0,
        "alerts at least once": bool(alerts) and not alerts_missing,
    }
    return report


def soak_summary(samples: list[dict], warmup: float = 300) -> list[str]:
    """Per role: memory (USS), file descriptors and processes at the first sample after the
    warm-up, at the last, and their extremes; PostgreSQL's connections likewise."""
    if len(samples) < 2:
        return []
    t0 = samples[0]["t"]
    steady = [s for s in samples if s["t"] - t0 >= min(warmup, (samples[-1]["t"] - t0) / 2)] or samples
    first, last = steady[0], steady[-1]
    lines = [f"samples: {len(samples)}, compared from {first['t'] - t0:.0f} s to {last['t'] - t0:.0f} s"]
    for role in first["roles"]:
        values = [s["roles"][role] for s in steady if role in s["roles"]]
        a, b = first["roles"][role], last["roles"].get(role, {})
        if not b:
            continue
        change = (b["uss_mb"] - a["uss_mb"]) / a["uss_mb"] * 100 if a["uss_mb"] else 0.0
        lines.append(
            f"{role}: memory {a['uss_mb']} → {b['uss_mb']} MB ({change:+.1f} %, "
            f"range {min(v['uss_mb'] for v in values)}–{max(v['uss_mb'] for v in values)}), "
            f"fds {a['fds']} → {b['fds']} (max {max(v['fds'] for v in values)}), processes {b['processes']}"
        )
    connections = [s.get("pg_connections") for s in steady if s.get("pg_connections") is not None]
    if connections:
        lines.append(f"PostgreSQL connections: {connections[0]} → {connections[-1]} (max {max(connections)})")
    return lines


def print_report(report: dict) -> None:
    held = report["held"]
    print(f"\n=== {report['label']} ===")
    print(
        f"completed tasks {report['completed']}, deliveries {report['deliveries_by_status']}, "
        f"receipts {report['receipts']}, driver errors {report['driver_errors']}"
    )
    print(f"completions: {report['completions_counted_by_driver']}, {report['completion_rate']}/s achieved")
    print(f"faults injected: {len(report['faults'])}")
    for f in report["faults"]:
        print(f"  - {f['name']} ({f['end'] - f['start']:.1f} s)")
    print(f"lost: {report['lost']} {report['lost_examples'] or ''}")
    print(f"overlapping attempts of one webhook-id: {report['overlaps']} {report['overlap_examples'] or ''}")
    for o in report["overlaps_sender_ended_first"]:
        print(
            f"  - seen by the receiver only: {o['webhook_id']}: the sender ended the earlier attempt "
            f"{o['later_start'] - o['sender_ended']:.1f} s before the next; its close arrived "
            f"{o['earlier'][1] - o['later_start']:.1f} s after the next began (a partition)"
        )
    print(
        f"duplicate receipts: {len(report['duplicates'])} of {report['deliveries_received_twice']} deliveries "
        f"(unexplained or a bug: {report['duplicates_unmatched']})"
    )
    for kind, n in sorted(report["duplicates_by_kind"].items(), key=lambda kv: -kv[1]):
        print(f"  {n} × {kind}: {DUPLICATE_KINDS[kind]}")
    for d in report["duplicates"]:
        print(
            f"    {d['webhook_id']} attempt {d['attempt']} from {d['sender']}: {d['kind']}, {d['detail']}; {d['faults']}"
        )
    print(f"per-origin peak at the receiver: {report['peak_per_origin']} (cap {report['cap']})")
    print(f"callback_succeeded disagreeing with the ledger: {report['callback_succeeded_disagree']}")
    lat = report["lateness_s"]
    print(f"lateness of attempts (start - due): p50 {lat['p50']}, p99 {lat['p99']}, max {lat['max']} s")
    print(f"alerts: {report['alerts']} (not received at the operators' webhook: {report['alerts_missing']})")
    for line in soak_summary(report.get("samples", [])):
        print(f"  {line}")
    for name, ok in held.items():
        print(f"  [{'held' if ok else 'BROKEN'}] {name}")


# --- A run ---------------------------------------------------------------------------------

PROFILES = {
    # seconds of load, completions/s, targets, clusters, stacks, drain timeout
    "ci": {"seconds": 45, "rate": 15, "targets": 10, "clusters": 2, "stacks": ["redis", "orm"], "drain": 60},
    "full": {
        "seconds": 0,
        "rate": 30,
        "targets": 20,
        "clusters": 3,
        "stacks": ["redis", "orm"],
        "drain": 120,
    },
    "soak": {
        "seconds": 3600,
        "rate": 100,
        "targets": 50,
        "clusters": 2,
        "stacks": ["redis"],
        "drain": 180,
        "drivers": 3,
    },
}


def django_setup(stack: Stack) -> None:
    os.environ.update(stack.env("driver"))
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def run(args) -> int:
    profile = dict(PROFILES[args.profile])
    for key in ("seconds", "rate", "targets", "clusters"):
        if getattr(args, key, None):
            profile[key] = getattr(args, key)
    if args.stacks:
        profile["stacks"] = args.stacks.split(",")
    if os.geteuid() != 0 or sh("ip", "netns", "list", check=False).returncode != 0:
        print(
            "faults: network namespaces cannot be made here (root and `ip netns` are needed)", file=sys.stderr
        )
        return 2
    cleanup(workdirs=False)
    workdir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-run-"))
    os.chmod(workdir, 0o755)
    mix = {"fail": 0.05, "hang": 0.01, "slow": 0.05}
    stack = Stack(workdir, profile["clusters"], mix)
    reports = []
    try:
        try:
            network_up(["db", "web", "rx", *stack.cluster_hosts])
        except subprocess.CalledProcessError as error:
            print(f"faults: network namespaces cannot be made here: {error.stderr.strip()}", file=sys.stderr)
            return 2
        log(f"hosts up, work directory {workdir}")
        stack.databases_start()
        stack.proxy_start()
        stack.receiver_start()
        stack.broker = profile["stacks"][0]
        django_setup(stack)
        from django.core.management import call_command
        from django.db import connection

        log("migrating")
        call_command("migrate", verbosity=0)
        connection.close()
        for broker in profile["stacks"][1:]:
            # a fresh database of the migrated schema for each next stack, copied while nobody is connected
            subprocess.run(
                [
                    "psql",
                    f"postgres://postgres@{DB_IP}:5432/postgres",
                    "-qc",
                    f"CREATE DATABASE scalehooks_{broker} TEMPLATE scalehooks",
                ],
                check=True,
                capture_output=True,
            )
        for index, broker in enumerate(profile["stacks"]):
            stack.broker = broker
            if index:
                stack.database = f"scalehooks_{broker}"
                connection.close()
                connection.settings_dict["NAME"] = stack.database
                os.environ.update(stack.env("driver"))
            reports.append(one_stack(stack, profile, args))
            print_report(reports[-1])
            stack.stop_service()
    finally:
        stack.stop_all()
        cleanup(workdirs=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.report:
        Path(args.report).write_text(json.dumps(reports, indent=1, default=str))
    ok = all(all(r["held"].values()) for r in reports)
    print("\nfaults: every invariant held" if ok else "\nfaults: an invariant was BROKEN (see above)")
    return 0 if ok else 1


def one_stack(stack: Stack, profile: dict, args) -> dict:
    label = f"{args.profile} on PostgreSQL + {'Redis' if stack.broker == 'redis' else 'the ORM broker'}"
    log(f"--- {label}")
    load = Load(stack, rate=profile["rate"], targets=profile["targets"])
    load.prepare(n_accounts=5)
    stack.web_start()
    for host in stack.cluster_hosts:
        stack.cluster_start(host)
    faultlog = FaultLog()
    faults = Faults(stack, faultlog)
    load.since = time.time()
    # the alerts: one target failing for its first seconds, then healthy again
    faults.outage(True)
    outage_tasks = load.new_tasks(8, outage=True)
    for task_id in outage_tasks:
        load.complete_in_process(task_id)
    load.completed.clear()  # the load's completions only
    faults.restart_every = args.restart_every
    plan = schedule(args.profile, stack, faults)
    seconds = profile["seconds"] or (max(at for at, _ in plan) + LEASE + 25)
    plan = [(at, action) for at, action in plan if at < seconds - 5]  # every fault heals within the load
    started = time.monotonic()
    fault_threads: list[threading.Thread] = []
    scheduler = threading.Thread(target=lambda: fault_threads.extend(faults_run(plan, started)), daemon=True)
    scheduler.start()
    samples = []
    stop_sampling = threading.Event()

    def sampler():
        while not stop_sampling.wait(args.sample_every):
            with contextlib.suppress(Exception):
                samples.append(sample(stack))

    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()
    threading.Timer(min(20.0, seconds / 3), faults.outage, args=(False,)).start()
    load.run(seconds, processes=profile.get("drivers", 1))
    scheduler.join()
    for thread in fault_threads:
        thread.join()
    # everything healed: wait until no delivery is pending
    from django.db import connection

    from callbacks_app.models import Delivery

    log("load done, faults healed; waiting for every delivery to finish")
    connection.close()
    wait_for(lambda: not Delivery.objects.filter(status="pending").exists(), profile["drain"], interval=1)
    time.sleep(2)
    stop_sampling.set()
    samples.append(sample(stack))
    report = check(stack, load, faultlog, label=label)
    report["samples"] = samples
    report["profile"] = dict(profile.items())
    report["seconds_of_load"] = seconds
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", default="run", choices=["run", "proxy"])
    parser.add_argument("routes", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES))
    parser.add_argument("--stacks", default="", help="redis,orm (default: the profile's)")
    parser.add_argument("--seconds", type=float, default=0, help="seconds of load (default: the profile's)")
    parser.add_argument("--rate", type=float, default=0, help="completions a second")
    parser.add_argument("--targets", type=int, default=0, help="receiver origins")
    parser.add_argument("--clusters", type=int, default=0, help="cluster hosts")
    parser.add_argument(
        "--restart-every", type=float, default=600, help="soak: seconds between cluster restarts"
    )
    parser.add_argument("--sample-every", type=float, default=30, help="seconds between process samples")
    parser.add_argument("--report", default="", help="write the reports as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--cleanup", action="store_true", help="remove what an interrupted run left")
    parser.add_argument(
        "--instance",
        type=int,
        default=0,
        help="a second run beside the first: its own names (shfN-), 10.(77+N).0.0/24",
    )
    args = parser.parse_args()
    instance_set(args.instance)
    if args.cleanup:
        cleanup()
        print(f"faults: removed every namespace, link, process and directory named {PREFIX}-")
        return 0
    if args.command == "proxy":
        asyncio.run(proxy_main(args.routes))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
