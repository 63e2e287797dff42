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


def held_of_paused(*, deliveries: list[Delivery]) -> list[str]:
    """The ids of the held deliveries of the paused targets of ``deliveries``.

    A recording that may resume a target (its probe's 2xx) moves these deliveries' windows
    (``held_windows_extend``): it locks them with its own deliveries, in one id order, before the
    targets' rows, as a resume by hand does (``pausing.target_pause_set``). Locking them after the
    row would wait on a delivery a resume holds while the resume waits on the row: a deadlock on
    PostgreSQL. The caller asks only when some target is paused (``pick_sql.any_target_paused``).
    """
    keys = {(d.owner_id, d.mode, d.target_origin) for d in deliveries if not d.is_ops_alert}
    paused = TargetHealth.objects.filter(
        state=TargetHealth.State.PAUSED,
        owner_id__in={owner for owner, _, _ in keys},
        origin__in={origin for _, _, origin in keys},
    )
    held = [row for row in paused if (row.owner_id, row.mode, row.origin) in keys]
    if not held:
        return []
    condition = Q()
    for row in held:
        condition |= target_deliveries(row)
    return list(
        Delivery.objects.filter(condition, status=Delivery.Status.PENDING, first_attempt_at__isnull=False)
        .values_list("id", flat=True)
        .distinct()
    )
