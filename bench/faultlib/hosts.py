"""The processes of the fault harness's hosts: PostgreSQL and Redis, the forwarder, the receiver,
the web host (gunicorn), the cluster hosts (qcluster), their environment, and samples of their
memory, descriptors and PostgreSQL connections."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from faultlib.forwarder import proxy_set
from faultlib.net import (
    BASE_DIR,
    CAP,
    CONNECT_TIMEOUT,
    HOST_IPS,
    OPS_PORT,
    OUTAGE_PORT_OFFSET,
    POSTGRES_GID,
    POSTGRES_UID,
    RETRY_SCHEDULE,
    TIMEOUT,
    N,
    in_ns,
)

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
            hba.write(f"host all all {N.net}.0/24 trust\n")
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
                    f"listen_addresses={N.db_ip}",
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
            ["psql", f"postgres://postgres@{N.db_ip}:5432/postgres", "-qc", "CREATE DATABASE scalehooks"],
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
                    N.db_ip,
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
                f"{host}-db={N.root_ip}:{15000 + n}={N.db_ip}:5432",
                f"{host}-redis={N.root_ip}:{16000 + n}={N.db_ip}:6379",
            ]
        self.procs["proxy"] = Proc(
            "proxy",
            [
                sys.executable,
                str(BASE_DIR / "bench" / "faults.py"),
                f"--instance={N.instance}",
                "proxy",
                *specs,
            ],
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
            N.rx_ip,
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
        request = urllib.request.Request(f"http://{N.rx_ip}:{OPS_PORT}{path}", method=method)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)

    def env(self, host: str) -> dict:
        n = HOST_IPS.get(host, 1)
        via = host if host in ("web", *self.cluster_hosts) else None
        database = (
            f"postgres://postgres@{N.root_ip}:{15000 + n}/{self.database}"
            if via
            else f"postgres://postgres@{N.db_ip}:5432/{self.database}"
        )
        redis = (
            (f"redis://{N.root_ip}:{16000 + n}/0" if via else f"redis://{N.db_ip}:6379/0")
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
            "ALLOWED_HOSTS": f"{N.web_ip},localhost",
            "CALLBACK_ALLOWED_NETWORKS": f"{N.net}.0/24",
            "Q_CLUSTER_NAME": "faults",
            "Q_WORKERS": "2",
            "Q_LOG_LEVEL": "WARNING" if host == "driver" else "INFO",
            "LOG_LEVEL": "WARNING",
            "CALLBACK_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            "CALLBACK_TIMEOUT": str(TIMEOUT),
            "CALLBACK_RETRY_SCHEDULE": RETRY_SCHEDULE,
            "CALLBACK_MAX_IN_FLIGHT_PER_TARGET": str(CAP),
            "CALLBACK_TARGET_ALERT_FAILURES": "5",
            "OPS_WEBHOOK_URLS": f"http://{N.rx_ip}:{OPS_PORT}/ops",
            "OPS_WEBHOOK_SECRET": "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "EMAIL_URL": "dummymail://",
            "API_THROTTLE_RATE": "100000000/min",
            "STATIC_ROOT": str(self.workdir / "static"),
            "PUBLIC_BASE_URL": f"http://{N.web_ip}:8000",
        }

    def web_start(self) -> None:
        env = {
            **self.env("web"),
            "HOST": N.web_ip,
            "PORT": "8000",
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "8",
        }
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
