"""Small filters of the portal's templates."""

from datetime import UTC
from urllib.parse import parse_qsl, urlencode

from django import template
from django.utils.html import format_html

from callbacks_app.figures import percent_text
from callbacks_app.selectors import delivery_state

register = template.Library()

_MARKS = {
    "succeeded": ("ok", "✓ succeeded"),
    "failed": ("bad", "✗ failed"),
    "not_sent": ("", "not sent (no target)"),
}


@register.filter
def status_mark(status: str):
    """A delivery's status, marked ✓ or ✗ when finished."""
    css, text = _MARKS.get(status, ("", status))
    return format_html('<span class="{}">{}</span>', css, text)


@register.filter
def cut_cursor(query: str) -> str:
    """The query string without its cursor: the first page of the same filters."""
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "cursor"])


@register.filter
def when(value):
    """A time as the portal shows it (SPEC §14): UTC with its seconds, in a ``<time>`` element to
    which the page's script (``portal/local-times.js``) adds the viewer's own zone; "—" for none."""
    if value is None:
        return "—"
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}">{} UTC</time>', f"{utc:%Y-%m-%dT%H:%M:%SZ}", f"{utc:%Y-%m-%d %H:%M:%S}"
    )


@register.filter
def percent(rate) -> str:
    """A rate as the dashboard writes it (never "100.0 %" while anything failed)."""
    return percent_text(rate)


@register.inclusion_tag("portal/_delivery_state.html")
def delivery_outcome(delivery):
    """A delivery's status in a list, with its failed attempts, last error (a private target's
    hidden) and next attempt when it failed or is retrying (SPEC §14)."""
    return {"delivery": delivery, "state": delivery_state(delivery, operator=False)}


@register.simple_tag
def retention_days() -> int:
    """How many days finished deliveries, and so the feed's events, are kept."""
    from django.conf import settings

    return settings.CALLBACK_RETENTION_DAYS
