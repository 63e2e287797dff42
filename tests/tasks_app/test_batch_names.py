"""Project and batch names with ``/`` and ``%`` (SPEC §12): the client URL-quotes them, and the
production server (gunicorn) routes on the raw path (``scalehooks/api/names.py``)."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from scaleapi import ScaleClient
from scaleapi.tasks import TaskType

from tests import cluster

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["a/b", "50% off", "x/y/z%2F", "ünï code/é"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_url(tmp_path):
    """gunicorn serving the application on the test database, as in production."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": cluster.test_database_url(),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "scalehooks.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=cluster.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
        try:
            requests.get(f"{url}/healthz", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()


@pytest.mark.service
def test_names_with_slashes_and_percent_signs_through_gunicorn(gunicorn_url, account):
    scale = ScaleClient(account.live_api_key, api_instance_url=f"{gunicorn_url}/v1")

    for name in NAMES:
        scale.create_project(name, TaskType.Categorization, params={"instruction": name})
        assert scale.get_project(name).name == name
        assert scale.update_project(name, instruction=f"{name}!").instruction == f"{name}!"
        scale.create_batch(name, name)
        assert scale.get_batch(name).project == name
        assert scale.batch_status(name)["status"] == "in_progress"
        assert scale.set_batch_metadata(name, {"n": name}).metadata == {"n": name}
        assert scale.finalize_batch(name).status == "completed"
        assert (
            scale.api.get_request(f"batches/{scale.api.quote_string(name)}/callbacks")["batch_name"] == name
        )
    assert sorted(p.name for p in scale.projects()) == sorted(NAMES)


def test_without_a_raw_path_a_name_with_a_slash_is_not_found_and_others_work(customer, create_batch):
    create_batch("p", "a/b")
    create_batch("p", "50% off")

    assert customer.get("/v1/batches/a%2Fb").status_code == 404  # PATH_INFO is decoded
    assert customer.get("/v1/batches/50%25%20off").json()["name"] == "50% off"


def test_a_raw_request_uri_routes_the_slash_as_part_of_the_name(customer, create_batch):
    create_batch("p", "a/b")

    # uWSGI passes REQUEST_URI (gunicorn RAW_URI): the undecoded path.
    answer = customer.get("/v1/batches/a%2Fb/status", REQUEST_URI="/v1/batches/a%2Fb/status?x=1")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["pending"] == 0
