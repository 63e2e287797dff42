"""Downloading a task's attachments at creation (SPEC §5), through the one guarded
outgoing HTTP session (``scalehooks.outgoing.outgoing_session``): no redirects,
timeouts from settings, and the same address policy as callbacks (§8).

Nothing here touches the database; ``attachment_fetch`` returns a value for every
outcome and never raises for a network failure.
"""

import time
from dataclasses import dataclass

import requests
from django.conf import settings

from scalehooks.outgoing import ForbiddenAddress, outgoing_session

CHUNK_SIZE = 64 * 1024
# An attachment larger than this counts as downloadable once this much arrived:
# we check that it can be fetched, we do not store it.
MAX_ATTACHMENT_READ = 50 * 1024 * 1024


@dataclass(frozen=True)
class AttachmentResult:
    url: str
    ok: bool
    status_code: int | None = None  # None: no HTTP answer (refused address, network error, timeout)
    error: str = ""


def attachment_fetch(url: str) -> AttachmentResult:
    """GET ``url``; success is a 2xx whose body could be read within the timeout."""
    total_timeout = settings.CALLBACK_TIMEOUT  # the session's read timeout, and the reading deadline
    deadline = time.monotonic() + total_timeout
    try:
        response = outgoing_session().get(url, stream=True)
    except ForbiddenAddress as exc:  # the guard's refusal, before anything is sent
        # For the operator's log only (what it resolved to, or that it did not).
        return AttachmentResult(url=url, ok=False, error=f"Refused: {exc} (not downloaded)")
    except requests.Timeout:
        return AttachmentResult(url=url, ok=False, error=f"Timed out after {total_timeout:g} s")
    except requests.RequestException as exc:
        return AttachmentResult(url=url, ok=False, error=type(exc).__name__)

    with response:
        status = response.status_code
        if not 200 <= status < 300:
            return AttachmentResult(url=url, ok=False, status_code=status, error=f"HTTP {status}")
        received = 0
        try:
            for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
                received += len(chunk)
                if received >= MAX_ATTACHMENT_READ:
                    break
                if time.monotonic() > deadline:
                    return AttachmentResult(
                        url=url,
                        ok=False,
                        status_code=status,
                        error=f"Timed out after {total_timeout:g} s reading the attachment",
                    )
        except requests.RequestException as exc:
            return AttachmentResult(url=url, ok=False, status_code=status, error=type(exc).__name__)
    return AttachmentResult(url=url, ok=True, status_code=status)
