"""Sending one callback: over HTTP or by email. Nothing here touches the database.

HTTP goes through the project's one outgoing session
(``scalehooks.outgoing.outgoing_session``: no redirects, the address guard,
the default timeouts from settings). The senders return a ``CallbackResult``
for every outcome and never raise for a network failure: the caller records
what happened, whatever happened.
"""

import email.utils
import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from callbacks_app.retry import RETRY_WINDOW
from scalehooks.outgoing import ForbiddenAddress, outgoing_session

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
    *, url: str, body: bytes, headers: dict[str, str], timeout: float | None = None
) -> CallbackResult:
    """POST ``body`` to ``url``; success is any 2xx, a redirect is a failure.

    The attempt ends within ``timeout`` seconds (``CALLBACK_TIMEOUT`` by
    default) of its start, answer included: the outgoing session holds every
    socket operation to that deadline (``scalehooks.outgoing.deadline``), so a
    receiver that drips its headers or its body is cut off and the attempt
    recorded as timed out.
    """
    total_timeout = settings.CALLBACK_TIMEOUT if timeout is None else timeout
    started = time.monotonic()
    deadline = started + total_timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        response = outgoing_session().post(
            url,
            data=body,
            headers=headers,
            stream=True,
            timeout=(settings.CALLBACK_CONNECT_TIMEOUT, total_timeout),
        )
    except ForbiddenAddress as exc:
        return CallbackResult(
            ok=False,
            duration_ms=elapsed_ms(),
            error=f"Refused: {exc.hostname} resolves to {exc.address}, a forbidden address (not sent)",
        )
    except requests.Timeout:
        return CallbackResult(
            ok=False, duration_ms=elapsed_ms(), error=f"Timed out after {total_timeout:g} s"
        )
    except requests.RequestException as exc:
        if time.monotonic() >= deadline:  # cut off at the deadline while sending the request
            return CallbackResult(
                ok=False, duration_ms=elapsed_ms(), error=f"Timed out after {total_timeout:g} s"
            )
        return CallbackResult(ok=False, duration_ms=elapsed_ms(), error=f"{type(exc).__name__}: {exc}")

    with response:
        received = bytearray()
        error = ""
        try:
            for chunk in response.iter_content(chunk_size=8192):
                received += chunk
                if len(received) >= MAX_RESPONSE_READ:
                    break
                if time.monotonic() > deadline:
                    error = f"Timed out after {total_timeout:g} s reading the answer"
                    break
        except requests.RequestException as exc:
            if time.monotonic() >= deadline:  # the session cut the answer off at the deadline
                error = f"Timed out after {total_timeout:g} s reading the answer"
            else:
                error = f"Error reading the answer: {type(exc).__name__}"
        status = response.status_code
        ok = 200 <= status < 300 and not error
        if not error and not ok:
            error = f"Redirect ({status}) not followed" if 300 <= status < 400 else f"HTTP {status}"
        retry_after = (
            parse_retry_after(response.headers.get("Retry-After")) if status in RETRY_AFTER_STATUSES else None
        )
    excerpt = bytes(received[:MAX_RESPONSE_STORED]).decode("utf-8", errors="replace")
    return CallbackResult(
        ok=ok,
        duration_ms=elapsed_ms(),
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
