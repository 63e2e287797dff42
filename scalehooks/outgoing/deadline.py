"""A wall-clock deadline on each outgoing request, answer included (issue 16).

``requests``' ``timeout=(connect, read)`` bounds each socket operation, not the
request: a receiver that sends its headers, or its body, a byte a second never
trips it. Here every socket operation of a request (connect, sending, each
read of the status line, headers and body) waits at most the time left until
the request's deadline, and fails with a timeout once it has passed. The
deadline is set by ``OutgoingSession.send`` in a thread-local that the
connection reads when it connects and when it sends a request; the answer,
read later through ``iter_content``, keeps the deadline of its request.

A TLS handshake is bounded too: the socket's timeout, set to the time left
when it connects, is a limit on the whole handshake in CPython's ``ssl``. Not
bounded here: name resolution (``socket.getaddrinfo`` in the guard); but once
the deadline has passed nothing more is sent (the connection, or the request,
fails at once).
"""

import io
import math
import socket
import threading
import time
from contextlib import contextmanager

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

_current = threading.local()


@contextmanager
def request_deadline(seconds: float | None):
    """Requests this thread starts within the block must end ``seconds`` from now (None: no deadline)."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = None if seconds is None else time.monotonic() + seconds
    try:
        yield
    finally:
        _current.deadline = previous


def current_deadline() -> float | None:
    """The ``time.monotonic()`` by which this thread's current request must end, if any."""
    return getattr(_current, "deadline", None)


class DeadlineSocket:
    """A connected socket whose every send and receive waits at most until its connection's deadline."""

    def __init__(self, sock, connection: "DeadlineConnectionMixin"):
        self._sock = sock
        self._connection = connection
        self._timeout = sock.gettimeout()

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def _wait_at_most(self) -> None:
        deadline = self._connection.deadline
        if deadline is None:
            self._sock.settimeout(self._timeout)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out (the request's deadline has passed)")
        self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))

    def settimeout(self, timeout) -> None:
        self._timeout = timeout
        self._sock.settimeout(timeout)

    def gettimeout(self):
        return self._timeout

    def sendall(self, data, *args):
        self._wait_at_most()  # since Python 3.5 a socket timeout bounds the whole sendall
        return self._sock.sendall(data, *args)

    def send(self, data, *args):
        self._wait_at_most()
        return self._sock.send(data, *args)

    def recv(self, size, *args):
        self._wait_at_most()
        return self._sock.recv(size, *args)

    def recv_into(self, buffer, *args):
        self._wait_at_most()
        return self._sock.recv_into(buffer, *args)

    def makefile(self, mode="r", buffering=None, **kwargs):
        """http.client reads the answer through ``makefile("rb")``: its reads come back through ``recv_into``."""
        if mode != "rb":
            return self._sock.makefile(mode, buffering, **kwargs)
        self._sock._io_refs += 1  # as socket.makefile does; SocketIO.close gives it back
        return io.BufferedReader(socket.SocketIO(self, "rb"), buffering or io.DEFAULT_BUFFER_SIZE)


class DeadlineConnectionMixin:
    """An urllib3 connection that takes its thread's deadline when it connects and at each request."""

    deadline: float | None = None

    def _new_conn(self):
        self.deadline = current_deadline()
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out (deadline passed)")
            timeout = self.timeout if isinstance(self.timeout, int | float) else math.inf
            self.timeout = min(timeout, left)
        return super()._new_conn()

    def connect(self):
        super().connect()
        self.sock = DeadlineSocket(self.sock, self)

    def request(self, *args, **kwargs):
        self.deadline = current_deadline()
        return super().request(*args, **kwargs)


class DeadlineHTTPConnection(DeadlineConnectionMixin, HTTPConnection):
    pass


class DeadlineHTTPSConnection(DeadlineConnectionMixin, HTTPSConnection):
    pass


class DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


POOL_CLASSES = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}
