from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.9512 → "95.1 %"."""
    return f"{value * 100:.1f} %"
