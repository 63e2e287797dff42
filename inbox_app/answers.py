"""What an inbox answers (SPEC §15): its script, or the request's own query. A pure function.

Order: the query of the captured request (``?status=503&delay=2&body=…&retry_after=…``)
overrides everything; else the first ``fail_count`` requests since the script
was set get ``fail_status``; else a random ``failure_rate`` of them do; else the
default answer. A delay is capped at ``CALLBACK_TIMEOUT``: an inbox holds a
sender no longer than the sender would wait. Nothing here answers a 5xx
unless a script or a query asks for it.

An answer is never active content on the service's origin (SPEC §8 "Content"): it carries
only the headers ``header_refusal`` allows (``Retry-After``, ``Cache-Control``, ``X-*``
but for those the service or a proxy acts on, and a ``Content-Type`` of JSON, text or
XML), always ``scalehooks.usercontent.INERT_HEADERS`` (``nosniff``, a sandbox CSP), and
no cookie. A scripted 3xx stays a 3xx, but with no ``Location`` it redirects nowhere. The rule is checked when a script is set
(``inbox_app.services``) and again at every answer, for scripts stored before it.
"""

import random
import re
from dataclasses import asdict, dataclass, field

MIN_STATUS, MAX_STATUS = 200, 599
MAX_QUERY_BODY = 4096
MAX_HEADER_VALUE = 1024

ALLOWED_HEADERS = {"retry-after", "cache-control", "content-type"}
# X-* headers a script may not set: those the capture route writes, those that weaken
# the inert headers, and the directives a front server (nginx, Apache, lighttpd) acts on.
RESERVED_X_PREFIXES = (
    "x-inbox-",
    "x-content-type-options",
    "x-frame-options",
    "x-accel-",
    "x-sendfile",
    "x-lighttpd-send-file",
)
ALLOWED_CONTENT_TYPES = {
    "application/json",
    "application/problem+json",
    "text/plain",
    "application/xml",
    "text/xml",
    "application/problem+xml",
}
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_CONTENT_TYPE = re.compile(r"\s*([A-Za-z0-9.+/-]+)\s*(?:;\s*charset=\"?[A-Za-z0-9._-]{1,40}\"?\s*)?")
ALLOWED_SAID = "only Retry-After, Cache-Control, X-* and a Content-Type of JSON, text or XML"


def header_refusal(name, value) -> str | None:
    """Why an inbox's answer may not carry the header ``name: value``, or None when it may."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        return f"Not a header name a script may set: {name!r}."
    lower = name.lower()
    if lower.startswith("x-"):
        if lower.startswith(RESERVED_X_PREFIXES):
            return f"Not a header name a script may set: {name!r} (the service or a proxy acts on it)."
    elif lower not in ALLOWED_HEADERS:
        return f"Not a header name a script may set: {name!r} ({ALLOWED_SAID})."
    if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE or any(c in value for c in "\r\n\0"):
        return f"The value of {name} must be one line of text (at most {MAX_HEADER_VALUE} characters)."
    if lower == "content-type":
        match = _CONTENT_TYPE.fullmatch(value)
        if match is None or match.group(1).lower() not in ALLOWED_CONTENT_TYPES:
            return (
                f"Not a Content-Type a script may set: {value!r} (JSON, text or XML: "
                f"{', '.join(sorted(ALLOWED_CONTENT_TYPES))}; a charset at most)."
            )
    return None


def allowed_headers(headers) -> dict[str, str]:
    """The headers of ``headers`` (a script's, maybe stored before the rule) an answer may carry."""
    if not isinstance(headers, dict):
        return {}
    return {name: value for name, value in headers.items() if header_refusal(name, value) is None}


@dataclass(frozen=True)
class Answer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    rule: str = "default"  # what decided it: default | sequence | failure_rate | query

    def as_dict(self) -> dict:
        return asdict(self)


def _status(value) -> int | None:
    try:
        status = int(value)
    except (TypeError, ValueError):
        return None
    return status if MIN_STATUS <= status <= MAX_STATUS else None


def _delay(value) -> float | None:
    try:
        delay = float(value)
    except (TypeError, ValueError):
        return None
    return delay if delay >= 0 else None  # NaN compares False: refused too


def answer_for(*, inbox, position: int, query, max_delay: float, rng=random.random) -> Answer:
    """The answer to the request at ``position`` (1 for the first since the script was set)
    of ``inbox``, whose query is ``query`` (a QueryDict or dict of str)."""
    delay = inbox.answer_delay_s
    headers = allowed_headers(inbox.answer_headers)
    if position <= inbox.fail_count:
        answer = Answer(inbox.fail_status, headers=headers, rule="sequence")
    elif inbox.failure_rate > 0 and rng() < inbox.failure_rate:
        answer = Answer(inbox.fail_status, headers=headers, rule="failure_rate")
    else:
        answer = Answer(inbox.answer_status, inbox.answer_body, headers)
    status, query_delay = _status(query.get("status")), _delay(query.get("delay"))
    body, retry_after = query.get("body"), query.get("retry_after")
    if status is not None or query_delay is not None or body is not None or retry_after is not None:
        if retry_after is not None and retry_after.isdigit() and len(retry_after) <= 10:
            headers["Retry-After"] = retry_after
        answer = Answer(
            status or answer.status,
            answer.body if body is None else body[:MAX_QUERY_BODY],
            headers,
            rule="query",
        )
        delay = delay if query_delay is None else query_delay
    return Answer(answer.status, answer.body, answer.headers, min(delay, max_delay), answer.rule)
