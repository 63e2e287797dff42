"""JSON from outside the service, parsed with the same limits wherever it enters (SPEC §8
"Input"): the API's parser (``scalehooks.api.parsers``), an inbox's captured body and
scripted answer, the cursors of the task list and the portal, the admin's JSON fields.

- Nesting: at most ``MAX_JSON_DEPTH`` levels of objects and lists. Python's ``json`` raises
  ``RecursionError``, not a ``ValueError``, around 1,000 levels (sooner in a deep call stack),
  which an ``except ValueError`` lets through as a 500: here any document nested deeper than
  the limit, parsable or not, is a ``JSONInputError``, a ``ValueError``.
- Storable (``check(data, storable=True)``, for what is stored): no NUL character
  (PostgreSQL cannot store one in text or jsonb) and no lone UTF-16 surrogate (``"\\ud800"``
  is valid JSON but not Unicode: it can be neither stored nor encoded back to UTF-8), in keys
  and values alike; and finite numbers (``1e999`` is valid JSON that Python reads as
  infinity, which no database stores as JSON). So the same body gets the same answer on every
  database.
"""

import json
import math
import re

from django import forms
from django.forms.fields import InvalidJSONInput

MAX_JSON_DEPTH = 64
NESTED = f"nested deeper than {MAX_JSON_DEPTH} levels."
_FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff]")


class JSONInputError(ValueError):
    """JSON this service does not take: too deep, or (for storing) text or numbers it cannot store."""


def check(data, *, storable: bool = True) -> None:
    """Refuse ``data`` (parsed JSON) nested deeper than ``MAX_JSON_DEPTH``, and, when
    ``storable``, holding a NUL, a lone surrogate or a number that is not finite. Iterative:
    no recursion however deep ``data`` is."""
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if storable and _FORBIDDEN_TEXT.search(item):
                raise JSONInputError(
                    "strings must not contain NUL (\\u0000) or lone surrogates (\\ud800-\\udfff)."
                )
            continue
        if storable and isinstance(item, float) and not math.isfinite(item):
            raise JSONInputError("numbers must be finite (1e999 is out of range).")
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise JSONInputError(NESTED)
        stack.extend((child, depth + 1) for child in children)


def loads(text: str | bytes, **kwargs):
    """``json.loads(text, **kwargs)``, and a ``JSONInputError`` (a ``ValueError``) for a document
    nested deeper than ``MAX_JSON_DEPTH``."""
    try:
        data = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONInputError(NESTED) from None
    check(data, storable=False)
    return data


class JSONFormField(forms.JSONField):
    """Django's ``JSONField`` form field with the limits of this module (storable): Django's
    own lets ``RecursionError`` through, when cleaning and when showing the form again."""

    def to_python(self, value):
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(f"The JSON is {NESTED}", code="invalid") from None
        try:
            check(converted)
        except JSONInputError as exc:
            raise forms.ValidationError(f"The JSON is not accepted: {exc}", code="invalid") from None
        return converted

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)
