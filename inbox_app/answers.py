"""What an inbox answers (SPEC §15): its script, or the request's own query. A pure function.

Order: the query of the captured request (``?status=503&delay=2&body=…&retry_after=…``)
overrides everything; else the first ``fail_count`` requests since the script
was set get ``fail_status``; else a random ``failure_rate`` of them do; else the
default answer. A delay is capped at ``CALLBACK_TIMEOUT``: an inbox holds a
sender no longer than the sender would wait. Nothing here answers a 5xx
unless a script or a query asks for it.
"""

import random
from dataclasses import asdict, dataclass, field

MIN_STATUS, MAX_STATUS = 200, 599
MAX_QUERY_BODY = 4096


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
    headers = dict(inbox.answer_headers or {})
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
