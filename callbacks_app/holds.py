"""The deliveries a paused target holds (SPEC §16), and their frozen retry windows."""

from datetime import datetime

from django.db.models import F, Q

from callbacks_app.models import Delivery, TargetHealth
from tasks_app.models import Mode


def target_deliveries(row: TargetHealth) -> Q:
    """The deliveries of the row's account, mode and origin (a task's or a batch's mode)."""
    is_test = row.mode == Mode.TEST
    return Q(owner_id=row.owner_id, target_origin=row.origin) & (
        Q(task__is_test=is_test) | Q(batch__is_test=is_test)
    )


def held_windows_extend(row: TargetHealth, *, now: datetime) -> int:
    """Move the retry windows of the target's pending deliveries forward by the time since they
    were last moved (``windows_frozen_at``): held deliveries keep the window they had left.
    Done at each probe and at the resume (``callbacks_app.pausing``); the caller saves the row."""
    frozen_at = row.windows_frozen_at
    if frozen_at is None or now <= frozen_at:
        return 0
    row.windows_frozen_at = now
    return held_deliveries(row).update(first_attempt_at=F("first_attempt_at") + (now - frozen_at))


def held_deliveries(row: TargetHealth):
    """The target's deliveries whose retry window runs: pending, attempted at least once."""
    return Delivery.objects.filter(
        target_deliveries(row), status=Delivery.Status.PENDING, first_attempt_at__isnull=False
    )
