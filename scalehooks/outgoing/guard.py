"""The address guard of the outgoing HTTP session (SPEC §8): resolve, check, pin.

Modelled on requests-hardened's ``IPFilterAdapter``: the host name is
resolved once, every address it resolves to is checked against the one
policy in ``scalehooks.outgoing.policy``, and the connection is made to the very
address that was checked (the ``Host`` header and TLS SNI keep the name), so
a DNS answer that changes between the check and the connection (DNS
rebinding) cannot redirect a callback. requests-hardened itself can only
allow loopback; operators must be able to allow any CIDR
(``CALLBACK_ALLOWED_NETWORKS``, or one account's ``Profile.allowed_networks``),
hence this adapter.

A caller sending for one account opens that account's networks with
``reaching(account_networks)`` around the request; the ``Reach`` it yields
says afterwards what the request reached (the checked address, and whether
only the account's networks let it through: a private target, whose answer
only operators may see).
"""

import contextlib
import contextvars
import ipaddress
import logging
import socket
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from scalehooks.outgoing.deadline import POOL_CLASSES
from scalehooks.outgoing.policy import is_forbidden_address, is_own_inbox_url

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


class ForbiddenAddress(requests.RequestException):
    """The target may not be reached: its name resolves to an address outgoing requests may not
    reach, or to none (``address`` None).

    Its text says which, and names the address (for the operator's log). ``public_message``, what
    an account sees, says neither: a refusal never tells whether or how a name resolved (SPEC §8),
    else an account could map which internal names exist."""

    def __init__(self, hostname: str, address=None):
        self.hostname = hostname
        self.address = address
        if address is None:
            super().__init__(f"{hostname} does not resolve")
        else:
            super().__init__(f"{hostname} resolves to {address}, a forbidden address")

    @property
    def public_message(self) -> str:
        if self.address is not None and self.hostname.strip("[]") == str(self.address):
            return f"{self.hostname} is a forbidden address (private or reserved)"  # as the account wrote it
        return f"{self.hostname} does not resolve to an allowed address"


@dataclass
class Reach:
    """What one request may reach beyond the policy, and what it reached."""

    account_networks: tuple = ()  # CIDRs the account was allowed (Profile.allowed_networks)
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None  # the address connected to
    private: bool = False  # a forbidden address that only ``account_networks`` opened


_reach: contextvars.ContextVar[Reach | None] = contextvars.ContextVar("outgoing_reach", default=None)


@contextlib.contextmanager
def reaching(account_networks=()):
    """Requests made inside (on this thread) may also reach ``account_networks``; yields their ``Reach``."""
    reach = Reach(account_networks=tuple(account_networks))
    token = _reach.set(reach)
    try:
        yield reach
    finally:
        _reach.reset(token)


def resolve_checked(hostname: str, port: int, *, reach: Reach | None = None, own_inbox: bool = False):
    """The address to connect to for ``hostname``; refuses when any of its addresses is
    forbidden (``reach``: the account's networks are allowed too, and the outcome is noted),
    unless the request goes to one of this service's own inboxes (``own_inbox``,
    ``policy.is_own_inbox_url``: the origin of ``PUBLIC_BASE_URL``, which the operator named)."""
    reach = reach or Reach()
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        # Refused as a forbidden address is: the account is not told which it was (SPEC §8).
        logger.info(
            "Outgoing request refused: %s does not resolve (%s)",
            hostname,
            exc,
            extra={"hostname": hostname},
        )
        raise ForbiddenAddress(hostname) from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if own_inbox:
        reach.address = addresses[0]
        return reach.address
    for address in addresses:
        if is_forbidden_address(address, account_networks=reach.account_networks):
            logger.warning(
                "Outgoing request refused: %s resolves to %s, a forbidden address",
                hostname,
                address,
                extra={"hostname": hostname, "address": str(address)},
            )
            raise ForbiddenAddress(hostname, address)
    reach.address = addresses[0]
    reach.private = bool(reach.account_networks) and any(is_forbidden_address(a) for a in addresses)
    return reach.address


class GuardedHTTPAdapter(HTTPAdapter):
    """Connects to the checked address only, over connections that keep the request's deadline."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        hostname, port, scheme = host_params["host"], host_params["port"], host_params["scheme"]
        address = resolve_checked(
            hostname,
            port or DEFAULT_PORTS.get(scheme, 80),
            reach=_reach.get(),
            own_inbox=is_own_inbox_url(request.url),
        )

        request.headers = CaseInsensitiveDict(request.headers or {})
        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if port is not None:
            host_header += f":{port}"
        request.headers["Host"] = host_header
        if scheme == "https":
            # Verify the certificate against the name, not the pinned address.
            pool_kwargs["assert_hostname"] = hostname
            pool_kwargs["server_hostname"] = hostname
        host_params["host"] = str(address)
        return host_params, pool_kwargs
