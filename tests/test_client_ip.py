"""k12cloud.client_ip: X-Forwarded-For is believed only from configured trusted proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from k12cloud.client_ip import client_address, client_ip

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def ip_of(remote: str, forwarded: str | None = None) -> str | None:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert ip_of("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_spoofed_header_from_an_untrusted_peer_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    # the peer is not a proxy of ours: whatever it claims is not believed
    assert ip_of("198.51.100.7", "203.0.113.9") == "198.51.100.7"
    assert ip_of("198.51.100.7", "10.1.2.3") == "198.51.100.7"


def test_trusted_proxy_forwards_the_client(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert ip_of("10.0.0.5", "203.0.113.9") == "203.0.113.9"


def test_chain_is_walked_right_to_left_past_trusted_hops(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    # client-supplied junk on the left, then the client, then two of our proxies
    forwarded = "192.0.2.66, 203.0.113.9, 10.2.0.1, 10.3.0.1"
    assert ip_of("10.0.0.5", forwarded) == "203.0.113.9"


def test_a_chain_of_only_trusted_hops_gives_the_left_most(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert ip_of("10.0.0.5", "10.9.9.9, 10.2.0.1") == "10.9.9.9"


def test_malformed_hop_stops_the_walk(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    # the right-most hop is garbage: stop at the last address we could trust (the proxy)
    assert ip_of("10.0.0.5", "203.0.113.9, not-an-ip") == "10.0.0.5"


def test_ipv6_client_and_ipv6_proxy(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert ip_of("2001:db8:ffff::1", "2001:db8:1::42") == "2001:db8:1::42"
    assert ip_of("2001:db8:1::42", "203.0.113.9") == "2001:db8:1::42"


def test_ipv4_mapped_ipv6_is_read_as_ipv4(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert ip_of("::ffff:198.51.100.7") == "198.51.100.7"
    # a mapped proxy address is still recognised as the trusted proxy
    assert ip_of("::ffff:10.0.0.5", "::ffff:203.0.113.9") == "203.0.113.9"


@pytest.mark.parametrize("remote", ["", "unknown"])
def test_no_usable_peer_address(settings, remote: str) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    assert ip_of(remote, "203.0.113.9") is None


def test_the_address_is_computed_once_per_request(settings) -> None:
    settings.TRUSTED_PROXIES = PROXIES
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    first = client_address(request)
    request.META["HTTP_X_FORWARDED_FOR"] = "192.0.2.1"
    assert client_address(request) is first
