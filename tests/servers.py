"""Real servers for the tests: an HTTP callback receiver and an SMTP server on 127.0.0.1."""

import asyncio
import email
import email.policy
import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Answer:
    """What the receiver answers to one request."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow or hanging receiver)


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict
    body: bytes
    received_at: float

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def _wait_for(arrived: threading.Condition, items: list, count: int, timeout: float, what: str) -> list:
    """Wait on ``arrived`` until ``items`` holds ``count``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with arrived:
        while len(items) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} {what} within {timeout} s, got {len(items)}")
            arrived.wait(remaining)
        return list(items)


# How often a server's loop looks for a shutdown request. socketserver's
# default, 0.5 s, made every close wait up to half a second (most of a run's
# teardown time).
POLL_INTERVAL = 0.01


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of parallel sends
    # would overflow it and see connections reset, which real receivers do not.
    request_queue_size = 256
    daemon_threads = True

    def serve_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread that stops within ``POLL_INTERVAL`` of ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, args=(POLL_INTERVAL,), daemon=True)
        thread.start()
        return thread


def shutdown_now(shutdown: Callable[[], None], address: tuple[str, int]) -> None:
    """Stop a ``serve_forever`` loop started with the default 0.5 s poll without waiting the poll out.

    ``shutdown`` (the server's own) is run in a thread while this one connects
    to the listening socket: the loop's ``select`` wakes at once, sees the
    request and ends. Used for the Django live server, whose loop is not ours.
    """
    stopper = threading.Thread(target=shutdown, daemon=True)
    stopper.start()
    while stopper.is_alive():
        try:
            socket.create_connection(address, timeout=1).close()
        except OSError:
            pass
        stopper.join(POLL_INTERVAL)


class CallbackReceiver:
    """A threaded HTTP server that records every POST and answers from a script.

    ``answer(Answer(500), Answer(500), Answer(200))`` answers the first three
    requests in that order; the last answer repeats for any further request.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.requests: list[ReceivedRequest] = []
        self._answers: list[Answer] = [Answer()]
        self._served = 0
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else ~44 ms per keep-alive request

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._record(
                    ReceivedRequest(self.path, dict(self.headers.items()), body, time.monotonic())
                )
                if answer.delay and receiver._stopping.wait(answer.delay):
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self._server = _Server((host, port), Handler)
        self._thread = self._server.serve_in_thread()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/callback"

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self._answers = list(answers)
            self._served = 0

    def _record(self, request: ReceivedRequest) -> Answer:
        with self._arrived:
            self.requests.append(request)
            answer = self._answers[min(self._served, len(self._answers) - 1)]
            self._served += 1
            self._arrived.notify_all()
            return answer

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until at least ``count`` requests arrived; fail after ``timeout``."""
        return _wait_for(self._arrived, self.requests, count, timeout, "callbacks")

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


class FileServer:
    """A threaded HTTP server answering GET from a table of paths (attachments to download).

    ``serve("/cat.jpg", Answer(200, b"..."))``; any other path is a 404. Every
    GET is recorded in ``requests``. ``hold()`` makes every GET wait, once recorded, until
    ``release()`` (at most ``HOLD_AT_MOST`` seconds): a download in progress, for as long as a
    test needs one.
    """

    HOLD_AT_MOST = 10.0

    def __init__(self):
        self.requests: list[ReceivedRequest] = []
        self._files: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._released = threading.Event()
        self._released.set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self):
                with server._arrived:
                    server.requests.append(
                        ReceivedRequest(self.path, dict(self.headers.items()), b"", time.monotonic())
                    )
                    server._arrived.notify_all()
                    answer = server._files.get(self.path, Answer(404, b"not found"))
                server._released.wait(server.HOLD_AT_MOST)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = self._server.serve_in_thread()

    def serve(self, path: str, answer: Answer) -> str:
        """Answer GET ``path`` with ``answer``; returns the full URL."""
        with self._lock:
            self._files[path] = answer
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until at least ``count`` GETs arrived; fail after ``timeout``."""
        return _wait_for(self._arrived, self.requests, count, timeout, "downloads")

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class ReceivedEmail:
    """One SMTP transaction that reached DATA, accepted or refused."""

    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    accepted: bool

    @property
    def body(self) -> str:
        return self.message.get_content()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message.

    ``refuse("550 5.7.1 No thanks")`` makes it answer DATA with that reply
    (the message is recorded as refused); ``accept()`` goes back to 250.
    ``hang()`` makes it answer DATA nothing until ``accept()`` (a sender that
    dies meanwhile has delivered nothing: the message is then refused with a 451);
    ``hung`` counts the messages that met a hang.
    """

    def __init__(self):
        self.received: list[ReceivedEmail] = []
        self._reply: str | None = None
        self._hanging = threading.Event()
        self.hung = 0
        self._arrived = threading.Condition()
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                if server._hanging.is_set():
                    with server._arrived:
                        server.hung += 1
                        server._arrived.notify_all()
                    while server._hanging.is_set():
                        await asyncio.sleep(POLL_INTERVAL)
                    return "451 4.3.0 Not delivered while hung"
                return server._record(envelope)

        self.host = "127.0.0.1"
        self.port = _free_port()
        self._controller = Controller(
            Handler(), hostname=self.host, port=self.port, server_hostname="localhost", ready_timeout=10
        )
        self._controller.start()

    @property
    def messages(self) -> list[ReceivedEmail]:
        """The accepted messages."""
        return [m for m in self.received if m.accepted]

    def refuse(self, reply: str = "550 5.7.1 Message refused") -> None:
        self._reply = reply

    def accept(self) -> None:
        self._reply = None
        self._hanging.clear()

    def hang(self) -> None:
        self._hanging.set()

    def wait_for_hung(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until ``count`` messages met the hang; fail after ``timeout``."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: self.hung >= count, timeout):
                raise AssertionError(f"{self.hung} of {count} emails reached the hung DATA in {timeout} s")

    def _record(self, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        reply = self._reply
        with self._arrived:
            self.received.append(
                ReceivedEmail(envelope.mail_from, list(envelope.rcpt_tos), message, reply is None)
            )
            self._arrived.notify_all()
        return reply or "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedEmail]:
        """Block until at least ``count`` emails arrived; fail after ``timeout``."""
        return _wait_for(self._arrived, self.received, count, timeout, "emails")

    def close(self) -> None:
        self._hanging.clear()
        self._controller.stop()


class DrippingReceiver:
    """A raw-socket HTTP receiver that answers one byte every ``interval`` seconds (a hostile receiver).

    ``drip="head"`` drips the status line and headers; ``drip="body"`` sends the
    headers at once and drips the body. It reads each request whole first
    (``requests`` holds the webhook-ids seen), and counts the connections open
    at the same time for each webhook-id: ``max_concurrent[webhook_id]``. A
    connection the client closes is noticed at once (the receiver waits for
    the socket to become readable between two bytes).
    """

    HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    BODY_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 200\r\n\r\n"

    def __init__(self, *, drip: str = "head", interval: float = 1.0):
        self.drip, self.interval = drip, interval
        self.requests: list[ReceivedRequest] = []
        self.open: dict[str, int] = {}
        self.max_concurrent: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(POLL_INTERVAL * 10)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/callback"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> tuple[dict, bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        headers = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        while len(body) < int(headers.get("content-length") or 0):
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
        return headers, body

    def _closed_by_client(self, conn: socket.socket, wait: float) -> bool:
        readable, _, _ = select.select([conn], [], [], wait)
        if not readable:
            return False
        try:
            return conn.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = self._read_request(conn)
            if request is None:
                return
            headers, body = request
            webhook_id = headers.get("webhook-id", "")
            with self._lock:
                self.requests.append(ReceivedRequest("/callback", headers, body, time.monotonic()))
                self.open[webhook_id] = self.open.get(webhook_id, 0) + 1
                self.max_concurrent[webhook_id] = max(
                    self.max_concurrent.get(webhook_id, 0), self.open[webhook_id]
                )
            try:
                if self.drip == "head":
                    dripped = self.HEAD
                else:
                    conn.sendall(self.BODY_HEAD)
                    dripped = b"x" * 200
                for byte in dripped:
                    if self._stopping.is_set() or self._closed_by_client(conn, self.interval):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return
            finally:
                with self._lock:
                    self.open[webhook_id] -= 1

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()
