"""Sending one callback: over HTTP or by email. Nothing here touches the database.

HTTP goes through the project's one outgoing session
(``scalehooks.outgoing.outgoing_session``: no redirects, the address guard,
the default timeouts from settings). The senders return a ``CallbackResult``
for every outcome and never raise for a network failure: the caller records
what happened, whatever happened.
"""

import dataclasses
import email.utils
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from callbacks_app.retry import RETRY_WINDOW
from scalehooks.outgoing import ForbiddenAddress, outgoing_session, reaching
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
    """POST ``body`` to ``url``; success is any 2xx, a redirect is a failure.

    The attempt ends within ``timeout`` seconds (``CALLBACK_TIMEOUT`` by
    default) of its start, answer included: the outgoing session holds every
    socket operation to that deadline (``scalehooks.outgoing.deadline``), so a
    receiver that drips its headers or its body is cut off and the attempt
    recorded as timed out.

    ``account_networks``: the otherwise forbidden networks the sending account
    may reach (``Profile.allowed_networks``)."""
    with reaching(account_networks) as reach:
        result = _post(url=url, body=body, headers=headers, timeout=timeout)
    if reach.private:
        result = dataclasses.replace(result, private_target=True)
    if reach.address is not None:
        hostname = urlsplit(url).hostname or ""
        if hostname and hostname.strip("[]") != str(reach.address):
            # requests names the connection by the address it was pinned to: not
            # shown to customers, who see the name they gave.
            result = dataclasses.replace(result, error=result.error.replace(str(reach.address), hostname))
    return result


def _post(*, url: str, body: bytes, headers: dict[str, str], timeout: float | None) -> CallbackResult:
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
        # The address itself is in the operator's log (the guard's warning), not here.
        return CallbackResult(
            ok=False, duration_ms=elapsed_ms(), error=f"Refused: {exc.public_message}; not sent"
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
        # urllib3's text names the URL with its query, where customers put tokens
        error = f"{type(exc).__name__}: {without_url_queries(str(exc))}"
        return CallbackResult(ok=False, duration_ms=elapsed_ms(), error=error)

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
