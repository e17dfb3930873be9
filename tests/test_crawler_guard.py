"""The address guard, stated case by case, and checked on the path a user runs: names resolving to
refused addresses never get a connect (the pretend internet fails the test if one is tried)."""

from __future__ import annotations

import ipaddress

import pytest

from crawlers.guard import Guard, address_allowed, refusal
from crawlers.http import Client, FetchConfig
from tests._public_net import public_net
from tests._sites import ok
from tests._sites import site as _site_fixture

site = _site_fixture

REFUSED = {
    "10.0.0.7": "private network",
    "172.16.5.4": "private network",
    "192.168.1.1": "private network",
    "127.0.0.1": "loopback",
    "::1": "loopback",
    "169.254.10.1": "link-local",
    "fe80::1": "link-local",
    "100.64.0.1": "shared address space",
    "100.127.255.254": "shared address space",
    "198.18.0.1": "benchmarking",
    "198.19.255.1": "benchmarking",
    "192.0.2.1": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "2001:db8::1": "documentation",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "224.0.0.1": "multicast",  # ipaddress calls it is_global: the guard does not
    "239.1.2.3": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "fc00::1": "private network",
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    # IPv4 inside IPv6: judged by the address inside
    "::ffff:10.0.0.1": "private network",
    "::ffff:127.0.0.1": "loopback",
    "2002:a00:1::": "private network (10.0.0.1 inside",  # 6to4
    "2002:a9fe:a9fe::1": "cloud metadata (169.254.169.254 inside",
    "64:ff9b::a00:1": "private network (10.0.0.1 inside",  # NAT64
    "64:ff9b::7f00:1": "loopback (127.0.0.1 inside",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo",
}
ALLOWED = ("93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2002:5db8:d70e::1", "64:ff9b::5db8:d70e")


@pytest.mark.parametrize("ip", sorted(REFUSED))
def test_refused_by_default_and_why(ip: str) -> None:
    reason = Guard().why_refused(ip)
    assert reason is not None and reason.startswith(REFUSED[ip]), (ip, reason)
    assert not address_allowed(ip)


@pytest.mark.parametrize("ip", ALLOWED)
def test_globally_routable_allowed(ip: str) -> None:
    assert address_allowed(ip), Guard().why_refused(ip)


def test_allow_network_and_metadata_by_exact_name_only() -> None:
    g = Guard(("10.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10", "fd00::/8"))
    assert g.permits("10.1.2.3") and g.permits("::ffff:10.1.2.3") and g.permits("169.254.1.1")
    assert not g.permits("192.168.1.1")
    for meta in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "2002:a9fe:a9fe::1"):
        assert g.why_refused(meta).startswith("cloud metadata"), meta
    named = Guard(("169.254.169.254/32",))
    assert named.permits("169.254.169.254") and not named.permits("169.254.169.253")
    assert refusal(ipaddress.ip_address("8.8.8.8")) is None


def test_bad_allow_network_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="--allow-network"):
        Guard(("10.0.0.0/33",))


def test_names_resolving_to_refused_addresses_never_connect(monkeypatch: pytest.MonkeyPatch, site) -> None:
    s = site({"/robots.txt": ok(b"User-agent: *\nAllow: /\n")})
    with public_net(monkeypatch) as net:
        for i, ip in enumerate(sorted(REFUSED)):
            net.alias(f"h{i}.evil.test", ip)
        # DNS rebinding / round robin: one public and one private answer is refused outright
        net.add("mixed.evil.test", "93.184.215.14", s.server.server_address)
        net.alias("mixed.evil.test", "10.0.0.9")
        client = Client(FetchConfig(retries=0))  # the default guard
        for i, ip in enumerate(sorted(REFUSED)):
            r = client.fetch(f"http://h{i}.evil.test/robots.txt")
            assert r.status is None and r.error.startswith("refused"), (ip, r.error)
            assert REFUSED[ip].split(" (")[0] in r.error, (ip, r.error)
        r = client.fetch("http://mixed.evil.test/robots.txt")
        assert r.status is None and "10.0.0.9" in r.error
        # literals too, and a redirect from a public site to a private one
        for url in ("http://10.0.0.7/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/"):
            assert client.fetch(url).error.startswith("refused"), url
        s.routes["/go"] = b"HTTP/1.1 302 Found\r\nLocation: http://192.168.0.1/x\r\nContent-Length: 0\r\n\r\n"
        net.add("public.test", "93.184.215.15", s.server.server_address)
        r = client.fetch("http://public.test/go")
        assert r.error.startswith("refused") and "192.168.0.1" in r.error
        assert r.chain == (("http://public.test/go", 302),)
        client.close()
        assert net.connects == [("93.184.215.15", 80)]  # the only connection made
