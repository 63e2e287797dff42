"""Checks of the structures Scale documents inside a task's params (issue 27).

A check is a function ``(value, path) -> value``: it returns the value as stored
(numbers given as numeric strings become numbers, as at the top level) or raises
a ``ValidationError`` whose message starts with the path of the faulty part, e.g.
``fields[0].choices[1].value: Must be a string, a number or true/false.``; the
error is reported under the parameter's name (``details.fields``).

``obj`` refuses keys Scale does not document (``strict``, the default) or keeps
them as given where Scale's reference leaves the object open. Nesting is bounded
(``MAX_DEPTH`` levels of recursive structures such as nested label choices) and so
are lists (``max_items``): a structure too deep or too long is a 400, never a 500.
"""

from collections.abc import Callable

from rest_framework import serializers

Check = Callable[[object, str], object]

MAX_DEPTH = 16
MAX_ITEMS = 1_000
MAX_TEXT = 100_000


def invalid(path: str, message: str):
    raise serializers.ValidationError(f"{path}: {message}" if path else message)


def key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def item_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def string(*, max_length: int = 10_000, blank: bool = True) -> Check:
    def check(value, path):
        if not isinstance(value, str):
            invalid(path, "Must be a string.")
        if not blank and not value.strip():
            invalid(path, "Must not be empty.")
        if len(value) > max_length:
            invalid(path, f"At most {max_length} characters.")
        return value

    return check


def boolean() -> Check:
    def check(value, path):
        if not isinstance(value, bool):
            invalid(path, "Must be true or false.")
        return value

    return check


def number(*, integer: bool = False, minimum=None, maximum=None) -> Check:
    """A JSON number, or a numeric string as Scale takes it (never a boolean)."""

    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            invalid(path, "Must be a number.")
        if isinstance(value, str):
            try:
                parsed = float(value.strip())
            except ValueError:
                invalid(path, "Must be a number.")
            value = int(parsed) if parsed.is_integer() else parsed
        if value != value or value in (float("inf"), float("-inf")):
            invalid(path, "Must be a finite number.")
        if integer:
            if not float(value).is_integer():
                invalid(path, "Must be a whole number.")
            value = int(value)
        if minimum is not None and value < minimum:
            invalid(path, f"Must be at least {minimum}.")
        if maximum is not None and value > maximum:
            invalid(path, f"Must be at most {maximum}.")
        return value

    return check


def one_of(*choices) -> Check:
    def check(value, path):
        if isinstance(value, bool) or value not in choices:
            invalid(path, f"Must be one of {', '.join(map(str, choices))}.")
        return value

    return check


def url(*, max_length: int = 2_048) -> Check:
    """An http(s) URL (where it may point is checked when the task is created)."""
    field = serializers.URLField(max_length=max_length)

    def check(value, path):
        if not isinstance(value, str):
            invalid(path, "Must be a URL.")
        try:
            field.run_validation(value)
        except serializers.ValidationError:
            invalid(path, "Must be an http(s) URL.")
        return value

    return check


def any_json() -> Check:
    return lambda value, path: value


def list_of(item: Check, *, min_items: int = 0, max_items: int = MAX_ITEMS) -> Check:
    def check(value, path):
        if not isinstance(value, list):
            invalid(path, "Must be a list.")
        if len(value) < min_items:
            invalid(path, f"At least {min_items} {'entry' if min_items == 1 else 'entries'}.")
        if len(value) > max_items:
            invalid(path, f"At most {max_items} entries.")
        return [item(entry, item_path(path, i)) for i, entry in enumerate(value)]

    return check


def mapping(value_check: Check, *, min_items: int = 0, max_items: int = MAX_ITEMS) -> Check:
    """An object with keys of the customer's choosing, each value checked."""

    def check(value, path):
        if not isinstance(value, dict):
            invalid(path, "Must be an object.")
        if len(value) < min_items:
            invalid(path, f"At least {min_items} {'key' if min_items == 1 else 'keys'}.")
        if len(value) > max_items:
            invalid(path, f"At most {max_items} keys.")
        return {key: value_check(entry, key_path(path, key)) for key, entry in value.items()}

    return check


def obj(fields: dict[str, Check], *, required=(), strict: bool = True, then=None) -> Check:
    """An object with the keys of ``fields``; ``then(value, path)`` checks it as a whole."""

    def check(value, path):
        if not isinstance(value, dict):
            invalid(path, "Must be an object.")
        missing = [key for key in required if key not in value]
        if missing:
            invalid(path, f"Missing {', '.join(missing)}.")
        if strict:
            unknown = sorted(set(value) - set(fields))
            if unknown:
                invalid(key_path(path, unknown[0]), "Unknown field.")
        checked = dict(value)
        for key, field_check in fields.items():
            if key in value:
                checked[key] = field_check(value[key], key_path(path, key))
        return then(checked, path) if then else checked

    return check


def either(*checks: Check, message: str) -> Check:
    """The first of ``checks`` the value passes; ``message`` when it passes none."""

    def check(value, path):
        for candidate in checks:
            try:
                return candidate(value, path)
            except serializers.ValidationError:
                continue
        invalid(path, message)

    return check


def too_deep(path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        invalid(path, f"Nested deeper than {MAX_DEPTH} levels.")


class Shaped(serializers.Field):
    """A param checked by ``check``; its errors are reported under the param's name."""

    def __init__(self, check: Check, **kwargs):
        self.check = check
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return self.check(data, self.field_name)

    def to_representation(self, value):
        return value
