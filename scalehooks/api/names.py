"""Names a customer gives: what a name may hold, and project and batch names in URLs.

What a name may hold (SPEC §8 "Input"): no character of Unicode categories Cc
(controls: CR, LF, ESC, DEL, …), Cf (format: bidi overrides and isolates,
zero-width characters, the byte order mark) or Zl / Zp (the line and paragraph
separators that ``str.splitlines`` breaks on). A name travels into email
subjects, log lines, admin and portal pages and file names, where such a
character breaks a header or disguises the text (``invoice\u202egnp.exe``).
``refuse_control_characters`` is the one validator of every name: project,
batch and inbox names, tags, ``unique_id``, a file's name, display name,
reference id and project names (API serializers, the inbox service that the
portal calls too). Metadata, instructions, comments and scripted answers are
data, kept as given.

Project and batch names in URLs (SPEC §12) are routed on the raw path, so that ``a%2Fb`` is one name.

The official client URL-quotes a name (``a/b`` → ``a%2Fb``), but WSGI decodes
``PATH_INFO``, which makes that slash a separator. ``RawNamePathMiddleware``
rebuilds the path of the ``/v1/projects/`` and ``/v1/batches/`` routes from the
undecoded path the server passes (gunicorn's ``RAW_URI``, uWSGI's
``REQUEST_URI``, ASGI's ``raw_path``), with each segment decoded and then
re-escaped (only ``%`` and ``/``); the ``name`` path converter decodes it back.
Without a raw path (Django's development server) a name with ``/`` cannot be
routed (a 404); every other name works the same.
"""

import unicodedata
from urllib.parse import quote, unquote, urlsplit

from django.core.exceptions import ValidationError
from django.urls import register_converter

# Unicode categories no name may hold: controls, format characters, line and paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def control_characters(value: str) -> list[str]:
    """The characters of ``value`` that no name may hold (``REFUSED_CATEGORIES``), in order."""
    return [char for char in value if unicodedata.category(char) in REFUSED_CATEGORIES]


def refuse_control_characters(value) -> None:
    """A name's validator (Django's and DRF's alike): ``ValidationError`` naming the first
    control or format character found, as a code point (the character itself would not show)."""
    if not isinstance(value, str):
        return
    found = control_characters(value)
    if found:
        raise ValidationError(
            "Must not contain control or format characters (found U+%(code)04X).",
            code="control_character",
            params={"code": ord(found[0])},
        )


def header_safe(text: str) -> str:
    """``text`` for one line of an email header or a log line: each character no name may hold
    replaced by U+FFFD (a name stored before the rule, or any other text put in a subject)."""
    return "".join("\ufffd" if unicodedata.category(c) in REFUSED_CATEGORIES else c for c in text)


ROUTED_PREFIXES = ("/v1/projects/", "/v1/batches/")


def escape_segment(segment: str) -> str:
    return segment.replace("%", "%25").replace("/", "%2F")


def raw_path(request) -> str | None:
    """The request's path as the client sent it (percent-encoded), or None if the server hides it."""
    scope = getattr(request, "scope", None)
    if scope and scope.get("raw_path"):
        return scope["raw_path"].decode("latin-1")
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not raw:
        return None
    return urlsplit(raw).path if "://" in raw[:10] else raw.split("?", 1)[0]


def routed_path_info(request) -> str:
    """``request.path_info`` with each segment escaped, split on the raw path's slashes when known."""
    raw = raw_path(request)
    script_name = request.META.get("SCRIPT_NAME", "")
    if raw is not None and script_name and raw.startswith(quote(script_name)):
        raw = raw[len(quote(script_name)) :]
    if raw is None or not raw.startswith(ROUTED_PREFIXES):
        segments = request.path_info.split("/")
    else:
        segments = [unquote(segment, errors="replace") for segment in raw.split("/")]
    return "/".join(escape_segment(segment) for segment in segments)


class RawNamePathMiddleware:
    """Route the name routes on the raw path (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(ROUTED_PREFIXES):
            request.path_info = routed_path_info(request)
        return self.get_response(request)


class NameConverter:
    """A project or batch name: one escaped path segment (``RawNamePathMiddleware``), decoded."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        return quote(value, safe="")


register_converter(NameConverter, "name")
