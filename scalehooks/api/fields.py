"""Fields of the API's serializers: strict JSON types, and the one timestamp field.

JSON bodies are strict: a string field takes only a JSON string, a boolean only
``true``/``false``, and a key the route does not know is a 400 (a typo must not
be silently ignored).
"""

from datetime import UTC, datetime, time

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from scalehooks.api.names import refuse_control_characters
from scalehooks.timestamps import format_timestamp


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would turn ``123`` into ``"123"``."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class NameField(StrictCharField):
    """A name a customer gives (a project's, a tag, a ``unique_id``…): a JSON string without
    control or format characters (``scalehooks.api.names.refuse_control_characters``)."""

    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", ()), refuse_control_characters]
        super().__init__(**kwargs)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only: DRF's BooleanField also takes ``"yes"``, ``1``..."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictInput(serializers.Serializer):
    """A JSON object body whose keys must all be fields of the serializer."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class TimestampField(serializers.Field):
    """A point in time.

    Out: ISO 8601 UTC with milliseconds and ``Z`` (``format_timestamp``), like
    every time of the API. In (a query): ISO 8601 (``2024-05-01T12:00:00.000Z``),
    the client's ``YYYY-MM-DD HH:MM:SS.mmmmmm`` or a date; without a zone it is UTC.
    """

    default_error_messages = {
        "invalid": "Not a date or ISO 8601 timestamp: {value!r}.",
        "range": "Out of range once in UTC (years 1 to 9999): {value!r}.",
    }

    def to_internal_value(self, value):
        text = str(value).strip()
        try:
            parsed = parse_datetime(text)
            day = parse_date(text) if parsed is None else None
        except ValueError:  # well formed, but not a real date
            self.fail("invalid", value=value)
        if parsed is None:
            if day is None:
                self.fail("invalid", value=value)
            parsed = datetime.combine(day, time.min)
        if timezone.is_naive(parsed):
            return timezone.make_aware(parsed, UTC)
        try:  # 0001-01-01T00:00:00+23:59 is a valid timestamp, but before year 1 in UTC
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("range", value=value)

    def to_representation(self, value):
        return format_timestamp(value)


class LenientNumberField(serializers.Field):
    """A JSON number, or a numeric string as Scale takes it (``"30"`` is 30); never a boolean.

    With ``integer``, the value must be whole (``"30"``, ``30.0`` → 30).
    """

    default_error_messages = {
        "invalid": "Must be a number.",
        "integer": "Must be a whole number.",
        "min_value": "Must be at least {min_value}.",
    }

    def __init__(self, *, integer: bool = False, min_value=None, **kwargs):
        self.integer = integer
        self.min_value = min_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            self.fail("invalid")
        try:
            number = float(data.strip()) if isinstance(data, str) else data
        except ValueError:
            self.fail("invalid")
        if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
            self.fail("invalid")
        if self.integer:
            if not float(number).is_integer():
                self.fail("integer")
            number = int(number)
        elif isinstance(number, float) and number.is_integer() and isinstance(data, str):
            number = int(number)
        if self.min_value is not None and number < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        return number

    def to_representation(self, value):
        return value
