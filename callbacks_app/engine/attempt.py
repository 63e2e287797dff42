"""Sending one attempt over HTTP or email: no database (it runs on the sender threads)."""

import logging
import time
from dataclasses import dataclass

from callbacks_app import transport
from callbacks_app.envelope import email_envelope
from callbacks_app.models import Delivery

logger = logging.getLogger(__name__)


@dataclass
class SendResult:
    """What an attempt sent and what came back."""

    headers: dict[str, str]  # as actually sent (an email's differ from an HTTP request's)
    result: transport.CallbackResult


def attempt_send(*, delivery: Delivery, headers: dict[str, str], account_networks=()) -> SendResult:
    """One attempt of ``delivery`` with the request ``headers``, over HTTP or email;
    ``account_networks``: the networks its account was allowed (``Profile.allowed_networks``).

    The transports return a result for every network outcome; anything else
    they raise is a bug, recorded as a failed attempt rather than lost.
    """
    started = time.monotonic()
    try:
        return _transport_send(delivery=delivery, headers=headers, account_networks=account_networks)
    except Exception as exc:
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


def _transport_send(*, delivery: Delivery, headers: dict[str, str], account_networks) -> SendResult:
    if delivery.target_kind == Delivery.TargetKind.EMAIL:
        envelope = email_envelope(delivery=delivery, headers=headers)
        result = transport.send_callback_email(
            to=envelope.to,
            subject=envelope.subject,
            body=delivery.payload,
            message_id=envelope.message_id,
            headers=envelope.headers,
        )
        return SendResult(headers=envelope.as_sent(), result=result)
    result = transport.send_callback_http(
        url=delivery.target,
        body=delivery.payload.encode("utf-8"),
        headers=headers,
        account_networks=account_networks,
    )
    return SendResult(headers=headers, result=result)
