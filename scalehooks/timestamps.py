"""The one way the project writes a point in time: ISO 8601 UTC with milliseconds and ``Z``."""

from datetime import UTC, datetime


def format_timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2016-06-23T21:54:44.904Z``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
