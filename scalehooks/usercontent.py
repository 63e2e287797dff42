"""The user-content origin (SPEC §8 "Content"): where files customers upload or import are
served from, when the operator gives them one of their own (``USERCONTENT_BASE_URL``, as
GitHub serves its users' files from a domain of their own).

Served from the service's own origin, a file that a browser ran (an HTML page, an SVG with a
script) would act with the session of whoever opened it. Files are served as inert
attachments in any case (``nosniff``, ``Content-Security-Policy: sandbox``); with
``USERCONTENT_BASE_URL`` set they are also served from another origin, which holds no
session of the portal or the admin:

- ``attachment_url`` names that origin;
- that origin answers the file route (``FILES_CONTENT_PREFIX``) and ``/healthz`` only, every
  other path a 404 (``UserContentOriginMiddleware``), so no page of the service runs there;
- the main origin answers the file route with a redirect (302) to the same path on that
  origin, never with the file: links made before the setting keep working.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse

FILES_CONTENT_PREFIX = "/v1/files/content/"
# What every stored file is served with: a browser neither guesses another type than the one
# given nor runs anything the file holds (no script, no form, no plugin).
INERT_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
ANSWERED_THERE = ("/healthz",)
DEFAULT_PORTS = {"http": "80", "https": "443"}


def usercontent_base_url() -> str:
    """``USERCONTENT_BASE_URL`` without its trailing slash ("" when unset)."""
    return (settings.USERCONTENT_BASE_URL or "").rstrip("/")


def _host(scheme: str, netloc: str) -> str:
    """``host[:port]`` in lower case, without the scheme's default port."""
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return host if port is None or str(port) == DEFAULT_PORTS.get(scheme) else f"{host}:{port}"


def on_usercontent_origin(request) -> bool:
    """Whether ``request`` came to the user-content origin (always False when there is none)."""
    base = usercontent_base_url()
    if not base:
        return False
    parts = urlsplit(base)
    return _host(request.scheme, request.get_host()) == _host(parts.scheme, parts.netloc)


class UserContentOriginMiddleware:
    """On the user-content origin, a 404 for every path but the files' (and ``/healthz``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        answered = path.startswith(FILES_CONTENT_PREFIX) or path in ANSWERED_THERE
        if not answered and on_usercontent_origin(request):
            return JsonResponse({"status_code": 404, "error": "Not found."}, status=404)
        return self.get_response(request)
