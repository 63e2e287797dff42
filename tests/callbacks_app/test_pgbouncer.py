"""The engine behind PgBouncer in transaction pool mode (docs/deployment.md, "PgBouncer"), as most
production PostgreSQL is run: Debian's ``pgbouncer`` (``make pgbouncer`` installs it) in front of
the test database, the web process (gunicorn) and a django-q2 cluster pointed at it with the
settings a PgBouncer user sets, and callbacks completed, retried, recorded, resent and alerted on
through it.

A few server connections are shared by every client connection, so that a session's state (a
prepared statement) meets another client's: the engine must prepare nothing there. PostgreSQL
only: the SQLite stage skips it.
"""

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection
from standardwebhooks.webhooks import Webhook

from callbacks_app.models import Delivery
from tests.cluster import BASE_DIR
from tests.servers import Answer, CallbackReceiver
from tests.waiting import wait_until

pytestmark = [pytest.mark.service, pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

OPS_SECRET = "whsec_" + base64.b64encode(b"pgbouncer-operators-0123456789ab").decode()
CALLBACKS = 12
WEB = ["--workers", "1", "--threads", "4"]
SERVER_CONNECTIONS = 3  # per database and user: fewer than the web's and the cluster's clients


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)


@pytest.fixture
def pgbouncer():
    """PgBouncer in transaction pool mode in front of the test database: (its port, its admin
    console's URL). Run as ``nobody`` when the tests run as root (PgBouncer refuses root)."""
    if connection.vendor != "postgresql":
        pytest.skip("PgBouncer fronts PostgreSQL: the PostgreSQL stages run this (make test-postgres-slow)")
    binary = shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)), None
    )
    if binary is None:
        pytest.fail("pgbouncer is not installed: `make pgbouncer` (apt-get install -y pgbouncer)")
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    server = f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} dbname={db['NAME']}"
    if db.get("PASSWORD"):
        server += f" user={user} password={db['PASSWORD']}"
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    directory.chmod(0o755)  # readable by the user PgBouncer runs as
    (directory / "users.txt").write_text(f'"{user}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n{db['NAME']} = {server}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\nadmin_users = {user}\n"
        f"pool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 200\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (directory / name).chmod(0o644)
    log = directory / "pgbouncer.log"
    as_nobody = ["-u", "nobody"] if os.geteuid() == 0 else []
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, *as_nobody, str(directory / "pgbouncer.ini")],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log)
        yield port, f"postgresql://{user}@127.0.0.1:{port}/pgbouncer"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def through(port: int) -> dict:
    """The environment of a process that reaches the test database through PgBouncer, with what
    a PgBouncer user sets (README, Configuration; docs/deployment.md, "PgBouncer")."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{user}{password}@127.0.0.1:{port}/{db['NAME']}",
        "DATABASE_PREPARE_THRESHOLD": "",  # no statement prepared: the server may change
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS": "true",  # no cursor outlives its transaction
        "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "0",  # PgBouncer refuses `options`
    }


@pytest.fixture
def web(pgbouncer):
    """gunicorn (one worker of several threads) on the test database through PgBouncer."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "scalehooks.wsgi", "--bind", f"127.0.0.1:{port}", *WEB],
            cwd=BASE_DIR,
            env={**os.environ, **through(pgbouncer[0]), "ALLOWED_HOSTS": "127.0.0.1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port(port, server, log)
    yield f"http://127.0.0.1:{port}", log
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    log.unlink()


def logged(log: Path) -> str:
    """The end of a process's log, for a failure's message."""
    return "\n" + log.read_text(errors="replace")[-3000:]


def clients_of(admin_url: str, database: str) -> int:
    """The client connections PgBouncer holds to ``database`` (its admin console's SHOW CLIENTS)."""
    with psycopg.connect(admin_url, autocommit=True, cursor_factory=psycopg.ClientCursor) as admin:
        cursor = admin.execute("SHOW CLIENTS")
        column = [d.name for d in cursor.description].index("database")
        return sum(1 for row in cursor.fetchall() if row[column] == database)


def test_the_engine_delivers_retries_records_resends_and_alerts_through_pgbouncer_in_transaction_mode(
    pgbouncer, web, start_cluster, account, operator_account, receiver
):
    port, admin_url = pgbouncer
    url, web_log = web
    failing, ops = CallbackReceiver(), CallbackReceiver()
    try:
        cluster = start_cluster(
            **through(port),
            Q_WORKERS="2",
            CALLBACK_RETRY_SCHEDULE="0.5,0.5",
            CALLBACK_TARGET_ALERT_FAILURES="2",
            OPS_WEBHOOK_URLS=ops.url,
            OPS_WEBHOOK_SECRET=OPS_SECRET,
        )
        customer, operator = requests.Session(), requests.Session()
        customer.auth, operator.auth = (account.live_api_key, ""), (operator_account.live_api_key, "")

        def completed(callback_url: str) -> str:
            created = customer.post(
                f"{url}/v1/task/categorization",
                json={
                    "instruction": "Red or blue?",
                    "attachment_type": "text",
                    "attachment": "tomato",
                    "categories": ["red", "blue"],
                    "callback_url": callback_url,
                },
                timeout=30,
            )
            assert created.status_code == 200, created.text + logged(web_log)
            task_id = created.json()["task_id"]
            done = operator.post(
                f"{url}/v1/ops/task/{task_id}/complete", json={"response": {"category": "red"}}, timeout=30
            )
            assert done.status_code == 200, done.text + logged(web_log)
            return task_id

        receiver.answer(Answer(500), Answer(200))  # the first callback is sent again
        failing.answer(Answer(500))
        task_ids = [completed(receiver.url) for _ in range(CALLBACKS)]
        gone_wrong = completed(failing.url)

        received = receiver.wait_for(CALLBACKS + 1, timeout=60)
        assert {r.json()["task_id"] for r in received} == set(task_ids)
        retried = [r for r in received if r.header("scale-callback-attempt") == "2"]
        assert len(retried) == 1
        for task_id in task_ids:  # the recording, read back through the web process
            wait_until(
                lambda task_id=task_id: (
                    customer.get(f"{url}/v1/task/{task_id}", timeout=30).json().get("callback_succeeded")
                    is True
                ),
                timeout=30,
                message=f"{task_id}'s callback_succeeded was never recorded",
            )
        statuses = set(Delivery.objects.filter(task_id__in=task_ids).values_list("status", flat=True))
        assert statuses == {Delivery.Status.SUCCEEDED}

        resent = customer.post(f"{url}/v1/task/{task_ids[0]}/resend_callback", timeout=30)
        assert resent.status_code == 200, resent.text
        again = receiver.wait_for(len(received) + 1, timeout=30)[-1]
        assert again.json()["task_id"] == task_ids[0]

        # The failing target's alert, after its two failures (then its delivery's, exhausted).
        wait_until(
            lambda: (
                "target.failing"
                in [Webhook(OPS_SECRET).verify(r.body, r.headers)["type"] for r in ops.requests]
            ),
            timeout=30,
            message="no target.failing alert reached the operators' webhook",
        )
        assert {r.json()["task_id"] for r in failing.requests} == {gone_wrong}

        # Every process reached the database through PgBouncer, and each failure above (none
        # expected) would have been an error from a statement prepared on another server's session.
        assert clients_of(admin_url, connection.settings_dict["NAME"]) >= 2
        assert "prepared statement" not in cluster.output()
        assert "prepared statement" not in web_log.read_text(errors="replace")
    finally:
        failing.close()
        ops.close()
