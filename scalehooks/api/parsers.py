"""The API's JSON parser: DRF's, plus the limits every body must meet before any view sees it
(``scalehooks.json_input``: nesting, text and numbers a database stores), each a 400."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from scalehooks.json_input import NESTED, JSONInputError, check


class ApiJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {NESTED}") from None
        try:
            check(data)
        except JSONInputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return data
