"""The asynchronous side of the outgoing HTTP client (issue 15): one event loop per process, guarded sessions.

A send waiting on a slow receiver costs a socket and a few kilobytes on the
event loop, not a thread. ``event_loop`` is this process's loop, run by a
daemon thread started on first use (and again in a forked child: a thread
does not survive ``fork``). Threads hand it coroutines with ``submit`` (a
``concurrent.futures.Future`` back) or ``run`` (wait for the result).

``guarded_session(account_networks)`` is the aiohttp session for one address
policy: the guard of ``guard.py`` applied to aiohttp. Its resolver resolves
a name once, checks every address against the policy (``resolve_checked``)
and hands the connector the one address it checked, so the connection goes
where the check looked (no DNS-rebinding window); the ``Host`` header and TLS
SNI keep the name. aiohttp never asks a resolver about a literal IP address,
so ``check_literal`` must be called before each request. A connection kept
alive is only reused by the session it was made for, that is under the same
policy: one account's allowed networks never open another's.
"""

import asyncio
import concurrent.futures
import functools
import ipaddress
import os
import socket
import threading

import aiohttp
from aiohttp.abc import AbstractResolver
from django.conf import settings

from scalehooks.outgoing.guard import Reach, _reach, resolve_checked
from scalehooks.outgoing.policy import is_forbidden_address, literal_address

# Connections one policy's session keeps at most (open and kept alive), per
# sends a dispatcher keeps in flight (over its slots for another account's share, up to twice).
CONNECTIONS_PER_SLOT = 4
KEEPALIVE_TIMEOUT = 15.0  # seconds an idle connection to a receiver is kept for the next callback


class GuardedResolver(AbstractResolver):
    """Resolves with the guard (off the loop: ``getaddrinfo`` blocks) and answers the one checked address."""

    def __init__(self, account_networks: tuple, *, own_inbox: bool = False):
        self.account_networks = account_networks
        self.own_inbox = own_inbox  # the session of this service's own inboxes (policy.is_own_inbox_url)

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        reach = _reach.get()
        if reach is None or reach.account_networks != self.account_networks:
            reach = Reach(account_networks=self.account_networks)
        loop = asyncio.get_running_loop()
        address = await loop.run_in_executor(
            None, functools.partial(resolve_checked, host, port, reach=reach, own_inbox=self.own_inbox)
        )
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


def check_literal(host: str, port: int, reach: Reach) -> None:
    """Apply the guard to a host that is an address in any form, or ``localhost`` (``ForbiddenAddress``
    when it may not be reached): aiohttp asks no resolver about an address, and refuses the
    legacy forms (``2130706433``) itself, with an error that would not say why. A name is
    checked by the session's resolver when a connection is made."""
    if literal_address(host) is not None:
        resolve_checked(host.strip("[]"), port, reach=reach)  # a numeric (or hosts file) lookup: no DNS


def note_peer(reach: Reach, response: aiohttp.ClientResponse) -> None:
    """Fill ``reach`` from the connection an answer came on, when no resolution did (a kept-alive one)."""
    if reach.address is not None or response.connection is None:
        return
    transport = response.connection.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if not peer:
        return
    reach.address = ipaddress.ip_address(peer[0].split("%", 1)[0])
    reach.private = bool(reach.account_networks) and is_forbidden_address(reach.address)


class EventLoopThread:
    """This process's event loop for outgoing requests and its guarded sessions, started on first use."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sessions: dict[tuple, aiohttp.ClientSession] = {}

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._pid, self._sessions = os.getpid(), {}
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="scalehooks-outgoing-loop", daemon=True
                )
                self._thread.start()
            return self._loop

    def submit(self, coroutine) -> concurrent.futures.Future:
        """Run ``coroutine`` on the loop; its future (safe to wait on from any thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop())

    def run(self, coroutine):
        """Run ``coroutine`` on the loop and wait for its result (not from the loop's own thread)."""
        return self.submit(coroutine).result()

    def session(self, account_networks=(), *, own_inbox: bool = False) -> aiohttp.ClientSession:
        """The session for this policy (call on the loop). This service's own inboxes have a
        session of their own (``own_inbox``): a connection their exemption opened is never
        kept alive for another request to the same origin."""
        key = (own_inbox, tuple(account_networks))
        session = self._sessions.get(key)
        if session is None or session.closed:
            limit = CONNECTIONS_PER_SLOT * settings.CALLBACK_SENDS_IN_FLIGHT
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(key[1], own_inbox=own_inbox),
                use_dns_cache=False,  # every new connection resolves, and is checked, anew
                limit=limit,
                limit_per_host=0,  # the per-origin caps are the engine's (CALLBACK_MAX_IN_FLIGHT_PER_TARGET)
                keepalive_timeout=KEEPALIVE_TIMEOUT,
            )
            session = self._sessions[key] = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # no proxies or netrc from the environment: the guard must see the target
                timeout=aiohttp.ClientTimeout(total=None),  # each request gives its own limits
            )
        return session

    def shutdown(self) -> None:
        """Close the sessions and stop the loop (for tests); the next use starts a new one.
        Requests still in flight are cancelled."""
        with self._lock:
            loop, thread, sessions = self._loop, self._thread, self._sessions
            self._loop, self._thread, self._sessions = None, None, {}
            mine = self._pid == os.getpid()
        if loop is None or not mine:
            return

        async def close():
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            for session in sessions.values():
                await session.close()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=5)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


outgoing_loop = EventLoopThread()


def guarded_session(account_networks=(), *, own_inbox: bool = False) -> aiohttp.ClientSession:
    """The aiohttp session of this process for the policy ``account_networks`` (call on its loop);
    ``own_inbox``: for a URL of this service's own inboxes (``policy.is_own_inbox_url``) only."""
    return outgoing_loop.session(account_networks, own_inbox=own_inbox)
