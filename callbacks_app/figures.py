"""The headline figures of the admin's dashboard and the portal's overview (SPEC §14: failures are
never hidden). Each rate says what it counts, and the failures it leaves out stand beside it:

- **delivered**: of the deliveries created in the window that finished or are retrying (pending
  after a failed attempt), those that succeeded. A delivery retrying counts against the rate from
  its first failed attempt, not 24 hours later when it runs out of retries: a receiver that starts
  failing shows at once.
- **attempts succeeded**: of the attempts of the window, those that got a 2xx (or an accepted
  email); the others failed (an attempt under way counts as not succeeded until it is recorded).
- **the last error**: the most recent failed attempt (the dashboard), or the account's target that
  failed last with its error (the portal).

The dashboard's figures are across accounts, each one aggregate query served by an index
(``Delivery.Meta.indexes``, ``attempt_latency_idx``); the portal's are one account side's, its
deliveries through ``delivery_portal_idx`` and its attempts from its targets' health slots.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, Sum

from callbacks_app import health
from callbacks_app.models import Delivery, DeliveryAttempt, TargetHealth, TargetHealthSlot
from callbacks_app.selectors import PendingRetries, delivery_outcomes


@dataclass(frozen=True)
class DeliveryFigures:
    """Deliveries created in a window, by status, and those of them pending after a failed attempt."""

    pending: int
    succeeded: int
    failed: int
    superseded: int
    retrying: int  # pending after at least one failed attempt: awaiting a retry
    # Events of tasks without a target (kept for the feed, SPEC §17): never sent, in no total.
    not_sent: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.succeeded + self.failed + self.superseded

    @property
    def settled(self) -> int:
        """Deliveries that finished (succeeded or failed) or are retrying: what the rate counts."""
        return self.succeeded + self.failed + self.retrying

    @property
    def delivered_rate(self) -> float | None:
        """Succeeded / (succeeded + failed + retrying); None when none finished or retried."""
        return self.succeeded / self.settled if self.settled else None


@dataclass(frozen=True)
class AttemptFigures:
    attempts: int
    succeeded: int

    @property
    def failed(self) -> int:
        return self.attempts - self.succeeded

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


@dataclass(frozen=True)
class LastError:
    at: datetime
    status_code: int | None
    error: str
    target: str
    excerpt: str = ""  # the start of the receiver's answer
    delivery_id: str = ""  # the dashboard's: its delivery's page
    failure_class: str = (
        ""  # the portal's: 4xx, 5xx, timeout, connection, tls (callbacks_app.failure_classes)
    )


# --- The dashboard: every account ---------------------------------------------------


def delivery_figures(*, since: datetime, pending: PendingRetries) -> DeliveryFigures:
    """The deliveries created since ``since`` (``delivery_outcomes``) and, of the pending ones,
    those awaiting a retry (``pending``: ``pending_retries`` of the same ``since``, whose query
    reads the pending deliveries anyway)."""
    return DeliveryFigures(**delivery_outcomes(since=since), retrying=pending.retrying_since)


def attempt_figures(*, since: datetime) -> AttemptFigures:
    """Attempts started since ``since``, and those that succeeded: ``attempt_latency_idx`` alone."""
    figures = DeliveryAttempt.objects.filter(started_at__gte=since).aggregate(
        attempts=Count("started_at"), succeeded=Count("started_at", filter=Q(succeeded=True))
    )
    return AttemptFigures(**figures)


def last_error(*, since: datetime) -> LastError | None:
    """The most recent failed attempt since ``since`` (an attempt under way is not one), with its
    delivery's target: read backwards along ``attempt_latency_idx``."""
    attempt = (
        DeliveryAttempt.objects.filter(started_at__gte=since, succeeded=False)
        .exclude(error=DeliveryAttempt.UNFINISHED)
        .select_related("delivery")
        .only("started_at", "status_code", "error", "response_excerpt", "delivery__id", "delivery__target")
        .order_by("-started_at")
        .first()
    )
    if attempt is None:
        return None
    return LastError(
        at=attempt.started_at,
        status_code=attempt.status_code,
        error=attempt.error,
        excerpt=attempt.response_excerpt,
        target=attempt.delivery.target,
        delivery_id=attempt.delivery.id,
    )


# --- The portal: one account side ----------------------------------------------------


def account_delivery_figures(*, owner, is_test: bool, since: datetime) -> DeliveryFigures:
    """The account side's deliveries created since ``since``, by status, and the retrying ones."""
    figures = Delivery.objects.filter(owner=owner, is_test=is_test, created_at__gte=since).aggregate(
        **{status: Count("id", filter=Q(status=status)) for status in Delivery.Status.values},
        retrying=Count("id", filter=Q(status=Delivery.Status.PENDING, attempt_count__gt=0)),
    )
    return DeliveryFigures(**figures)


def account_attempt_figures(*, owner_id: int, mode: str, since: datetime) -> AttemptFigures:
    """The account side's attempts since the ten minutes ``since`` falls in, from its targets'
    health slots (the counts the targets page shows)."""
    figures = TargetHealthSlot.objects.filter(
        health__owner_id=owner_id, health__mode=mode, start__gte=health.slot_of(since)
    ).aggregate(attempts=Sum("attempts", default=0), succeeded=Sum("succeeded", default=0))
    return AttemptFigures(**figures)


def account_last_error(*, owner_id: int, mode: str) -> LastError | None:
    """The account side's target that failed last, with that failure (as its health keeps it:
    scrubbed, a private target's answer left out)."""
    target = (
        TargetHealth.objects.filter(owner_id=owner_id, mode=mode, last_error_at__isnull=False)
        .order_by("-last_error_at")
        .first()
    )
    if target is None:
        return None
    return LastError(
        at=target.last_error_at,
        status_code=target.last_status_code,
        error=target.last_error,
        excerpt=target.last_excerpt,
        target=target.origin,
        failure_class=target.last_error_class,
    )


def percent_text(rate: float) -> str:
    """A rate as a percentage with one decimal (0.9512 → "95.1 %"). A rate below 1 never reads
    "100.0 %" (nor one above 0 "0.0 %"): 1,999 of 2,000 is "99.9 %", not a rounded success."""
    shown = round(rate * 100, 1)
    if rate < 1 and shown >= 100:
        shown = 99.9
    elif rate > 0 and shown <= 0:
        shown = 0.1
    return f"{shown:.1f} %"
