"""Real django-q2 clusters for the tests, as child processes on the test database."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class ClusterProcess:
    """``manage.py qcluster`` in its own process group, logging to a file."""

    def __init__(self, env: dict | None = None):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": test_database_url(),
            "Q_LOG_LEVEL": "INFO",
            **{key: str(value) for key, value in (env or {}).items()},
        }
        self.log = tempfile.NamedTemporaryFile(prefix="qcluster-", suffix=".log", delete=False)  # noqa: SIM115 - open while the cluster runs
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "ClusterProcess":
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while b"running." not in Path(self.log.name).read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"qcluster did not start:\n{self.output()}")
            time.sleep(0.02)
        return self

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def worker_connected_to(self, port: int) -> psutil.Process | None:
        """The cluster's process holding a TCP connection to 127.0.0.1:``port``."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if any(c.raddr and c.raddr.port == port for c in child.net_connections("tcp")):
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    def kill(self) -> None:
        """SIGKILL every process of the cluster, as a machine crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # The main process stops its cluster gracefully on SIGTERM.
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        # Workers may outlive the main process for a moment; leave nothing behind.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
