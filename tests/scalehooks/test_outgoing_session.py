"""The one outgoing HTTP session (STYLE 5): its default timeout, and what a caller cannot change."""

import logging
import socket
import threading
import time

import pytest
import requests

from callbacks_app.models import Delivery
from scalehooks.outgoing import USER_AGENT, outgoing_session
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished, logged_text
from tests.factories import TaskFactory
from tests.servers import DrippingReceiver


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_outgoing_session_applies_the_default_read_timeout_from_settings(settings, silent_server):
    # given a read timeout set after the session may already exist
    settings.CALLBACK_CONNECT_TIMEOUT = 1
    settings.CALLBACK_TIMEOUT = 0.3
    session = outgoing_session()
    started = time.monotonic()

    # when a caller gives no timeout
    with pytest.raises(requests.ReadTimeout):
        session.get(silent_server)

    # then the session gave up after the configured read timeout
    assert time.monotonic() - started < 2


def test_outgoing_session_lets_a_caller_give_its_own_timeout(settings, silent_server):
    settings.CALLBACK_TIMEOUT = 30
    started = time.monotonic()

    with pytest.raises(requests.ReadTimeout):
        outgoing_session().get(silent_server, timeout=(1, 0.2))

    assert time.monotonic() - started < 2


def test_outgoing_session_is_one_per_thread_with_our_user_agent_and_no_environment():
    session = outgoing_session()
    other = []
    thread = threading.Thread(target=lambda: other.append(outgoing_session()))
    thread.start()
    thread.join()

    assert outgoing_session() is session
    assert other[0] is not session
    assert session.headers["User-Agent"] == USER_AGENT
    assert session.trust_env is False


# --- urllib3's own log: customers put tokens in callback URLs' queries ------------


@pytest.fixture
def urllib3_debug(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.django_db(transaction=True)
def test_urllib3_debug_log_never_shows_a_urls_query(account, receiver, urllib3_debug):
    # given a URL with a token in its query, fetched through the outgoing session
    # (attachment downloads), and a callback URL with one (the event loop's client)
    response = outgoing_session().post(f"{receiver.url}?token=tok-s3cret&x=1", data=b"{}")
    task = TaskFactory(owner=account.user, callback_url=f"{receiver.url}?token=tok-s3cret&x=1")
    task_complete(task_id=task.id, response={"category": "red"})

    # when the callback is delivered too
    delivery = deliver_until_finished(Delivery.objects.get(task=task).id)

    # then urllib3 logged its request, without the query, and nothing logged the callback's query
    assert response.status_code == 200 and delivery.status == Delivery.Status.SUCCEEDED
    assert [r.path for r in receiver.requests] == ["/callback?token=tok-s3cret&x=1"] * 2
    urllib3_lines = [r for r in urllib3_debug.records if r.name.startswith("urllib3")]
    assert any('"POST /callback?*** HTTP/1.1" 200' in r.getMessage() for r in urllib3_lines), [
        r.getMessage() for r in urllib3_lines
    ]
    assert "tok-s3cret" not in logged_text(urllib3_debug)


@pytest.mark.django_db(transaction=True)
def test_urllib3_log_of_a_failed_connection_never_shows_the_query(settings, account, urllib3_debug):
    # given nothing listening where the request and the callback go
    settings.CALLBACK_RETRY_SCHEDULE = []
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(requests.ConnectionError):
        outgoing_session().get(f"http://127.0.0.1:{port}/cb?token=tok-s3cret")
    task = TaskFactory(owner=account.user, callback_url=f"http://127.0.0.1:{port}/cb?token=tok-s3cret")
    task_complete(task_id=task.id, response={"category": "red"})

    delivery = deliver_until_finished(Delivery.objects.get(task=task).id)

    # then neither urllib3 nor the warning of the failed attempt shows the query
    attempt = delivery.attempts.get()
    assert attempt.status_code is None
    assert "Connection refused" in attempt.error
    assert any(r.name.startswith("urllib3") for r in urllib3_debug.records)
    assert "tok-s3cret" not in logged_text(urllib3_debug)


@pytest.mark.parametrize("drip", ["head", "body"])
def test_the_read_timeout_bounds_the_whole_request_not_each_read(settings, drip):
    """A server that drips its answer a byte every 0.2 s never leaves a read waiting a second,
    yet the request, body included, fails once its one-second limit has passed."""
    server = DrippingReceiver(drip=drip, interval=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(requests.RequestException):
            response = outgoing_session().get(server.url, timeout=(1, 1), stream=True)
            b"".join(response.iter_content(chunk_size=1))
        assert time.monotonic() - started < 2
        assert len(server.requests) == 1
    finally:
        server.close()


def test_a_keep_alive_connection_takes_the_deadline_of_each_new_request(receiver):
    """The deadline belongs to the request, not to the connection: a connection kept alive past
    the first request's limit serves the next request."""
    session = outgoing_session()
    assert session.post(receiver.url, data=b"1", timeout=(1, 0.5)).status_code == 200
    time.sleep(0.6)

    assert session.post(receiver.url, data=b"2", timeout=(1, 0.5)).status_code == 200
    assert len(receiver.requests) == 2


@pytest.fixture
def dripping_tls_handshake():
    """A server on 127.0.0.1 that answers a TLS ClientHello with a record header and then one byte
    every 0.3 s (each under the connect timeout), for about 6 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn):
        with conn:
            try:
                conn.recv(65536)  # the ClientHello
                conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB follows...
                for _ in range(20):
                    if stop.wait(0.3):
                        return
                    conn.sendall(b"\x00")
            except OSError:
                return

    def accept():
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    listener.close()


def test_the_limit_also_bounds_a_tls_handshake_that_drips(dripping_tls_handshake):
    started = time.monotonic()

    with pytest.raises(requests.RequestException):
        outgoing_session().get(dripping_tls_handshake, timeout=(1, 1))

    assert time.monotonic() - started < 2
