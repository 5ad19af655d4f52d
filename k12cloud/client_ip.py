"""The client's IP address, trusting X-Forwarded-For only from configured proxies.

`TRUSTED_PROXIES` lists the networks of the load balancers and reverse proxies in front of the
portal. When the direct peer (REMOTE_ADDR) is one of them, the client is the right-most address
in X-Forwarded-For that is not itself a trusted proxy; otherwise the header is ignored, since
anyone can send it.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_address(value: str) -> Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # an IPv4 client seen through an IPv6 socket
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(request: HttpRequest) -> Address | None:
    if hasattr(request, "_k12cloud_client_address"):
        cached: Address | None = request._k12cloud_client_address
        return cached
    address = parse_address(request.META.get("REMOTE_ADDR", ""))
    if address is not None and _is_trusted(address):
        hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        for hop in reversed(hops):
            candidate = parse_address(hop)
            if candidate is None:
                break  # a malformed hop: stop at the last address we could trust
            address = candidate
            if not _is_trusted(candidate):
                break
    request._k12cloud_client_address = address  # type: ignore[attr-defined]
    return address


def client_ip(request: HttpRequest) -> str | None:
    address = client_address(request)
    return None if address is None else str(address)
