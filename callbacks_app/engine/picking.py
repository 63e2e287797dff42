"""Picking the deliveries to send: due, held by nobody, within the per-target caps.

``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` caps how many sends one target may hold
at once across all workers, and one drain job gives a target at most
``PER_JOB_TARGET_SLOTS`` of its slots: a target that hangs until the timeout
delays its own callbacks, not everybody else's.
"""

from django.conf import settings
from django.db.models import Count, Q

from callbacks_app.models import Delivery

DRAIN_IN_FLIGHT = 64  # sends in flight per drain job (per worker process)
PER_JOB_TARGET_SLOTS = DRAIN_IN_FLIGHT // 2  # slots of one drain job one target may hold
CANDIDATES_PER_SLOT = 4  # due rows looked at per free slot, to fill it despite per-target caps
PICK_PASSES = 3  # candidate queries per pick at most


def held_by_nobody(now) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def deliveries_due(*, now):
    """Pending deliveries that are due and that no worker holds."""
    return Delivery.objects.filter(
        held_by_nobody(now), status=Delivery.Status.PENDING, next_attempt_at__lte=now
    )


def sends_in_flight_by_target(*, now):
    """(target, deliveries being sent to it now) pairs, across all workers
    (served by the partial index ``delivery_in_flight_idx``)."""
    return (
        Delivery.objects.filter(status=Delivery.Status.PENDING, leased_until__gte=now)
        .values_list("target")
        .annotate(n=Count("id"))
        .order_by()
    )


def deliveries_to_send(*, now, limit: int, held: dict[str, int] | None = None) -> list[str]:
    """Up to ``limit`` due delivery ids, oldest due first, within the per-target caps.

    A target may hold at most ``CALLBACK_MAX_IN_FLIGHT_PER_TARGET`` sends in
    flight across all workers, and at most ``PER_JOB_TARGET_SLOTS`` of the
    slots of one drain job (``held``: the job's sends in flight by target):
    one that hangs until the timeout holds that many slots, and everything
    else keeps flowing through the others.
    """
    held = held or {}
    cap = settings.CALLBACK_MAX_IN_FLIGHT_PER_TARGET
    in_flight = dict(sends_in_flight_by_target(now=now))
    picked: list[str] = []
    # Capped targets are left out in the query: their deliveries are often the
    # oldest due ones, and must not crowd everybody else out of the candidates.
    # A target that reaches its cap during a pass is left out of the next one.
    for _ in range(PICK_PASSES):
        capped = {target for target, n in in_flight.items() if n >= cap}
        capped |= {target for target, n in held.items() if n >= PER_JOB_TARGET_SLOTS}
        window = (limit - len(picked)) * CANDIDATES_PER_SLOT
        candidates = list(
            deliveries_due(now=now)
            .exclude(target__in=capped)
            .exclude(id__in=picked)
            .order_by("next_attempt_at")
            .values_list("id", "target")[:window]
        )
        for delivery_id, target in candidates:
            if in_flight.get(target, 0) >= cap or held.get(target, 0) >= PER_JOB_TARGET_SLOTS:
                continue
            in_flight[target] = in_flight.get(target, 0) + 1
            held[target] = held.get(target, 0) + 1
            picked.append(delivery_id)
            if len(picked) == limit:
                return picked
        if len(candidates) < window:
            break  # every due delivery was looked at
    return picked
