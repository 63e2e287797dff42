"""Which network addresses outgoing requests may reach (SPEC §8).

One policy for every outgoing request (callbacks, attachment downloads) and
for the validation of callback targets at save time. Operators open networks
to every account (``CALLBACK_ALLOWED_NETWORKS``, for single-tenant installs)
or to one account (``Profile.allowed_networks``, passed as ``account_networks``).
One exception needs no setting: this service's own callback inboxes
(``is_own_inbox_url``, SPEC §15), reached at ``PUBLIC_BASE_URL``.
"""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


def literal_address(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name literally denotes, in any form a resolver accepts
    (``127.0.0.1``, ``::1``, ``2130706433``, ``0x7f000001``, ``0177.1``), or
    ``localhost`` and its subdomains (always loopback, RFC 6761); else None."""
    host = hostname.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def allowed_networks():
    """The networks an operator opened with ``CALLBACK_ALLOWED_NETWORKS`` (read at call time)."""
    return networks_parse(settings.CALLBACK_ALLOWED_NETWORKS)


def networks_parse(cidrs) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """CIDR strings (or networks) as networks, host bits ignored; ValueError on a bad one."""
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


# IPv6 ranges whose last 32 bits are an IPv4 address that a host may reach over IPv4:
# IPv4-compatible (::a.b.c.d, RFC 4291, deprecated: a tunnel may still route it) and
# IPv4-translated (::ffff:0:a.b.c.d, RFC 2765). IPv4-mapped (::ffff:a.b.c.d) is
# ``ipv4_mapped``. ``::`` and ``::1`` are IPv6's own unspecified and loopback addresses.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV6_OWN = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, translated, compatible), else None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _IPV6_OWN:
        return None
    if address in _IPV4_COMPATIBLE or address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_forbidden_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, account_networks=()
) -> bool:
    """True for loopback, private, link-local (cloud metadata included), CGNAT,
    multicast, reserved, site-local and unspecified addresses, IPv4 and IPv6 (an
    IPv6 address embedding an IPv4 one, ``::ffff:a.b.c.d``, ``::ffff:0:a.b.c.d``
    or ``::a.b.c.d``, judged as that IPv4 address), unless an operator allowed
    them through ``CALLBACK_ALLOWED_NETWORKS`` (every account) or
    ``account_networks`` (the CIDRs one account was allowed, ``Profile.allowed_networks``)."""
    if address.version == 6:
        address = embedded_ipv4(address) or address
    opened = [*allowed_networks(), *networks_parse(account_networks)]
    if any(address in net for net in opened if net.version == address.version):
        return False
    if not address.is_global or address.is_multicast or address.is_reserved:
        return True
    if address.version == 6 and address.is_site_local:  # fec0::/10, deprecated, still routable inside a site
        return True
    # Ranges Python calls global that reach private networks (6to4, NAT64, CGNAT
    # relays…), as maintained by requests-hardened.
    return any(address in net for net in EXTRA_BLOCKED_NET_RANGES if net.version == address.version)


INBOX_PREFIX = "/inbox/"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# The characters an inbox path may hold, unencoded: RFC 3986 unreserved and sub-delims, ":", "@", "/".
# No "%": an encoded byte could hide a dot segment or a slash from this check but not from the server.
_INBOX_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def _origin(parts) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def is_own_inbox_url(url: str) -> bool:
    """Whether ``url`` is one of this service's callback inboxes (SPEC §15): exactly the
    origin of ``PUBLIC_BASE_URL`` (scheme, host as written, port), no user info, and a
    path under its ``/inbox/`` with no dot segment, empty segment, backslash or
    percent-escape. Such a target is sent to even when that origin resolves to an
    address the policy forbids (loopback in development): the operator named it.

    A security boundary: ``/inbox/../admin/``, ``/inbox/%2e%2e/``, ``//``,
    ``http://127.0.0.1:8000@evil/``, another port or another loopback address are
    all not an inbox (tests/security/test_own_inbox_target.py)."""
    try:
        base = urlsplit(settings.PUBLIC_BASE_URL)
        parts = urlsplit(url)
        if "@" in parts.netloc or _origin(parts) != _origin(base) or not parts.hostname:
            return False
    except ValueError:
        return False
    prefix = base.path.rstrip("/") + INBOX_PREFIX
    path = parts.path
    if not path.startswith(prefix) or len(path) == len(prefix) or not _INBOX_PATH.fullmatch(path):
        return False
    segments = path.split("/")[1:]
    return all(segment not in (".", "..") for segment in segments) and "" not in segments[:-1]
