"""What a callback target is (SPEC §6.6): an http(s) URL, or an email address.

Which network addresses a target may reach is the project's outgoing policy
(``scalehooks.outgoing.policy``).

Email addresses are parsed strictly: ``local@domain`` and nothing else. No
display name (``"A" <a@b.c>``), quoted local part or comment, no control
character or whitespace (header injection), no IP literal (``a@[127.0.0.1]``,
which would reach an address the policy forbids), no ``%`` or ``!`` source
routing (``a%b@c.d`` relays through ``c.d``), ASCII only (IDN domains in their
``xn--`` form). The domain is DNS labels with a non-numeric top label.
"""

import re
from urllib.parse import urlsplit

MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 253

# RFC 5322 atext, less "!" and "%" (source routing), "/" and "?" (URL and mailto syntax).
_ATOM = r"[A-Za-z0-9#$&'*+\-=^_`{|}~]+"
_LOCAL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*", re.ASCII)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+{_TOP_LABEL}", re.ASCII)


def email_address_valid(address: str) -> bool:
    """Whether ``address`` is a plain ``local@domain`` address as defined above."""
    local, at, domain = address.rpartition("@")
    return bool(
        at
        and len(local) <= MAX_LOCAL_PART
        and len(domain) <= MAX_DOMAIN
        and _LOCAL_RE.fullmatch(local)
        and _DOMAIN_RE.fullmatch(domain)
    )


def email_target(target: str) -> str | None:
    """The address when ``target`` is an email address or ``mailto:`` URL, else None."""
    address = target[len("mailto:") :] if target.lower().startswith("mailto:") else target
    return address if email_address_valid(address) else None


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
