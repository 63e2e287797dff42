"""What a callback target is (SPEC §6.6): an http(s) URL, or an email address.

Which network addresses a target may reach is the project's outgoing policy
(``scalehooks.outgoing.policy``).
"""

import re
from urllib.parse import urlsplit

_EMAIL_RE = re.compile(r"^[^@\s/:]+@[^@\s/]+\.[^@\s/]+$")


def email_target(target: str) -> str | None:
    """The address when ``target`` is an email address or ``mailto:`` URL, else None."""
    address = target[len("mailto:") :] if target.lower().startswith("mailto:") else target
    return address if _EMAIL_RE.match(address) else None


ORIGIN_MAX_LENGTH = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}


def target_origin(target: str) -> str:
    """Where ``target`` is sent, as the per-origin caps and target health count it (SPEC §16).

    An URL's origin ``scheme://host:port`` (lower case, the default port
    written out), whatever its path, query or user info; an email address's
    domain. A target that does not parse is its own origin.
    """
    address = email_target(target)
    if address is not None:
        return address.rsplit("@", 1)[1].lower()[:ORIGIN_MAX_LENGTH]
    try:
        parts = urlsplit(target.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        return target.lower()[:ORIGIN_MAX_LENGTH]
    if not scheme or not host:
        return target.lower()[:ORIGIN_MAX_LENGTH]
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS.get(scheme, 0)}"[:ORIGIN_MAX_LENGTH]
