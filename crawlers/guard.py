"""The address guard: which addresses the crawler may connect to, and why the others are refused.

Only globally routable addresses are allowed. An IPv6 address that carries an IPv4 address
(IPv4-mapped, 6to4, NAT64, Teredo) is judged by the address inside as well, so a wrapper cannot
smuggle a private address through. Networks a user names (`--allow-network CIDR`) are let through,
except the cloud metadata addresses, which need to be named exactly: an allowed 169.254.0.0/16
still never reaches 169.254.169.254.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import requests

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64 = ipaddress.ip_network("64:ff9b::/96")
SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT: inside some ISP
BENCHMARK = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544
DOCUMENTATION = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
# instance metadata services hand out credentials to whoever asks from inside the cloud
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))


class BlockedAddress(requests.ConnectionError):
    """The guard refused an address (see `refusal` for the reasons)."""


def parse_address(ip: str) -> Address:
    return ipaddress.ip_address(ip.split("%", 1)[0].strip("[]"))


def embedded(addr: Address) -> list[Address]:
    """The address itself and any IPv4 address an IPv6 form carries (mapped, 6to4, NAT64, Teredo)."""
    # mapped, 6to4 and NAT64 reach the IPv4 host inside: that host is what we judge (the prefixes
    # themselves are routable; ipaddress calls 64:ff9b::/96 "reserved" only because it sits in ::/8)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped:
            return [addr.ipv4_mapped]
        if addr.sixtofour:
            return [addr.sixtofour]
        if addr in NAT64:
            return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
        if addr.teredo:
            return [addr, *addr.teredo]  # (server, client); Teredo is refused in any case
    return [addr]


def refusal(addr: Address) -> str | None:
    """Why the address is not one we connect to by default, or None (globally routable)."""
    if addr in METADATA:
        return "cloud metadata"
    if addr.is_unspecified:
        return "unspecified address"
    if addr.is_loopback:
        return "loopback"
    if addr.is_multicast:
        return "multicast"
    if addr.is_link_local:
        return "link-local"
    if isinstance(addr, ipaddress.IPv4Address) and addr in SHARED:
        return "shared address space 100.64.0.0/10 (carrier-grade NAT)"
    if isinstance(addr, ipaddress.IPv4Address) and addr in BENCHMARK:
        return "benchmarking range 198.18.0.0/15"
    if any(addr in n for n in DOCUMENTATION if n.version == addr.version):
        return "documentation range"
    if isinstance(addr, ipaddress.IPv6Address) and addr.teredo:
        return "Teredo tunnel address"
    if addr.is_reserved:
        return "reserved range"
    if addr.is_private:
        return "private network"
    if not addr.is_global:
        return "not globally routable"
    return None


def address_allowed(ip: str) -> bool:
    """Is this address allowed under the default guard (no networks allowed)?"""
    return Guard().why_refused(ip) is None


class Guard:
    """Public addresses, plus networks a user explicitly allows; metadata addresses only by name."""

    def __init__(self, allow_networks: Iterable[str] = ()) -> None:
        try:
            self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        except ValueError as exc:
            raise ValueError(f"--allow-network: {exc}") from exc

    def _allowed_by_user(self, addr: Address) -> bool:
        for net in self.networks:
            if net.version != addr.version or addr not in net:
                continue
            if addr in METADATA and net.num_addresses != 1:
                continue  # a metadata address must be named exactly, never reached by a range
            return True
        return False

    def why_refused(self, ip: str) -> str | None:
        try:
            addr = parse_address(ip)
        except ValueError:
            return f"not an IP address: {ip!r}"
        if self._allowed_by_user(addr):
            return None
        for inner in embedded(addr):
            reason = refusal(inner)
            if reason and not self._allowed_by_user(inner):
                return reason if inner == addr else f"{reason} ({inner} inside {addr})"
        return None

    def permits(self, ip: str) -> bool:
        return self.why_refused(ip) is None

    def check(self, host: str, ip: str) -> None:
        reason = self.why_refused(ip)
        if reason:
            raise BlockedAddress(f"refused to connect to {host} ({ip}): {reason}")

    def resolve(self, host: str, port: int) -> str:
        """Resolve and check every address BEFORE any packet is sent; return the one to use."""
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise requests.ConnectionError(f"cannot resolve {host}: {exc}") from exc
        ips = list(dict.fromkeys(str(i[4][0]) for i in infos))
        if not ips:
            raise BlockedAddress(f"refused to connect to {host}: no address")
        for ip in ips:  # one bad address refuses the name: we do not pick the safe one and hope
            self.check(host, ip)
        return ips[0]
