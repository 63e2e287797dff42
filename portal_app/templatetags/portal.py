"""Small filters of the portal's templates."""

from urllib.parse import parse_qsl, urlencode

from django import template
from django.utils.html import format_html

register = template.Library()

_MARKS = {"succeeded": ("ok", "✓ succeeded"), "failed": ("bad", "✗ failed")}


@register.filter
def status_mark(status: str):
    """A delivery's status, marked ✓ or ✗ when finished."""
    css, text = _MARKS.get(status, ("", status))
    return format_html('<span class="{}">{}</span>', css, text)


@register.filter
def cut_cursor(query: str) -> str:
    """The query string without its cursor: the first page of the same filters."""
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "cursor"])
