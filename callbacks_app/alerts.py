"""Fanning out target alerts (SPEC §16): emails to the account, operators' webhooks.

An alert (``TargetAlert``) is written once, by the transition that caused it
(``callbacks_app.health``), in the transaction that recorded its attempts.
After the commit a django-q2 job (``alerts_fan_out``) takes each alert for a
lease (a conditional UPDATE on ``taken_until``: one taker at a time, however many
jobs and clusters see it), then sends, at least once (a job that dies before it
marks ``fanned_out_at`` leaves the alert to the dispatchers once its lease runs out):

- an email through Django's email backend to the account's owner and to the
  teammates who accepted their invitation (which confirmed their address,
  SPEC §6.6) and opted in (``Membership.alert_emails``), when the alert's
  ``email`` says so (the dedupe windows were decided with the transition);
- one ``Delivery`` per URL of ``OPS_WEBHOOK_URLS`` in the ledger (event
  ``ops.alert``, no task, no batch, and no account: SPEC §6.1), signed with
  ``OPS_WEBHOOK_SECRET`` and sent and retried by the engine like any callback.
  No account's API, portal, health, fair share or email budget counts it;
  the admin shows it to operators.

An alert names its own account's target, error and scrubbed answer excerpt,
and nothing of another account: emails go to that account's people only.
"""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app.models import Delivery, TargetAlert
from callbacks_app.wakeups import dispatchers_wake
from scalehooks.api.names import header_safe
from scalehooks.timestamps import format_timestamp
from tasks_app.models import Membership, Profile

logger = logging.getLogger(__name__)

FAN_OUT_JOB = "callbacks_app.jobs.alerts_fan_out"

CLASS_TEXT = {
    "4xx": "answered with a client error (4xx)",
    "5xx": "answered with a server error (5xx)",
    "3xx": "answered with a redirect (3xx), which callbacks do not follow",
    "timeout": "did not answer in time (timeout)",
    "tls": "failed the TLS handshake (certificate or protocol)",
    "connection": "could not be connected to (connection refused or reset)",
    "refused": "was refused before sending (its name does not resolve to an allowed address, or the mail server refused)",
    "other": "failed",
}


def alerts_fan_out_on_commit(*, alerts: list[TargetAlert]) -> None:
    """Queue the fan-out of ``alerts`` once the current transaction commits."""
    ids = [alert.id for alert in alerts]
    if ids:
        transaction.on_commit(lambda: async_task(FAN_OUT_JOB, ids))


def alerts_fan_out(*, alert_ids: list[int]) -> int:
    """Send what each alert of ``alert_ids`` not fanned out yet asks for; how many this call fanned out.

    At least once (SPEC §16): a job takes an alert for ``CALLBACK_ALERT_LEASE_SECONDS`` (a conditional
    UPDATE of ``taken_until``: one taker at a time, however many jobs and clusters see it), sends its
    email, then queues the operators' webhooks and marks it fanned out in one transaction. A job that
    dies before that commit leaves the alert to the next taker once the lease runs out: its email may
    then go twice, never not at all; its operators' deliveries are written once, with the mark.
    """
    done = 0
    for alert_id in alert_ids:
        now = timezone.now()
        lease = timedelta(seconds=settings.CALLBACK_ALERT_LEASE_SECONDS)
        if not (
            TargetAlert.objects.filter(id=alert_id, fanned_out_at__isnull=True)
            .filter(Q(taken_until__isnull=True) | Q(taken_until__lt=now))
            .update(taken_until=now + lease)
        ):
            continue  # fanned out, or taken by another job whose lease runs
        alert = TargetAlert.objects.select_related("health", "health__owner").get(id=alert_id)
        if alert.email:
            try:
                alert_email_send(alert=alert)
            except Exception:
                logger.exception("The email of alert %s could not be sent", alert_id)
        try:
            with transaction.atomic():
                if not TargetAlert.objects.filter(id=alert_id, fanned_out_at__isnull=True).update(
                    fanned_out_at=timezone.now()
                ):
                    continue  # another job took it after this one's lease ran out, and finished it
                ops_deliveries_create(alert=alert)
        except Exception:
            logger.exception("The operators' webhooks of alert %s could not be queued", alert_id)
            TargetAlert.objects.filter(id=alert_id, fanned_out_at__isnull=True).update(
                fanned_out_at=timezone.now()
            )
        done += 1
    return done


def alerts_fan_out_pending() -> int:
    """Fan out every alert not fanned out yet and not taken by a job (the job's service, for a test)."""
    ids = list(
        TargetAlert.objects.filter(fanned_out_at__isnull=True).order_by("id").values_list("id", flat=True)
    )
    return alerts_fan_out(alert_ids=ids)


FAN_OUT_LOST_AFTER = timedelta(seconds=30)  # an alert not taken by then lost its job (a crash, the broker)


def alerts_fan_out_overdue(*, now) -> int:
    """Queue the fan-out of alerts whose job was lost (the dispatchers' look, as for deliveries): never
    taken though older than ``FAN_OUT_LOST_AFTER``, or taken by a job whose lease ran out (it died)."""
    ids = list(
        TargetAlert.objects.filter(fanned_out_at__isnull=True)
        .filter(Q(taken_until__isnull=True, created_at__lt=now - FAN_OUT_LOST_AFTER) | Q(taken_until__lt=now))
        .order_by("created_at")
        .values_list("id", flat=True)[:100]
    )
    if ids:
        async_task(FAN_OUT_JOB, ids)
    return len(ids)


def alert_recipients(*, owner_id: int) -> list[str]:
    """The account's owner, then its teammates who opted in to alert emails, of those whose address
    is confirmed: who accepted their invitation. An address nobody confirmed is mailed nothing."""
    profile = Profile.objects.select_related("user").filter(user_id=owner_id).first()
    if profile is None:
        return []
    teammates = Membership.objects.filter(
        account=profile, alert_emails=True, accepted_at__isnull=False
    ).select_related("user")
    emails = [profile.user.email, *(m.user.email for m in teammates)]
    return list(dict.fromkeys(email for email in emails if email))


def alert_subject(alert: TargetAlert) -> str:
    health = alert.health
    where = header_safe(f"{health.origin} ({health.mode})")  # one line, whatever an origin holds
    if alert.kind == TargetAlert.Kind.FAILING:
        return f"[ScaleHooks] Callbacks to {where} are failing"
    if alert.kind == TargetAlert.Kind.RECOVERED:
        return f"[ScaleHooks] Callbacks to {where} are delivered again"
    if alert.kind == TargetAlert.Kind.PAUSED:
        return f"[ScaleHooks] Callbacks to {where} are paused"
    return f"[ScaleHooks] {alert.details.get('count', 0)} callbacks to {where} gave up"


def _why(details: dict) -> list[str]:
    status = details.get("last_status_code")
    lines = [
        f"Why: the target {CLASS_TEXT.get(details.get('failure_class') or 'other', 'failed')}.",
        f"Last status: {status if status is not None else 'no HTTP answer'}"
        + (f" ({details['last_error']})" if details.get("last_error") else ""),
    ]
    if details.get("last_excerpt"):
        lines += ["Last answer (excerpt):", details["last_excerpt"]]
    return lines


def alert_email_body(alert: TargetAlert) -> str:
    """Plain text: what is failing, why, since when, and what to do."""
    details, health = alert.details, alert.health
    since = details.get("first_failure_at") or "unknown"
    lines = [f"Target: {health.origin}", f"Mode: {health.mode}", ""]
    if alert.kind == TargetAlert.Kind.RECOVERED:
        lines += [
            f"Callbacks to this target are delivered again (failing since {details.get('failing_since')}).",
            "Callbacks still waiting for a retry are sent as their retries fall due; nothing is needed from you.",
        ]
        return "\n".join(lines) + "\n"
    if alert.kind == TargetAlert.Kind.EXHAUSTED:
        lines.append(
            f"{details.get('count', 0)} callbacks to this target failed every retry over 24 hours and will not "
            "be sent again by themselves."
        )
    elif alert.kind == TargetAlert.Kind.PAUSED:
        lines.append(
            "Callbacks to this target are paused: they wait without spending retries, and one is sent "
            f"as a probe every {settings.CALLBACK_TARGET_PROBE_MINUTES:g} minutes; the first that succeeds "
            "resumes them all, oldest first."
        )
    else:
        lines.append(
            f"The last {details.get('consecutive_failures')} callback attempts to this target failed."
        )
    lines += [f"Failing since: {since}", *_why(details), ""]
    lines += [
        "What to do: check that the endpoint is up and answers 2xx to a POST, that its certificate is valid "
        "and that it accepts the scale-callback-auth header of this mode. Callbacks are retried for 24 hours; "
        "those that gave up can be resent with POST /v1/task/{task_id}/resend_callback once it works again."
    ]
    return "\n".join(lines) + "\n"


def alert_email_send(*, alert: TargetAlert) -> int:
    recipients = alert_recipients(owner_id=alert.health.owner_id)
    if not recipients:
        return 0
    message = EmailMessage(
        subject=alert_subject(alert),
        body=alert_email_body(alert),
        from_email=settings.CALLBACK_EMAIL_FROM,
        to=recipients[:1],
        bcc=recipients[1:],  # teammates do not see each other's addresses
        connection=get_connection(fail_silently=False, timeout=settings.CALLBACK_TIMEOUT),
    )
    return message.send()


def ops_payload(alert: TargetAlert) -> str:
    """The operators' webhook body (Standard Webhooks shape: type, timestamp, data)."""
    health = alert.health
    body = {
        "type": alert.kind,
        "timestamp": format_timestamp(alert.created_at),
        "data": {
            "alert_id": alert.id,
            "account": health.owner.email,
            "account_id": health.owner_id,
            **alert.details,
        },
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def ops_deliveries_create(*, alert: TargetAlert) -> list[Delivery]:
    """One ledger delivery per ``OPS_WEBHOOK_URLS`` URL, due now (the engine sends and retries it),
    of no account: the alert names its account in the payload only."""
    urls = settings.OPS_WEBHOOK_URLS
    if not urls:
        return []
    now = timezone.now()
    payload = ops_payload(alert)
    deliveries = []
    for url in urls:
        delivery = Delivery(
            owner_id=None,
            event=Delivery.Event.OPS_ALERT,
            target=url,
            payload=payload,
            next_attempt_at=now,
        )
        delivery.save()
        deliveries.append(delivery)
    dispatchers_wake()
    return deliveries
