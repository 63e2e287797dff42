"""What an attempt sends besides the body: the request headers and signatures, the email envelope."""

import json
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings

from callbacks_app.models import Delivery
from callbacks_app.signing import active_signing_secrets, sign
from callbacks_app.targets import email_target
from scalehooks.api.names import header_safe
from tasks_app.models import Profile


def request_headers(*, delivery: Delivery, profile: Profile | None, attempt: int, now) -> dict[str, str]:
    """The headers of attempt number ``attempt`` of ``delivery``, signed at ``now`` with
    the secrets of the task's mode (``profile``: its account's; None for an operators' alert)."""
    if delivery.is_ops_alert:
        return ops_request_headers(delivery=delivery, attempt=attempt, now=now)
    mode = delivery.mode
    return {
        "Content-Type": "application/json",
        "scale-callback-auth": profile.callback_auth_key(mode),
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(
            secrets=active_signing_secrets(profile, mode=mode, now=now),
            msg_id=delivery.id,
            timestamp=now,
            body=delivery.payload,
        ),
        "scale-callback-event": delivery.event,
        "scale-callback-attempt": str(attempt),
    }


def ops_request_headers(*, delivery: Delivery, attempt: int, now) -> dict[str, str]:
    """An operators' alert (``callbacks_app.alerts``): signed with ``OPS_WEBHOOK_SECRET``, and
    carrying none of the account's secrets (no callback auth key, not its signing secret)."""
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "scale-callback-event": delivery.event,
        "scale-callback-attempt": str(attempt),
    }
    if settings.OPS_WEBHOOK_SECRET:
        headers["webhook-signature"] = sign(
            secrets=[settings.OPS_WEBHOOK_SECRET], msg_id=delivery.id, timestamp=now, body=delivery.payload
        )
    return headers


def email_message_id(delivery_id: str) -> str:
    """The Message-ID of every email of a delivery: ``<delivery id@domain of CALLBACK_EMAIL_FROM>``."""
    address = parseaddr(settings.CALLBACK_EMAIL_FROM)[1]
    domain = address.rpartition("@")[2] or "scalehooks"
    return f"<{delivery_id}@{domain}>"


def email_subject(delivery: Delivery) -> str:
    """``Task <task_id> <status>`` (SPEC §6.6), or ``Batch <name> completed`` for a batch's callback,
    as its frozen payload (the email's body) says them: no read of the task or batch while it is
    sent. One line whatever the name holds (a name stored before control characters were refused
    in names would break the header, and the email would never be sent)."""
    if delivery.event == Delivery.Event.TEST:
        return "ScaleHooks test callback"
    payload = json.loads(delivery.payload)
    if delivery.task_id is None:
        return f"Batch {header_safe(payload['batch_name'])} completed"
    return f"Task {delivery.task_id} {header_safe(payload['status'])}"


@dataclass(frozen=True)
class EmailEnvelope:
    sender: str
    to: str
    subject: str
    message_id: str
    headers: dict[str, str]  # the request headers an email carries too

    def as_sent(self) -> dict[str, str]:
        """The email's headers as an attempt records them."""
        return {
            "From": self.sender,
            "To": self.to,
            "Subject": self.subject,
            "Message-ID": self.message_id,
            **self.headers,
        }


def email_envelope(*, delivery: Delivery, headers: dict[str, str]) -> EmailEnvelope:
    """The envelope of an email attempt of ``delivery`` whose request headers are ``headers``."""
    # The callback auth key is not sent by email (relays see the message
    # in clear); the signature lets the receiver check it all the same.
    extra = {
        name: value
        for name, value in headers.items()
        if name.lower().startswith(("webhook-", "scale-callback-")) and name.lower() != "scale-callback-auth"
    }
    return EmailEnvelope(
        sender=settings.CALLBACK_EMAIL_FROM,
        to=email_target(delivery.target),
        subject=email_subject(delivery),
        message_id=email_message_id(delivery.id),
        headers=extra,
    )
