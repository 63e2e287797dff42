"""Reads of target health (SPEC §16): the account's targets with their 1 h and 24 h figures
(the API, the portal), and the targets not healthy across accounts (the dashboard's banner,
the gauge). The writes are ``callbacks_app.health``'s and ``callbacks_app.pausing``'s."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, Count, Value, When

from callbacks_app import durations, health
from callbacks_app.models import TargetHealth, TargetHealthSlot
from scalehooks.errors import NotFound


@dataclass(frozen=True)
class WindowFigures:
    """A target's attempts over a window: their success rate (from the health slots), and the p50
    and p95 of their durations from the ledger (``callbacks_app.durations``; None: no attempt)."""

    attempts: int
    succeeded: int
    success_rate: float | None
    p50_ms: int | None
    p95_ms: int | None


WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def _window_figures(slots: list[TargetHealthSlot], latency: durations.Latency) -> WindowFigures:
    attempts = sum(s.attempts for s in slots)
    succeeded = sum(s.succeeded for s in slots)
    return WindowFigures(
        attempts=attempts,
        succeeded=succeeded,
        success_rate=round(succeeded / attempts, 4) if attempts else None,
        p50_ms=latency.p50_ms,
        p95_ms=latency.p95_ms,
    )


def target_figures(*, targets: list[TargetHealth], now) -> dict[int, dict[str, WindowFigures]]:
    """``{target id: {"1h": ..., "24h": ...}}``: counts from their ten-minute slots (one query),
    durations from the ledger (one query per account side)."""
    day_start, hour_start = (
        health.slot_of(now - timedelta(hours=24)),
        health.slot_of(now - timedelta(hours=1)),
    )
    by_target: dict[int, list[TargetHealthSlot]] = {t.id: [] for t in targets}
    for slot in TargetHealthSlot.objects.filter(health__in=list(by_target), start__gte=day_start):
        by_target[slot.health_id].append(slot)
    latencies = {}
    for owner_id, mode in {(t.owner_id, t.mode) for t in targets}:
        found = durations.latency_by_origin(
            owner_id=owner_id, is_test=mode == "test", now=now, windows=WINDOWS
        )
        latencies.update(
            {(owner_id, mode, origin, window): latency for (origin, window), latency in found.items()}
        )
    figures = {}
    for target in targets:
        slots = by_target[target.id]

        def latency(window, target=target):
            return latencies.get((target.owner_id, target.mode, target.origin, window), durations.NO_ATTEMPT)

        figures[target.id] = {
            "1h": _window_figures([s for s in slots if s.start >= hour_start], latency("1h")),
            "24h": _window_figures(slots, latency("24h")),
        }
    return figures


def targets_health(*, profile, mode: str):
    """The account's (``profile``'s) callback targets of ``mode`` (for the API and the portal), failing
    and paused first; ``target_figures`` gives their 1 h and 24 h figures."""
    unwell_first = Case(When(state=TargetHealth.State.HEALTHY, then=Value(1)), default=Value(0))
    return TargetHealth.objects.filter(owner_id=profile.user_id, mode=mode).order_by(unwell_first, "origin")


def targets_unwell(*, profile, mode: str):
    """The account's targets of ``mode`` that are failing or paused (the portal's overview)."""
    return (
        TargetHealth.objects.filter(owner_id=profile.user_id, mode=mode)
        .exclude(state=TargetHealth.State.HEALTHY)
        .order_by("-failing_since", "origin")
    )


def target_health_get(*, owner_id: int, mode: str, target_id: int) -> TargetHealth:
    """One target of the account and mode; another's, or the other mode's, is ``NotFound``."""
    found = TargetHealth.objects.filter(owner_id=owner_id, mode=mode, id=target_id).first()
    if found is None:
        raise NotFound("No callback target with this id.")
    return found


def targets_unwell_count() -> dict[str, int]:
    """Targets failing and paused, across accounts (the dashboard's banner, the gauge)."""
    counts = dict(
        TargetHealth.objects.exclude(state=TargetHealth.State.HEALTHY)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {state: counts.get(state, 0) for state in (TargetHealth.State.FAILING, TargetHealth.State.PAUSED)}


def targets_unwell_by_mode() -> list[tuple[str, str, int]]:
    """(mode, state, targets) of the targets not healthy (the gauge)."""
    return list(
        TargetHealth.objects.exclude(state=TargetHealth.State.HEALTHY)
        .values_list("mode", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
