"""Sending one attempt over HTTP or email: no database (it runs on the event loop or an email thread).

An HTTP attempt is a coroutine (``attempt_send_http``) on this process's
outgoing event loop; an email attempt blocks in Django's backend, on a
thread. ``attempt_send`` makes either from a thread and waits for it.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from callbacks_app import transport
from callbacks_app.envelope import email_envelope
from callbacks_app.models import Delivery
from scalehooks.outgoing.aio import outgoing_loop

logger = logging.getLogger(__name__)

# Seconds of its send lease an attempt leaves for being recorded: an attempt
# never outlives its lease, so a delivery is never in flight twice.
RECORDING_MARGIN = 2.0


@dataclass
class SendResult:
    """What an attempt sent and what came back."""

    headers: dict[str, str]  # as actually sent (an email's differ from an HTTP request's)
    result: transport.CallbackResult


def attempt_send(*, delivery: Delivery, headers: dict[str, str], account_networks=()) -> SendResult:
    """One attempt of ``delivery`` with the request ``headers``, over HTTP or email, from a thread;
    ``account_networks``: the networks its account was allowed (``Profile.allowed_networks``)."""
    if delivery.target_kind == Delivery.TargetKind.EMAIL:
        return attempt_send_email(delivery=delivery, headers=headers)
    return outgoing_loop.run(
        attempt_send_http(delivery=delivery, headers=headers, account_networks=account_networks)
    )


def _unexpected(*, delivery: Delivery, headers: dict[str, str], exc: Exception, started: float) -> SendResult:
    """The transports return a result for every network outcome; anything else
    they raise is a bug, recorded as a failed attempt rather than lost."""
    logger.exception(
        "Sending delivery %s failed unexpectedly", delivery.id, extra={"delivery_id": delivery.id}
    )
    return SendResult(
        headers=headers,
        result=transport.CallbackResult(
            ok=False,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=f"Internal error while sending: {type(exc).__name__}",
        ),
    )


def attempt_send_email(*, delivery: Delivery, headers: dict[str, str]) -> SendResult:
    """One email attempt (blocks: run it on a thread)."""
    started = time.monotonic()
    try:
        envelope = email_envelope(delivery=delivery, headers=headers)
        result = transport.send_callback_email(
            to=envelope.to,
            subject=envelope.subject,
            body=delivery.payload,
            message_id=envelope.message_id,
            headers=envelope.headers,
        )
        return SendResult(headers=envelope.as_sent(), result=result)
    except Exception as exc:
        return _unexpected(delivery=delivery, headers=headers, exc=exc, started=started)


async def attempt_send_http(
    *, delivery: Delivery, headers: dict[str, str], account_networks=()
) -> SendResult:
    """One HTTP attempt, on the outgoing event loop."""
    started = time.monotonic()
    try:
        return await _http_send(delivery=delivery, headers=headers, account_networks=account_networks)
    except Exception as exc:
        return _unexpected(delivery=delivery, headers=headers, exc=exc, started=started)


async def _http_send(*, delivery: Delivery, headers: dict[str, str], account_networks) -> SendResult:
    limit = attempt_time_limit(delivery=delivery)
    if limit <= 0:
        # It waited to be sent until its lease nearly ran out: another
        # worker may take it over at any moment, so it is not sent at all.
        return SendResult(
            headers=headers,
            result=transport.CallbackResult(
                ok=False,
                duration_ms=0,
                error="Not sent: the send lease ran out before the attempt could start",
            ),
        )
    result = await transport.send_callback_http_async(
        url=delivery.target,
        body=delivery.payload.encode("utf-8"),
        headers=headers,
        account_networks=account_networks,
        timeout=limit,
    )
    return SendResult(headers=headers, result=result)


def attempt_time_limit(*, delivery: Delivery) -> float:
    """Seconds this attempt may take: ``CALLBACK_TIMEOUT``, less if its send lease ends sooner.

    The send lease (``engine.leases.send_lease``) is longer than the timeout, so
    the limit is the timeout unless the attempt waited long to start;
    it is rounded down to a tenth of a second, for the error text.
    """
    if delivery.leased_until is None:
        return settings.CALLBACK_TIMEOUT
    lease_left = (delivery.leased_until - timezone.now()).total_seconds() - RECORDING_MARGIN
    return min(settings.CALLBACK_TIMEOUT, int(lease_left * 10) / 10)
