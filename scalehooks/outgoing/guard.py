"""The address guard of the outgoing HTTP session (SPEC §8): resolve, check, pin.

Modelled on requests-hardened's ``IPFilterAdapter``: the host name is
resolved once, every address it resolves to is checked against the one
policy in ``scalehooks.outgoing.policy``, and the connection is made to the very
address that was checked (the ``Host`` header and TLS SNI keep the name), so
a DNS answer that changes between the check and the connection (DNS
rebinding) cannot redirect a callback. requests-hardened itself can only
allow loopback; operators must be able to allow any CIDR
(``CALLBACK_ALLOWED_NETWORKS``), hence this adapter.
"""

import ipaddress
import socket

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from scalehooks.outgoing.deadline import POOL_CLASSES
from scalehooks.outgoing.policy import is_forbidden_address

DEFAULT_PORTS = {"http": 80, "https": 443}


class ForbiddenAddress(requests.RequestException):
    """The target resolves to an address outgoing requests may not reach."""

    def __init__(self, hostname: str, address):
        self.hostname = hostname
        self.address = address
        super().__init__(f"{hostname} resolves to {address}, which callbacks may not reach")


def resolve_checked(hostname: str, port: int):
    """The address to connect to for ``hostname``; refuses when any of its addresses is forbidden."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise requests.ConnectionError(f"Could not resolve {hostname}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for address in addresses:
        if is_forbidden_address(address):
            raise ForbiddenAddress(hostname, address)
    return addresses[0]


class GuardedHTTPAdapter(HTTPAdapter):
    """Connects to the checked address only, over connections that keep the request's deadline."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        hostname, port, scheme = host_params["host"], host_params["port"], host_params["scheme"]
        address = resolve_checked(hostname, port or DEFAULT_PORTS.get(scheme, 80))

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
