"""Sending one callback: over HTTP or by email. Nothing here touches the database.

Every outgoing HTTP request of the project goes through ``outgoing_session()``
(callbacks and attachment downloads alike): it never follows redirects, and
connects only to addresses the guard allows; callers pass the timeouts. The senders return a
``CallbackResult`` for every outcome and never raise for a network failure:
the caller records what happened, whatever happened.
"""

import email.utils
import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
import scalehooks
from callbacks_app.guard import ForbiddenAddress, GuardedHTTPAdapter

logger = logging.getLogger(__name__)

USER_AGENT = f"ScaleHooks/{scalehooks.__version__}"
MAX_RESPONSE_READ = 64 * 1024  # bytes of an answer we read at most
MAX_RESPONSE_STORED = 4 * 1024  # bytes of it we keep in the attempt record
RETRY_AFTER_STATUSES = (429, 503)


@dataclass(frozen=True)
class CallbackResult:
    ok: bool
    duration_ms: int
    status_code: int | None = None
    body_excerpt: str = ""
    error: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header on 429/503


class _Session(requests.Session):
    """Never follows a redirect, whatever the caller asks."""

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


_session: requests.Session | None = None


def outgoing_session() -> requests.Session:
    """The one outgoing HTTP session of this process (kept alive between requests).

    Every request it sends goes through the address guard (``guard.py``),
    never follows redirects and carries our User-Agent. Timeouts are passed
    per request from settings.
    """
    global _session
    if _session is None:
        session = _Session()
        adapter = GuardedHTTPAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.trust_env = False  # no proxies or netrc from the environment: the guard must see the target
        _session = session
    return _session


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def send_callback_http(*, url: str, body: bytes, headers: dict[str, str]) -> CallbackResult:
    """POST ``body`` to ``url``; success is any 2xx, a redirect is a failure."""
    connect_timeout = settings.CALLBACK_CONNECT_TIMEOUT
    total_timeout = settings.CALLBACK_TIMEOUT
    started = time.monotonic()
    deadline = started + total_timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        response = outgoing_session().post(
            url,
            data=body,
            headers=headers,
            timeout=(connect_timeout, total_timeout),
            allow_redirects=False,
            stream=True,
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
        return CallbackResult(
            ok=False, duration_ms=elapsed_ms(), error=f"{type(exc).__name__}: {exc}"
        )

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
            error = f"Error reading the answer: {type(exc).__name__}"
        status = response.status_code
        ok = 200 <= status < 300 and not error
        if not error and not ok:
            error = (
                f"Redirect ({status}) not followed" if 300 <= status < 400 else f"HTTP {status}"
            )
        retry_after = (
            parse_retry_after(response.headers.get("Retry-After"))
            if status in RETRY_AFTER_STATUSES
            else None
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
