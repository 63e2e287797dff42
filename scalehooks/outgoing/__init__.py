"""The one outgoing HTTP session of the project (STYLE 5; SPEC §8).

Callbacks and attachment downloads alike send through ``outgoing_session()``:
it never follows redirects, connects only to addresses the guard allows
(``guard.py``, policy in ``policy.py``), carries our User-Agent, ignores
proxies and netrc from the environment, and applies the default (connect,
read) timeout, ``(CALLBACK_CONNECT_TIMEOUT, CALLBACK_TIMEOUT)`` read from the
settings at each request, when the caller passes none. The read part of the
timeout is also a wall-clock limit on the whole request, answer included
(``deadline.py``): a receiver that drips its answer is cut off at the limit.
"""

import threading

import requests
from django.conf import settings

import scalehooks
from scalehooks.outgoing.deadline import request_deadline
from scalehooks.outgoing.guard import ForbiddenAddress, GuardedHTTPAdapter, Reach, reaching

__all__ = [
    "USER_AGENT",
    "ForbiddenAddress",
    "OutgoingSession",
    "Reach",
    "default_timeout",
    "outgoing_session",
    "outgoing_session_close",
    "reaching",
]

USER_AGENT = f"ScaleHooks/{scalehooks.__version__}"


def default_timeout() -> tuple[float, float]:
    """(connect, read) seconds of a request whose caller gives no timeout."""
    return (settings.CALLBACK_CONNECT_TIMEOUT, settings.CALLBACK_TIMEOUT)


def total_limit(timeout) -> float | None:
    """Seconds a request with this ``timeout`` may take in all: its read part, or the one number."""
    if isinstance(timeout, tuple):
        return timeout[1]
    return timeout if isinstance(timeout, int | float) else None


class OutgoingSession(requests.Session):
    """Never follows a redirect, whatever the caller asks; the default timeout when none is given.

    The read part of the timeout bounds the whole request, from this call to
    the last byte of the answer (``stream=True`` answers too), not each read.
    """

    def __init__(self):
        super().__init__()
        adapter = GuardedHTTPAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["User-Agent"] = USER_AGENT
        self.trust_env = False  # no proxies or netrc from the environment: the guard must see the target

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = default_timeout()
        with request_deadline(total_limit(kwargs["timeout"])):
            return super().send(request, **kwargs)


_local = threading.local()


def outgoing_session() -> OutgoingSession:
    """This thread's outgoing HTTP session (kept alive between requests).

    One session per thread: senders run on a thread pool, and requests does
    not promise a shared Session is safe.
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = OutgoingSession()
    return session


def outgoing_session_close() -> None:
    """Close this thread's outgoing session, if it has one, and the connections it keeps alive
    (the next ``outgoing_session`` is a new one)."""
    session = getattr(_local, "session", None)
    if session is not None:
        _local.session = None
        session.close()
