"""Reads of the callback inbox, scoped to an account AND a mode (another's inbox is a 404)."""

from dataclasses import dataclass
from datetime import datetime

from callbacks_app.models import DeliveryAttempt
from inbox_app.models import CapturedRequest, Inbox
from scalehooks.errors import NotFound

MAX_LIST = 500
DEFAULT_LIST = 50


def inboxes_of(*, profile, mode: str):
    """The account's inboxes of ``mode``, newest first."""
    return Inbox.objects.filter(profile=profile, mode=mode).order_by("-created_at", "-id")


def inbox_get(*, profile, mode: str, inbox_id: str) -> Inbox:
    inbox = inboxes_of(profile=profile, mode=mode).filter(id=inbox_id).first()
    if inbox is None:
        raise NotFound(f"No inbox {inbox_id!r} for this key.")
    return inbox


def inbox_requests(
    *,
    inbox: Inbox,
    limit: int = DEFAULT_LIST,
    before: int | None = None,
    after: int | None = None,
    with_bodies: bool = True,
) -> list[CapturedRequest]:
    """The inbox's captured requests, newest first, at most ``MAX_LIST``; ``before``: only
    those older than that request id (the cursor of the next page); ``after``: only those
    newer (what a page refreshing its list has not shown yet). ``with_bodies=False`` leaves
    the bodies (up to 1 MiB each) in the database: a list of rows does not show them."""
    rows = CapturedRequest.objects.filter(inbox=inbox).order_by("-number")
    if not with_bodies:
        rows = rows.defer("body")
    if before is not None:
        rows = rows.filter(id__lt=before)
    if after is not None:
        rows = rows.filter(id__gt=after)
    return list(rows[: max(1, min(limit, MAX_LIST))])


def captured_request_get(*, profile, mode: str, request_id) -> CapturedRequest:
    found = (
        CapturedRequest.objects.select_related("inbox")
        .filter(id=request_id, inbox__profile=profile, inbox__mode=mode)
        .first()
        if str(request_id).isdigit()
        else None
    )
    if found is None:
        raise NotFound(f"No captured request {request_id!r} for this key.")
    return found


@dataclass(frozen=True)
class Arrival:
    """One captured callback against the attempt it was."""

    request: CapturedRequest
    delivery_id: str
    attempt: int
    due_at: datetime | None  # when the attempt was due (None: not recorded)
    started_at: datetime | None  # when the sender claimed it
    arrived_at: datetime  # when the inbox received it

    @property
    def lateness_s(self) -> float | None:
        """Seconds between the due time and the arrival (SPEC §6.4: within 5 s)."""
        return None if self.due_at is None else (self.arrived_at - self.due_at).total_seconds()


def inbox_timing(*, inbox: Inbox, limit: int = MAX_LIST) -> list[Arrival]:
    """Each captured request linked to a delivery attempt, oldest first, with the attempt's
    due time, its arrival and the lateness: how punctual the retries were."""
    captured = list(
        CapturedRequest.objects.filter(inbox=inbox, delivery__isnull=False, attempt__isnull=False)
        .defer("body")
        .order_by("-number")[:limit]
    )
    attempts = {
        (a.delivery_id, a.number): a
        for a in DeliveryAttempt.objects.filter(delivery_id__in={c.delivery_id for c in captured}).only(
            "delivery_id", "number", "due_at", "started_at"
        )
    }
    arrivals = []
    for row in reversed(captured):
        attempt = attempts.get((row.delivery_id, row.attempt))
        arrivals.append(
            Arrival(
                request=row,
                delivery_id=row.delivery_id,
                attempt=row.attempt,
                due_at=attempt.due_at if attempt else None,
                started_at=attempt.started_at if attempt else None,
                arrived_at=row.received_at,
            )
        )
    return arrivals
