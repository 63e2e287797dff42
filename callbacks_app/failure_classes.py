"""Why a callback attempt failed, in the words the alert emails use (SPEC §16: 4xx, 5xx, timeout,
connection, TLS): read from its HTTP status or, without one, from the transport's error text."""


class FailureClass:
    """Why an attempt failed, as the alert emails say it."""

    CLIENT = "4xx"
    SERVER = "5xx"
    REDIRECT = "3xx"
    TIMEOUT = "timeout"
    TLS = "tls"
    CONNECTION = "connection"
    REFUSED = "refused"  # the address guard refused the target, or an email was refused
    OTHER = "other"


def failure_class(*, status_code: int | None, error: str) -> str:
    """The class of a failed attempt from its HTTP status or, without one, its error text."""
    if status_code is not None:
        if status_code >= 500:
            return FailureClass.SERVER
        if status_code >= 400:
            return FailureClass.CLIENT
        if status_code >= 300:
            return FailureClass.REDIRECT
        if "Timed out" in error:
            return FailureClass.TIMEOUT  # the answer was cut off at the deadline
        return FailureClass.OTHER
    text = error.lower()
    if "timed out" in text or "timeout" in text:
        return FailureClass.TIMEOUT
    if "ssl" in text or "certificate" in text or "tls" in text:
        return FailureClass.TLS
    if text.startswith(("refused:", "email not accepted")):
        return FailureClass.REFUSED
    if "connection" in text or "connect" in text or "resolve" in text or "name or service" in text:
        return FailureClass.CONNECTION
    return FailureClass.OTHER
