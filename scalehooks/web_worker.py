"""The web process's gunicorn worker: a request is read whole before a thread takes it (SPEC §8 "Resources").

gunicorn's ``gthread`` worker gives a connection to one of its threads as soon as it is
accepted (or, kept alive, as soon as it is readable); the thread then reads the request's
head and body from the socket. A client that sends its request a byte a second holds that
thread for as long as it likes: ``WEB_CONCURRENCY × WEB_THREADS`` such clients (16 by
default) stopped the service for every account, ``make run`` included.

``BufferingThreadWorker`` is that worker with a buffering front in its own event loop (the
selector loop gthread already runs for kept-alive connections): a connection's bytes are
read there, without blocking, until its request is whole (head, and a body framed by
``Content-Length`` or ``chunked``); only then is the connection handed to a thread, the
bytes put back in front of gunicorn's own parser, which parses and checks them as it
always does. A request that is not whole ``WEB_REQUEST_TIMEOUT`` seconds after its first
byte could be read (a new connection: when it was accepted) gets a 408 and its connection
is closed: a dripping client costs a socket and its bytes so far, never a thread.

Two cases go to a thread before the request is whole, both bounded by the same deadline
(``DeadlineReader``: every read waits at most the time left): a request that gunicorn's
parser should judge at once (framing this module does not read: gunicorn refuses it), and
one larger than ``buffer_limit`` (a body beyond ``API_MAX_BODY_BYTES`` and
``INBOX_MAX_BODY_BYTES``, which only an inbox takes, to cut it). TLS and HTTP/2 connections
(gunicorn serving them itself, not done here) are left to gthread as they are.
"""

import json
import selectors
import time
from functools import partial

from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import ThreadWorker

HEAD_LIMIT = 64 * 1024  # bytes of a request head at most (gunicorn refuses far less)
READ_SIZE = 64 * 1024


def request_complete(data: bytes) -> bool | None:
    """Whether the first request in ``data`` is whole: True, False (more bytes are needed), or
    None when its framing is not one this module reads (no head end within ``HEAD_LIMIT``,
    several or invalid lengths, a transfer coding other than ``chunked``): gunicorn's parser
    judges it then, and refuses what is malformed."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return False if len(data) < HEAD_LIMIT else None
    lengths, codings = [], []
    for line in data[:head_end].split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            codings.append(value.strip().lower())
    body = memoryview(data)[head_end + 4 :]
    if codings:
        return chunked_complete(body) if codings == [b"chunked"] and not lengths else None
    if not lengths:
        return True
    if len(set(lengths)) != 1 or not lengths[0].isdigit():
        return None
    return len(body) >= int(lengths[0])


def chunked_complete(body) -> bool | None:
    """Whether a ``chunked`` body is whole (its last chunk and trailers), None if malformed."""
    data = bytes(body)
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return False
        size_text = data[at:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size < 0:
            return None
        if size == 0:
            trailers = data[line_end + 2 :]
            return trailers.startswith(b"\r\n") or b"\r\n\r\n" in trailers
        at = line_end + 2 + size + 2
        if at > len(data):
            return False


def expects_continue(data: bytes) -> bool:
    """Whether the request head in ``data`` (whole) asks for ``100 Continue`` before its body."""
    head = data[: data.find(b"\r\n\r\n")].lower()
    return any(
        line.partition(b":")[0].strip() == b"expect" and line.partition(b":")[2].strip() == b"100-continue"
        for line in head.split(b"\r\n")[1:]
    )


class DeadlineReader:
    """A connection's socket as gunicorn's parser reads it: each read waits at most until the
    deadline of the request being read (``None``: no deadline of ours), then fails as a timeout."""

    def __init__(self, sock):
        self.sock = sock
        self.deadline: float | None = None

    def recv(self, size: int) -> bytes:
        if self.deadline is None:
            return self.sock.recv(size)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("The request did not arrive within WEB_REQUEST_TIMEOUT")
        before = self.sock.gettimeout()
        self.sock.settimeout(left if before is None else min(left, before))
        try:
            return self.sock.recv(size)
        finally:
            self.sock.settimeout(before)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class _Pending:
    """The bytes of a connection's next request so far, and until when they may come."""

    def __init__(self, data: bytes, deadline: float):
        self.data = bytearray(data)
        self.deadline = deadline
        self.registered = False  # on the worker's poller, waiting for bytes
        self.continued = False  # a 100 Continue was sent


def _answer_408(timeout: float) -> bytes:
    body = json.dumps(
        {
            "status_code": 408,
            "error": f"The request did not arrive whole within {timeout:g} s (WEB_REQUEST_TIMEOUT).",
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


class BufferingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, whose threads only ever take requests that arrived whole
    (the module's docstring). Every hand-over to a thread goes through ``enqueue_req``."""

    def init_process(self):
        self.pending: dict = {}  # connection → _Pending, in the order their deadlines fall
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        from django.conf import settings  # set up by the application just loaded

        self.request_timeout = float(settings.WEB_REQUEST_TIMEOUT)
        self.buffer_limit = max(settings.API_MAX_BODY_BYTES, settings.INBOX_MAX_BODY_BYTES) + HEAD_LIMIT

    def buffers(self, conn) -> bool:
        """Whether this worker reads the connection's requests itself (plain HTTP/1.x)."""
        return (
            not self.cfg.is_ssl
            and getattr(self.cfg, "protocol", "http") == "http"
            and not conn.is_http2
            and not negotiation.prior_knowledge_allowed(self.cfg, conn.client)
        )

    def enqueue_req(self, conn):
        """Read the connection's next request (main thread); a thread takes it once it is whole."""
        if not self.buffers(conn):
            super().enqueue_req(conn)
            return
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        self.pending[conn] = _Pending(ahead, time.monotonic() + self.request_timeout)
        conn.sock.setblocking(False)
        self.read_available(conn)

    def on_readable(self, conn, _sock):
        if conn in self.pending:
            self.read_available(conn)

    def read_available(self, conn) -> None:
        pending = self.pending[conn]
        while True:
            try:
                data = conn.sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.drop(conn)
                return
            if not data:  # the client closed its side before its request was whole
                self.drop(conn)
                return
            pending.data += data
            if len(pending.data) >= self.buffer_limit:
                break
        complete = request_complete(bytes(pending.data))
        if complete is not False or len(pending.data) >= self.buffer_limit:
            self.hand_over(conn)
            return
        if not pending.continued and b"\r\n\r\n" in pending.data and expects_continue(bytes(pending.data)):
            pending.continued = True  # the client waits for it before sending its body
            try:
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass
        if not pending.registered:
            pending.registered = True
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_readable, conn))

    def hand_over(self, conn) -> None:
        """Give the connection, its request's bytes put back in front of the parser, to a thread."""
        pending = self.pending.pop(conn)
        if pending.registered:
            self.poller.unregister(conn.sock)
        conn.init()  # the parser (plain HTTP/1.x: no I/O); the socket blocking again
        unreader = conn.parser.unreader
        unreader.unread(bytes(pending.data))
        if not isinstance(unreader.sock, DeadlineReader):
            unreader.sock = DeadlineReader(unreader.sock)
        unreader.sock.deadline = pending.deadline  # what the thread may still have to read
        conn.data_ready = True
        super().enqueue_req(conn)

    def drop(self, conn, answer: bytes = b"") -> None:
        pending = self.pending.pop(conn)
        if pending.registered:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        if answer:
            try:
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """gthread's expiry of connections waiting for data, and ours: requests past their deadline
        get a 408 (every one left when the worker stops)."""
        super().murder_pending()
        now = time.monotonic()
        for conn, pending in list(self.pending.items()):
            if self.alive and pending.deadline > now:
                break
            if pending.data:
                self.log.warning(
                    "Closed the connection of %s: its request was not whole within %g s (WEB_REQUEST_TIMEOUT)",
                    conn.client[0] if conn.client else "?",
                    self.request_timeout,
                )
            self.drop(conn, _answer_408(self.request_timeout) if pending.data else b"")
