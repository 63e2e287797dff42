"""The callback dashboard inside the admin: are callbacks flowing, what failed, what is due.

Served by ``scalehooks.admin.ScaleHooksAdminSite`` at ``/admin/dashboard/``.
The figures come from ``callbacks_app.figures``, ``selectors`` and ``durations`` (one
aggregate query each): every rate says what it counts, beside the failures it leaves out.
The chart of attempts, succeeded and failed, is drawn here as inline SVG so the page needs
nothing from outside.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from callbacks_app import durations, figures, health_selectors, selectors
from callbacks_app.models import Delivery


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    span: timedelta
    bucket_seconds: int  # width of one bar of the chart
    bucket_label: str


WINDOWS = {
    window.key: window
    for window in (
        Window("1h", "1 hour", timedelta(hours=1), 300, "per 5 minutes"),
        Window("24h", "24 hours", timedelta(hours=24), 3600, "per hour"),
        Window("7d", "7 days", timedelta(days=7), 3600, "per hour"),
    )
}
DEFAULT_WINDOW = "24h"

CHART_WIDTH, CHART_HEIGHT = 840, 220
CHART_LEFT, CHART_BOTTOM, CHART_TOP = 48, 24, 10


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y_succeeded: float
    h_succeeded: float
    y_failed: float
    h_failed: float
    title: str


def chart(buckets: list[selectors.Bucket], *, window: Window) -> dict:
    """Stacked bars (succeeded below, failed above) and axis labels, in SVG user units."""
    plot_w = CHART_WIDTH - CHART_LEFT - 8
    plot_h = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    top = max((b.succeeded + b.failed for b in buckets), default=0) or 1
    slot = plot_w / max(len(buckets), 1)
    bars, labels = [], []
    every = max(1, len(buckets) // 8)
    for i, bucket in enumerate(buckets):
        h_ok = plot_h * bucket.succeeded / top
        h_failed = plot_h * bucket.failed / top
        x = CHART_LEFT + i * slot
        base = CHART_TOP + plot_h
        bars.append(
            Bar(
                x=round(x + slot * 0.1, 2),
                width=round(max(slot * 0.8, 1), 2),
                y_succeeded=round(base - h_ok, 2),
                h_succeeded=round(h_ok, 2),
                y_failed=round(base - h_ok - h_failed, 2),
                h_failed=round(h_failed, 2),
                title=f"{bucket.start:%Y-%m-%d %H:%M:%S} UTC: {bucket.succeeded} attempts succeeded, "
                f"{bucket.failed} failed",
            )
        )
        if i % every == 0:
            fmt = "%H:%M" if window.span <= timedelta(days=1) else "%d %b %H:%M"
            labels.append({"x": round(x + slot / 2, 2), "text": bucket.start.strftime(fmt)})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "top": CHART_TOP,
        "base": CHART_TOP + plot_h,
        "right": CHART_WIDTH - 8,
        "label_y": CHART_HEIGHT - 6,
        "max": top,
        "bars": bars,
        "labels": labels,
        "succeeded": sum(b.succeeded for b in buckets),
        "failed": sum(b.failed for b in buckets),
    }


def dashboard_view(request, *, site):
    if not request.user.has_perm("callbacks_app.view_delivery"):
        raise PermissionDenied
    window = WINDOWS.get(request.GET.get("window", DEFAULT_WINDOW), WINDOWS[DEFAULT_WINDOW])
    now = timezone.now()
    since = now - window.span
    pending = selectors.pending_retries(now=now, since=since)
    deliveries = figures.delivery_figures(since=since, pending=pending)
    buckets = selectors.attempts_per_bucket(since=since, until=now, seconds=window.bucket_seconds)
    changelist = reverse(f"{site.name}:callbacks_app_delivery_changelist")
    last_error = figures.last_error(since=since)
    context = {
        **site.each_context(request),
        "title": "Callback dashboard",
        "window": window,
        "windows": WINDOWS.values(),
        "now": now,
        "since": since,
        "deliveries": deliveries,
        "outcomes": [
            {"status": status, "label": label, "count": getattr(deliveries, status)}
            for status, label in Delivery.Status.choices
        ],
        "total": deliveries.total,
        "attempts": figures.attempt_figures(since=since),
        "last_error": last_error,
        "last_error_url": last_error
        and reverse(f"{site.name}:callbacks_app_delivery_change", args=[quote(last_error.delivery_id)]),
        "latency": durations.attempt_latency(since=since),
        "pending": pending,
        "overdue_after": int(selectors.OVERDUE_AFTER.total_seconds()),
        "worst_targets": selectors.worst_targets(since=since),
        "chart": chart(buckets, window=window),
        "deliveries_url": changelist,
        "failed_url": reverse(f"{site.name}:callbacks_app_faileddelivery_changelist"),
        "targets_unwell": health_selectors.targets_unwell_count(),  # the banner (SPEC §16)
        "targets_url": reverse(f"{site.name}:callbacks_app_targethealth_changelist"),
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/callbacks_app/dashboard.html", context)
