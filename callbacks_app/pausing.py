"""Paused targets (SPEC §16, opt-in): their deliveries wait without spending attempts; one probe
every ``CALLBACK_TARGET_PROBE_MINUTES``; a probe's 2xx resumes the target.

A target is paused automatically after ``CALLBACK_TARGET_PAUSE_AFTER_HOURS``
of failures (``health._apply``, off by default), or by an operator or the
account (``target_pause_set``). While it is paused the picking leaves its
deliveries alone (``paused_exclusion``), except its probe: every probe interval
one delivery, the oldest due one, is chosen as the probe by a conditional
UPDATE (one chooser wins however many workers pick at once).

The retry window of a held delivery (24 h after its first attempt, SPEC §6.4)
is frozen while it is held: at each probe and at the resume every pending
delivery of the target has its ``first_attempt_at`` moved forward by the time
since the last such move (``health.held_windows_extend``), so it keeps the
window (and the attempts) it had left and cannot exhaust on resume or as a probe.
Held deliveries then go out oldest due first, as the picking always orders them.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from callbacks_app import health, holds
from callbacks_app.alerts import alerts_fan_out_on_commit
from callbacks_app.models import Delivery, TargetAlert, TargetHealth
from callbacks_app.wakeups import dispatchers_wake
from scalehooks.audit import audit_record
from scalehooks.errors import IllegalStateChange


def paused_exclusion(*, now: datetime) -> Q | None:
    """The due deliveries the picking must leave alone now (None: no target is paused).

    One small query (the partial index of targets not healthy); a probe is chosen
    here for each paused target whose probe is due.
    """
    paused = list(TargetHealth.objects.filter(state=TargetHealth.State.PAUSED))
    if not paused:
        return None
    held = Q()
    for row in paused:
        probe = _probe_of(row, now=now)
        condition = holds.target_deliveries(row)
        if probe:
            condition &= ~Q(id=probe)
        held |= condition
    return held


def deliveries_due_unpaused(*, now):
    """``deliveries_due`` less the deliveries of paused targets (their probe included when due):
    what a dispatcher asks about before it waits for more work."""
    due = Delivery.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now),
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
    )
    paused = paused_exclusion(now=now)
    return due if paused is None else due.exclude(paused)


def _waiting(row: TargetHealth, *, now: datetime):
    """The target's deliveries waiting for a retry (attempted, pending, not being sent, due later).
    Not a resend waiting for another attempt in flight, which was never attempted."""
    return Delivery.objects.filter(
        holds.target_deliveries(row),
        Q(leased_until__isnull=True) | Q(leased_until__lt=now),
        status=Delivery.Status.PENDING,
        first_attempt_at__isnull=False,
        next_attempt_at__gt=now,
    )


def _waiting_release(row: TargetHealth, *, now: datetime) -> int:
    """Make the target's waiting deliveries due now, oldest first: each group of
    ``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` (the per-origin cap, which the picking keeps) due a
    microsecond after the one before, in the order they were made. How many."""
    waiting = _waiting(row, now=now)
    ids = list(waiting.order_by("created_at", "id").values_list("id", flat=True))
    cap = max(1, settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET)
    for start in range(0, len(ids), cap):
        due = now + timedelta(microseconds=start // cap)
        waiting.filter(id__in=ids[start : start + cap]).update(next_attempt_at=due)
    if ids:
        dispatchers_wake()
    return len(ids)


def target_waiting_release(*, target_id: int) -> int:
    """A target's waiting deliveries go at once (SPEC §16): when it recovers (its first 2xx after
    failing: ``health.batch_health_record`` queues this after the recording commits), and by hand
    ("retry waiting now", portal and admin). A paused target's wait for their probe or a resume
    (which releases them too). How many were released."""
    now = timezone.now()
    with transaction.atomic():
        row = TargetHealth.objects.filter(id=target_id).first()
        if row is None or row.state == TargetHealth.State.PAUSED:
            return 0
        released = _waiting_release(row, now=now)
        audit_record(
            action="target.retry_waiting",
            target=row,
            account_id=row.owner_id,
            mode=row.mode,
            released=released,
        )
    return released


def _probe_of(row: TargetHealth, *, now: datetime) -> str:
    """The delivery that may go out as the row's probe now ("" when none).

    Chosen when the probe is due: the oldest due delivery, by a conditional UPDATE
    on ``next_probe_at`` (one chooser wins). It stays the probe until an attempt of
    it is recorded (``health._apply`` forgets it), so exactly one attempt goes out.
    """
    if row.next_probe_at is not None and row.next_probe_at <= now:
        oldest = (
            Delivery.objects.filter(
                holds.target_deliveries(row), status=Delivery.Status.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at", "created_at")
            .values_list("id", flat=True)
            .first()
        )
        if oldest is None:
            return row.probe_delivery_id
        following = row.next_probe_at + health.probe_interval()
        chosen = TargetHealth.objects.filter(
            id=row.id, state=TargetHealth.State.PAUSED, next_probe_at=row.next_probe_at
        ).update(
            next_probe_at=following if following > now else now + health.probe_interval(),
            probe_delivery_id=oldest,
            windows_frozen_at=now,
        )
        if chosen:
            holds.held_windows_extend(row, now=now)  # the probe goes within the window it had left
            return oldest
        row.refresh_from_db(fields=["probe_delivery_id"])
    return row.probe_delivery_id


def target_pause_set(*, target: TargetHealth, paused: bool, by: str) -> TargetHealth:
    """Pause or resume ``target`` by hand (admin, API). Pausing a paused target, or resuming one
    that is not paused, is an ``IllegalStateChange``."""
    now = timezone.now()
    with transaction.atomic():
        if not paused:
            # The recorder's lock order: a target's deliveries, then its health row. The resume
            # moves those deliveries' windows; locking the row first would wait on a delivery a
            # recording holds while that recording waits on the row (a deadlock on PostgreSQL).
            held = holds.held_deliveries(target).select_for_update(of=("self",)).order_by("id")
            list(held.values_list("id", flat=True))
        row = TargetHealth.objects.select_for_update().get(id=target.id)
        if paused:
            if row.state == TargetHealth.State.PAUSED:
                raise IllegalStateChange("This callback target is already paused.")
            alerts = [health.target_pause(row, now=now, by=by)]
        else:
            if row.state != TargetHealth.State.PAUSED:
                raise IllegalStateChange("This callback target is not paused.")
            holds.held_windows_extend(row, now=now)
            row.state = TargetHealth.State.FAILING if row.consecutive_failures else TargetHealth.State.HEALTHY
            health.unpause(row)
            alerts = []
            _waiting_release(row, now=now)  # its held deliveries are locked already: the order above
        row.save(update_fields=health.HEALTH_FIELDS)
        saved = TargetAlert.objects.bulk_create(alerts)
        alerts_fan_out_on_commit(alerts=saved)
        audit_record(
            action="target.pause" if paused else "target.resume",
            target=row,
            account_id=row.owner_id,
            mode=row.mode,
            origin=row.origin,
        )
    if not paused:
        dispatchers_wake()
    return row
