"""The API's JSON parser: DRF's, plus the limits every body must meet before any view sees it.

- Nesting: at most ``MAX_JSON_DEPTH`` levels of objects and lists. Python's
  ``json`` raises ``RecursionError`` (not a ``ValueError``) around 1,000 levels,
  which DRF's parser lets through as a 500; here it is a 400.
- Text: no NUL character (PostgreSQL cannot store one in text or jsonb) and no
  lone UTF-16 surrogate (``"\\ud800"`` is valid JSON but not Unicode: it can be
  neither stored nor encoded back to UTF-8). Keys and values alike, on every
  database, so that the same body gets the same answer everywhere.
- Numbers: finite. ``1e999`` is valid JSON that Python reads as infinity, which
  no database stores as JSON (SQLite's JSON check fails, PostgreSQL refuses it).
"""

import math
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64

_FORBIDDEN_TEXT = re.compile("[\x00\ud800-\udfff]")


def _check(data) -> None:
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _FORBIDDEN_TEXT.search(item):
                raise ParseError(
                    "JSON parse error - strings must not contain NUL (\\u0000) or lone "
                    "surrogates (\\ud800-\\udfff)."
                )
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise ParseError("JSON parse error - numbers must be finite (1e999 is out of range).")
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        stack.extend((child, depth + 1) for child in children)


class ApiJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        _check(data)
        return data
