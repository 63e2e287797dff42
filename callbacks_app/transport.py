"""Sending one callback: over HTTP or by email. Nothing here touches the database.

HTTP goes through this process's outgoing event loop and its guarded aiohttp
sessions (``scalehooks.outgoing.aio``: the address guard, the connection
pinned to the checked address); no redirects, one wall-clock limit on the
whole attempt (issue 15: a send waiting on a slow receiver costs a socket,
not a thread). Email goes through Django's backend, on a thread. The senders return a ``CallbackResult``
for every outcome and never raise for a network failure: the caller records
what happened, whatever happened.
"""

import asyncio
import dataclasses
import email.utils
import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from callbacks_app.retry import RETRY_WINDOW
from scalehooks.outgoing import USER_AGENT, ForbiddenAddress, Reach, reaching
from scalehooks.outgoing.aio import check_literal, guarded_session, note_peer, outgoing_loop
from scalehooks.outgoing.guard import DEFAULT_PORTS
from scalehooks.outgoing.policy import is_own_inbox_url
from scalehooks.outgoing.redaction import without_url_queries

logger = logging.getLogger(__name__)

MAX_RESPONSE_READ = 64 * 1024  # bytes of an answer we read at most
MAX_RESPONSE_STORED = 4 * 1024  # bytes of it we keep in the attempt record
RETRY_AFTER_STATUSES = (429, 503)
MAX_RETRY_AFTER = RETRY_WINDOW.total_seconds()  # a longer Retry-After means the end of the window


@dataclass(frozen=True)
class CallbackResult:
    ok: bool
    duration_ms: int
    status_code: int | None = None
    body_excerpt: str = ""
    error: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header on 429/503
    # The target was a private address that only the account's allowed networks
    # opened: its answer and error details are for operators only.
    private_target: bool = False


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), at most the retry window.

    A receiver may send any number of digits: the delay is clamped to the 24 h
    window (``callbacks_app.retry``), past which nothing is scheduled anyway.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
        seconds = when.timestamp() - time.time()
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def send_callback_http(
    *, url: str, body: bytes, headers: dict[str, str], account_networks=(), timeout: float | None = None
) -> CallbackResult:
    """``send_callback_http_async`` from a thread: runs it on this process's outgoing event loop."""
    return outgoing_loop.run(
        send_callback_http_async(
            url=url, body=body, headers=headers, account_networks=account_networks, timeout=timeout
        )
    )


async def send_callback_http_async(
    *, url: str, body: bytes, headers: dict[str, str], account_networks=(), timeout: float | None = None
) -> CallbackResult:
    """POST ``body`` to ``url`` (on the outgoing event loop); success is any 2xx, a redirect is a failure.

    The attempt ends within ``timeout`` seconds (``CALLBACK_TIMEOUT`` by
    default) of its start, answer included: one wall-clock limit on the
    connection, the request, the headers and the body, so a receiver that
    drips its headers or its body is cut off and the attempt recorded as
    timed out. At most ``MAX_RESPONSE_READ`` bytes of the answer are read.

    ``account_networks``: the otherwise forbidden networks the sending account
    may reach (``Profile.allowed_networks``); the connection goes to the
    address the guard checked (``scalehooks.outgoing.aio``)."""
    with reaching(account_networks) as reach:
        result = await _post(url=url, body=body, headers=headers, timeout=timeout, reach=reach)
    if reach.private:
        result = dataclasses.replace(result, private_target=True)
    if reach.address is not None:
        hostname = urlsplit(url).hostname or ""
        if hostname and hostname.strip("[]") != str(reach.address):
            # Not shown to customers, who see the name they gave.
            result = dataclasses.replace(result, error=result.error.replace(str(reach.address), hostname))
    return result


class _Attempt:
    """The clock of one POST: its limit, and how far it got (for the error text)."""

    def __init__(self, limit: float):
        self.limit = limit
        self.started = time.monotonic()
        self.status: int | None = None  # the answer's, once its status line and headers came

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def failed(self, error: str) -> CallbackResult:
        return CallbackResult(ok=False, duration_ms=self.elapsed_ms(), status_code=self.status, error=error)

    def timed_out(self) -> CallbackResult:
        where = " reading the answer" if self.status is not None else ""
        return self.failed(f"Timed out after {self.limit:g} s{where}")


async def _post(
    *, url: str, body: bytes, headers: dict[str, str], timeout: float | None, reach: Reach
) -> CallbackResult:
    attempt = _Attempt(settings.CALLBACK_TIMEOUT if timeout is None else timeout)
    try:
        async with asyncio.timeout(attempt.limit):
            parts = urlsplit(url)
            own_inbox = is_own_inbox_url(url)  # reached whatever PUBLIC_BASE_URL resolves to (SPEC §15)
            if not own_inbox:
                check_literal(parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 80), reach)
            session = guarded_session(reach.account_networks, own_inbox=own_inbox)
            async with session.post(
                url,
                data=body,
                headers={"User-Agent": USER_AGENT, **headers},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.CALLBACK_CONNECT_TIMEOUT),
            ) as response:
                attempt.status = response.status
                note_peer(reach, response)
                return await _answer(response, attempt)
    except ForbiddenAddress as exc:
        return _refused(attempt, exc)
    except TimeoutError:  # asyncio's and aiohttp's (a connection not made within CALLBACK_CONNECT_TIMEOUT)
        return attempt.timed_out()
    except aiohttp.ClientConnectorDNSError as exc:
        if isinstance(exc.os_error, ForbiddenAddress):
            return _refused(attempt, exc.os_error)
        return attempt.failed(f"ConnectionError: {exc.os_error}")
    except aiohttp.ClientConnectorError as exc:
        reason = os.strerror(exc.os_error.errno) if exc.os_error.errno else type(exc.os_error).__name__
        return attempt.failed(f"ConnectionError: Could not connect to {exc.host}:{exc.port} ({reason})")
    except (aiohttp.ClientError, OSError) as exc:
        # aiohttp's text may name the URL with its query, where customers put tokens
        if attempt.status is not None:
            return attempt.failed(f"Error reading the answer: {type(exc).__name__}")
        return attempt.failed(f"{type(exc).__name__}: {without_url_queries(str(exc))}")


def _refused(attempt: "_Attempt", exc: ForbiddenAddress) -> CallbackResult:
    # The address itself is in the operator's log (the guard's warning), not here.
    return attempt.failed(f"Refused: {exc.public_message}; not sent")


async def _answer(response: aiohttp.ClientResponse, attempt: _Attempt) -> CallbackResult:
    """The result of an answer whose headers came: at most ``MAX_RESPONSE_READ`` bytes of its body read."""
    received = bytearray()
    while len(received) < MAX_RESPONSE_READ:
        chunk = await response.content.read(MAX_RESPONSE_READ - len(received))
        if not chunk:
            break
        received += chunk
    status = response.status
    ok = 200 <= status < 300
    error = ""
    if not ok:
        error = f"Redirect ({status}) not followed" if 300 <= status < 400 else f"HTTP {status}"
    retry_after = (
        parse_retry_after(response.headers.get("Retry-After")) if status in RETRY_AFTER_STATUSES else None
    )
    excerpt = bytes(received[:MAX_RESPONSE_STORED]).decode("utf-8", errors="replace")
    return CallbackResult(
        ok=ok,
        duration_ms=attempt.elapsed_ms(),
        status_code=status,
        body_excerpt=excerpt,
        error=error,
        retry_after=retry_after,
    )


def send_callback_email(
    *, to: str, subject: str, body: str, message_id: str, headers: dict[str, str]
) -> CallbackResult:
    """Send the payload by email through Django's email backend (``EMAIL_URL``)."""
    started = time.monotonic()
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.CALLBACK_EMAIL_FROM,
        to=[to],
        headers={"Message-ID": message_id, **headers},
        connection=get_connection(fail_silently=False, timeout=settings.CALLBACK_TIMEOUT),
    )
    try:
        sent = message.send()
    except Exception as exc:  # smtplib, socket and backend errors alike
        return CallbackResult(
            ok=False,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=f"Email not accepted: {type(exc).__name__}: {exc}",
        )
    return CallbackResult(
        ok=bool(sent),
        duration_ms=int((time.monotonic() - started) * 1000),
        error="" if sent else "Email backend sent nothing",
    )
