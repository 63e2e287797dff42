"""What a real install runs: the SECRET_KEY guard, `check --deploy`, and `make run`.

Each test starts Python (or make) in a subprocess on the production settings
(``scalehooks.settings``), as an install does: the suite's own settings set a
key of their own and serve static files differently.
"""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from scalehooks.settings import DEVELOPMENT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent
A_SECRET_KEY = "a-key-of-this-install-" + "0123456789abcdefghij" * 3
HTTPS_SETTINGS = {
    "PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}
# The suite's own variables, and those a test sets itself.
LEFT_OUT = {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", *HTTPS_SETTINGS}


def production_env(tmp_path: Path, **env) -> dict:
    """The environment of an install: this one, less the suite's settings."""
    return {
        **{key: value for key, value in os.environ.items() if key not in LEFT_OUT},
        "DJANGO_SETTINGS_MODULE": "scalehooks.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'install.sqlite3'}",
        "REDIS_URL": "",
        **env,
    }


# .env is not read: a developer's own (`make run` writes a SECRET_KEY there)
# must not hide what happens without one.
DJANGO_SETUP_WITHOUT_DOTENV = (
    "import environ; environ.Env.read_env = lambda *args, **kwargs: None; "
    "import django; django.setup(); print('started')"
)


def django_setup(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", DJANGO_SETUP_WITHOUT_DOTENV],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("key", [None, "", DEVELOPMENT_SECRET_KEY], ids=["unset", "empty", "built-in"])
def test_with_debug_off_the_built_in_secret_key_is_refused(tmp_path, key):
    env = production_env(tmp_path, DEBUG="0", **({} if key is None else {"SECRET_KEY": key}))

    started = django_setup(env)

    assert started.returncode != 0
    assert "started" not in started.stdout
    assert "ImproperlyConfigured: SECRET_KEY is not set" in started.stderr
    assert "refuses the built-in development key" in started.stderr


def test_with_debug_off_a_secret_key_of_its_own_starts(tmp_path):
    started = django_setup(production_env(tmp_path, DEBUG="0", SECRET_KEY=A_SECRET_KEY))

    assert started.returncode == 0, started.stderr
    assert "started" in started.stdout


def test_with_debug_on_the_built_in_key_still_starts(tmp_path):
    started = django_setup(production_env(tmp_path, DEBUG="1"))

    assert started.returncode == 0, started.stderr


def test_a_process_starting_logs_nothing_a_user_need_not_read(tmp_path):
    """`make run` starts several processes (migrate, collectstatic, gunicorn's workers, the
    cluster): none prints django-axes' start-up banner, at the default log level."""
    started = django_setup(production_env(tmp_path, DEBUG="0", SECRET_KEY=A_SECRET_KEY))

    assert started.returncode == 0, started.stderr
    assert "AXES: BEGIN" not in started.stderr + started.stdout


def check_deploy(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_https_settings_set(tmp_path):
    checked = check_deploy(production_env(tmp_path, DEBUG="0", SECRET_KEY=A_SECRET_KEY, **HTTPS_SETTINGS))

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout
    assert "WARNINGS" not in checked.stdout + checked.stderr


def test_check_deploy_names_what_the_https_settings_would_fix(tmp_path):
    checked = check_deploy(production_env(tmp_path, DEBUG="0", SECRET_KEY=A_SECRET_KEY))

    assert checked.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):  # HSTS, SSL redirect, secure cookies
        assert f"security.{warning}" in checked.stderr + checked.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_is_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def fresh_clone(tmp_path: Path) -> Path:
    """A clone of this checkout's commit, with the virtualenv running the suite as its `.venv`
    (what `make run` would install): a fresh machine's checkout, nothing left by a developer."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(BASE_DIR), str(clone)], check=True, timeout=120)
    (clone / ".venv").symlink_to(sys.prefix)
    return clone


def a_new_shell() -> dict:
    """The environment of a user's new terminal: none of the suite's settings, none of make's."""
    return {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TERM") if key in os.environ}


def in_a_second_shell(clone: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command], cwd=clone, env=a_new_shell(), capture_output=True, text=True, timeout=120
    )


def printed(output: str, label: str) -> str:
    """The value `make run` printed after ``label``."""
    for line in output.splitlines():
        if line.strip().startswith(label):
            return line.split(label, 1)[1].split()[0]
    raise AssertionError(f"{label!r} not printed:\n{output}")


def inbox_shows_a_verified_callback(portal: requests.Session, url: str, timeout: float = 60) -> bool:
    listed = portal.get(f"{url}/portal/inboxes", timeout=10).text
    inbox_path = listed.split('href="/portal/inboxes/inb_', 1)[1].split('"', 1)[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = portal.get(f"{url}/portal/inboxes/inb_{inbox_path}", timeout=10).text
        if '<tr class="verified"' in page:
            return True
        time.sleep(0.5)
    return False


@pytest.mark.cluster
def test_the_quick_start_word_for_word_from_a_fresh_clone_on_another_port(tmp_path):
    """README's quick start as a new user follows it: `make run` on a port of its own in a fresh
    clone, then, from a second shell, the printed curl line, `./manage portal_link`, the portal's
    demo inbox and a loopback default URL given to `./manage create_account`; gunicorn and
    WhiteNoise serve; Ctrl-C stops everything."""
    clone = fresh_clone(tmp_path)
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="make-run-", suffix=".log", delete=False)  # noqa: SIM115 - open while make runs
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", "-o", ".venv/.installed"],
        cwd=clone,
        env={**a_new_shell(), "Q_WORKERS": "1", "WEB_CONCURRENCY": "1"},  # two cores: fewer processes
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def output() -> str:
        return Path(log.name).read_text(errors="replace")

    try:
        deadline = time.monotonic() + 180
        while True:
            assert make.poll() is None, output()
            assert time.monotonic() < deadline, output()
            try:
                health = requests.get(f"{url}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)

        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "database": "ok", "broker": "ok"}
        assert health.headers["Server"].startswith("gunicorn")
        css = requests.get(f"{url}/static/admin/css/base.css", timeout=5)
        assert css.status_code == 200
        assert css.headers["Content-Type"].startswith("text/css")
        # collectstatic ran with the hashed-name storage; those names are cached for good.
        hashed = json.loads((clone / "static" / "staticfiles.json").read_text())["paths"][
            "admin/css/base.css"
        ]
        assert "immutable" in requests.get(f"{url}/static/{hashed}", timeout=5).headers["Cache-Control"]
        assert "ScaleHooks demo customer account" in output()
        # Nothing a user need not read: no recipe echoed, no migration listed, no start-up banner.
        for noise in ("manage.py migrate", "Applying ", "AXES: BEGIN"):
            assert noise not in output(), output()
        assert '"GET /healthz HTTP/1.1" 200' in output()  # gunicorn's access log on stdout

        # Step 2: the curl line make run printed, as printed.
        curl = output().split("Try: ", 1)[1].split("       then open", 1)[0]
        created = in_a_second_shell(clone, curl)
        assert created.returncode == 0 and '"status":"completed"' in created.stdout, created

        # Step 1, from the second shell: another one-time link, to this server's port.
        linked = in_a_second_shell(clone, "./manage portal_link demo@scalehooks.local")
        assert linked.returncode == 0, linked.stderr
        link = linked.stdout.split()[0]
        assert link.startswith(f"{url}/portal/link/"), linked.stdout
        portal = requests.Session()
        portal.get(link, timeout=10)
        signed = portal.post(
            link, data={"csrfmiddlewaretoken": portal.cookies["csrftoken"]}, headers={"Referer": link}
        )
        assert signed.status_code == 200 and "TEST side" in signed.text, signed.text[:500]

        # Step 3: the callback in the demo inbox, verified.
        assert inbox_shows_a_verified_callback(portal, url), output()

        # A receiver on this machine, given from the second shell: make run's loopback allowance holds there too.
        account = in_a_second_shell(
            clone,
            f"./manage create_account new@example.com --test-default-callback-url http://127.0.0.1:{port}/x",
        )
        assert account.returncode == 0, account.stderr

        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in make's terminal

        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            still = subprocess.run(
                ["ps", "-o", "pid,stat,wchan:24,args", "--sid", str(make.pid)], capture_output=True, text=True
            ).stdout
            pytest.fail(f"`make run` still ran 30 s after Ctrl-C:\n{still}\n{output()}")
        assert group_is_gone(make.pid, timeout=15), "a process of `make run` outlived it"
    finally:
        try:
            os.killpg(make.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        make.wait()


@pytest.mark.django_db
def test_a_refused_loopback_target_names_the_fix(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = ""  # a plain install: loopback forbidden

    with pytest.raises(CommandError) as refused:
        call_command("create_account", "a@example.com", "--test-default-callback-url", "http://127.0.0.1:9/x")

    assert "CALLBACK_ALLOWED_NETWORKS" in str(refused.value) and "--allow-network" in str(refused.value)


def gunicorn_config(env: dict) -> dict:
    """The names deploy/gunicorn.conf.py sets, read with ``env`` as the environment."""
    code = (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    names: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        for key in ("HOST", "PORT", "WEB_CONCURRENCY"):
            patch.delenv(key, raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        exec(compile(code, "gunicorn.conf.py", "exec"), names)
    return names


def test_gunicorn_config_reads_address_and_workers_from_the_environment():
    default = gunicorn_config({})
    assert default["bind"] == ["127.0.0.1:8000"]
    assert default["workers"] == 2
    assert default["accesslog"] == "-"  # stdout
    assert default["wsgi_app"] == "scalehooks.wsgi:application"

    configured = gunicorn_config({"HOST": "0.0.0.0", "PORT": "9001", "WEB_CONCURRENCY": "5"})
    assert configured["bind"] == ["0.0.0.0:9001"]
    assert configured["workers"] == 5


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Dripping:
    """A client sending its request a byte every 0.2 s (its head, or its body after a whole head),
    that records the server's first answer."""

    def __init__(self, port: int, *, part: str, key: str):
        self.sock = socket.create_connection(("127.0.0.1", port))
        head = (
            f"POST /v1/task/categorization HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {base64.b64encode(f'{key}:'.encode()).decode()}\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n"
        ).encode()
        if part == "body":
            self.sock.sendall(head)
            self.rest = b"{" + b" " * 9999
        else:
            self.rest = head
        self.answer = b""
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self):
        self.sock.settimeout(0.2)
        for byte in self.rest:
            try:
                self.sock.sendall(bytes([byte]))
                self.answer = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            return  # answered, or closed (b"")

    def answered(self, timeout: float) -> bytes:
        self.thread.join(timeout)
        return self.answer


@pytest.mark.cluster
def test_dripping_clients_hold_no_thread_and_are_cut_at_the_request_deadline(tmp_path):
    """More clients than threads send their requests a byte at a time; a normal API request is
    answered while they still drip, and they get a 408 at WEB_REQUEST_TIMEOUT (SPEC §8 "Resources")."""
    env = production_env(
        tmp_path,
        SECRET_KEY=A_SECRET_KEY,
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        WEB_REQUEST_TIMEOUT="4",
    )
    manage(env, "migrate", "--noinput")
    key = re.search(r"Live API key:\s+(\S+)", manage(env, "create_account", "drip@example.com")).group(1)
    port = free_port()
    server = subprocess.Popen(  # the web command of `make run` (Makefile, WEB)
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
        cwd=BASE_DIR,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        dripping = [Dripping(port, part=part, key=key) for part in ("head", "body") for _ in range(3)]
        time.sleep(0.5)  # every dripping client has sent some of its request (no timing is asserted)

        answer = requests.get(f"{url}/v1/tasks", auth=(key, ""), timeout=10)

        assert answer.status_code == 200
        assert [d.answer for d in dripping] == [b""] * 6  # still dripping, still unanswered
        for client in dripping:
            cut = client.answered(timeout=30)
            assert cut.startswith(b"HTTP/1.1 408 Request Timeout"), cut
            assert b'"status_code": 408' in cut
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        try:
            requests.get(f"{url}/healthz", timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.2)


@pytest.mark.cluster
def test_the_logs_of_the_web_process_hold_no_key_token_or_query(tmp_path):
    """Issue 25 F16: gunicorn's default access log format logged the Basic-auth user name, which is
    the API key, and every request line whole (inbox and link tokens in paths, queries); Django's
    warnings log the path of a 4xx ("Not Found: /portal/link/<token>")."""
    port = free_port()
    env = production_env(
        tmp_path,
        SECRET_KEY=A_SECRET_KEY,
        WEB_CONCURRENCY="1",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")  # as `make run` does: the pages' assets
    key = re.search(r"Live API key:\s+(\S+)", manage(env, "create_account", "logs@example.com")).group(1)
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=BASE_DIR,
            env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, server)
        inbox = requests.post(f"{url}/v1/inboxes", json={"name": "logs"}, auth=(key, ""), timeout=10).json()
        link = requests.post(f"{url}/v1/portal/sessions", json={}, auth=(key, ""), timeout=10).json()["url"]
        secrets = {
            "the API key": key,
            "the inbox token": inbox["url"].rstrip("/").rsplit("/", 1)[-1],
            "the portal link token": link.rsplit("/", 1)[-1],
            "a query value": "query-secret-0123456789",
            "an unknown link token": "unknown-link-token-0123456789",
            "a confirmation token": "confirmation-token-0123456789",
        }

        assert requests.get(f"{url}/v1/tasks", auth=(key, ""), timeout=10).status_code == 200
        requests.post(
            f"{inbox['url'].rstrip('/')}/hook?token=query-secret-0123456789", json={"a": 1}, timeout=10
        )
        assert requests.get(link, timeout=10).status_code == 200
        assert requests.get(f"{url}/portal/link/unknown-link-token-0123456789", timeout=10).status_code == 404
        requests.get(f"{url}/callbacks/confirm/confirmation-token-0123456789", timeout=10)
        requests.get(f"{url}/inbox/unknown-link-token-0123456789/x", timeout=10)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    text = log.read_text(errors="replace")
    assert '"GET /v1/tasks HTTP/1.1" 200' in text  # the requests are logged, their secrets are not
    assert "POST /inbox/" in text and "GET /portal/link/" in text
    leaked = {what: secret for what, secret in secrets.items() if secret in text}
    assert leaked == {}, text
