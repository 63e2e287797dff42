"""What a callback target is, and which network addresses a callback may reach (SPEC §6.6, §8)."""

import ipaddress
import re

from django.conf import settings

_EMAIL_RE = re.compile(r"^[^@\s/:]+@[^@\s/]+\.[^@\s/]+$")


def email_target(target: str) -> str | None:
    """The address when ``target`` is an email address or ``mailto:`` URL, else None."""
    address = target[len("mailto:"):] if target.lower().startswith("mailto:") else target
    return address if _EMAIL_RE.match(address) else None


def allowed_networks():
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.CALLBACK_ALLOWED_NETWORKS]


def is_forbidden_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for loopback, private, link-local, CGNAT, multicast, reserved and
    unspecified addresses (IPv4-mapped IPv6 judged as IPv4), unless an operator
    allowed them through ``CALLBACK_ALLOWED_NETWORKS``."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in allowed_networks() if net.version == address.version):
        return False
    return not address.is_global or address.is_multicast
