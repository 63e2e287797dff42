"""The API's JSON renderer: orjson, compact, UTF-8, as DRF's ``JSONRenderer`` renders.

What it takes beyond DRF's: ``orjson.Fragment``, JSON already serialized, which it puts in the
document as it is (a list page's JSON columns read from the database as text,
``tasks_app.representation.task_documents``: parsed and serialized again for nothing
otherwise). Like DRF's, it escapes U+2028 and U+2029 (JSON that is also JavaScript). A
value orjson refuses (an integer beyond 64 bits) is rendered by DRF's encoder instead.
"""

import json

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

OPTIONS = orjson.OPT_NON_STR_KEYS
_encoder = JSONEncoder()  # what orjson does not know (a Decimal, a lazy string...)


def _fallback_default(value):
    if isinstance(value, orjson.Fragment):
        return json.loads(value.contents)
    return _encoder.default(value)


class ApiJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type, renderer_context or {})
        options = OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
        try:
            rendered = orjson.dumps(data, default=_encoder.default, option=options)
        except orjson.JSONEncodeError:
            rendered = json.dumps(
                data, default=_fallback_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode()
        if b"\xe2\x80\xa8" in rendered or b"\xe2\x80\xa9" in rendered:
            rendered = rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return rendered
