from django import template

from callbacks_app.figures import percent_text

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.9512 → "95.1 %" (``figures.percent_text``: never "100.0 %" while anything failed)."""
    return percent_text(value)
