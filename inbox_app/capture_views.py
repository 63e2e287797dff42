"""The capture route ``/inbox/<token>/<any path>`` (SPEC §15): any method, no key, no CSRF.

Outside ``/v1``: no API authentication, and neither the API's body-size limit
nor Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies (the body is read from
the stream, bounded, by ``capture.body_read``; ``request.POST`` is never
touched). An unknown or expired token is a 404; a request over the inbox's
``INBOX_CAPTURE_RATE`` is a 429 with ``Retry-After``, not captured; otherwise the answer is
the inbox's script (``answers``), which alone may make it a 5xx.

Every answer, the 404 included, is inert (SPEC §8 "Content"): the script's headers pass
``answers.allowed_headers`` again here (a script stored before the allow-list may hold any),
its body goes out as JSON, text or XML, never HTML, with
``scalehooks.usercontent.INERT_HEADERS``, and no cookie is ever set.
"""

import threading
import time
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from inbox_app.answers import allowed_headers
from inbox_app.capture import Incoming, body_read, inbox_by_token, request_capture, request_headers
from scalehooks import access, json_input
from scalehooks.limits import rate_wait
from scalehooks.usercontent import INERT_HEADERS


def _incoming(request, *, path: str) -> Incoming:
    body, size = body_read(request, limit=settings.INBOX_MAX_BODY_BYTES)
    return Incoming(
        method=request.method or "",
        path=path or "/",
        query=request.META.get("QUERY_STRING", ""),
        headers=request_headers(request.META),
        body=body,
        body_size=size,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        received_at=timezone.now(),
    )


CAPTURE_WHY = "an inbox's URL: its 128-bit token is the secret; answers are inert (SPEC §8 Content)"
MAX_QUERY_FIELDS = 100


def _query(request) -> dict[str, str]:
    """The query's fields (the first value of each), parsed here rather than by
    ``request.GET``, whose limit on the number of fields is a 400: a request with too
    many fields is still captured, with no override."""
    try:
        pairs = parse_qsl(
            request.META.get("QUERY_STRING", ""), keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS
        )
    except ValueError:
        return {}
    query = {}
    for name, value in pairs:
        query.setdefault(name, value)
    return query


def _content_type(body: str) -> str:
    try:
        json_input.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


# Delayed answers in progress in this process. A delay sleeps in a web thread, and an inbox's
# URL is public: without a cap, requests to a delaying inbox could hold every web worker and
# with them every account's API. Beyond INBOX_MAX_DELAYED_ANSWERS the answer goes at once.
_delayed = 0
_delayed_lock = threading.Lock()


def _delayed_answer(delay_s: float) -> bool:
    """Wait ``delay_s`` if a delayed-answer place is free (True), else at once (False)."""
    global _delayed
    with _delayed_lock:
        if _delayed >= settings.INBOX_MAX_DELAYED_ANSWERS:
            return False
        _delayed += 1
    try:
        time.sleep(delay_s)
    finally:
        with _delayed_lock:
            _delayed -= 1
    return True


@access.route_policy(access.public(CAPTURE_WHY))
@csrf_exempt
def inbox_capture(request, token: str, rest: str | None = None):
    """Capture the request, wait the scripted delay, answer as scripted."""
    inbox = inbox_by_token(token)
    if inbox is None:
        return _inert(
            JsonResponse({"status_code": 404, "error": "No such inbox, or it has expired."}, status=404)
        )
    if (wait := rate_wait(f"inbox:{inbox.pk}", rate=settings.INBOX_CAPTURE_RATE)) is not None:
        return _too_many(wait)
    captured, answer = request_capture(
        inbox=inbox, incoming=_incoming(request, path=rest), query=_query(request)
    )
    delay_skipped = answer.delay_s > 0 and not _delayed_answer(answer.delay_s)
    headers = allowed_headers(answer.headers)
    content_type = next((v for n, v in headers.items() if n.lower() == "content-type"), None)
    response = HttpResponse(
        answer.body, status=answer.status, content_type=content_type or _content_type(answer.body)
    )
    if delay_skipped:
        response["X-Inbox-Delay"] = "skipped: too many delayed answers at once"
    for name, value in headers.items():
        if name.lower() != "content-type":
            response[name] = value
    response["X-Inbox-Request"] = str(captured.id)
    return _inert(response)


def _too_many(wait: int) -> HttpResponse:
    """The answer over the inbox's rate: a 429 (never a 5xx), the request not captured."""
    rate = settings.INBOX_CAPTURE_RATE
    response = JsonResponse(
        {
            "status_code": 429,
            "error": f"This inbox captures at most {rate} requests (INBOX_CAPTURE_RATE): this one was "
            f"not captured. Try again in {wait} s.",
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    return _inert(response)


def _inert(response: HttpResponse) -> HttpResponse:
    """``response`` with ``INERT_HEADERS`` and without any cookie."""
    for name, value in INERT_HEADERS.items():
        response[name] = value
    response.cookies.clear()
    return response
