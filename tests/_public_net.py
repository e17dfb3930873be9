"""A pretend public internet on loopback, so the crawler's default path runs in tests unchanged.

The guard is on and no network is allowed by configuration: the patched resolver answers public
addresses (e.g. 93.184.215.14) for test host names, `connect()` to such an address is routed to a
loopback server, and `getpeername()` maps back, so the guard checks the public address as it would
on the real web. Every other connect is refused and fails the test at teardown (the client turns
connection errors into evidence, so an exception alone could be swallowed). Names that are not
registered do not resolve, so no DNS query leaves the machine either.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest


@dataclass
class PublicNet:
    """Host names -> public addresses; (public address, port) -> a loopback (address, port)."""

    names: dict[str, list[str]] = field(default_factory=dict)
    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)  # every public (address, port) reached
    lookups: list[str] = field(default_factory=list)

    def add(self, name: str | None, public_ip: str, loopback: tuple[str, int], port: int = 80) -> str:
        """Serve `name` (if given) at `public_ip:port` from the loopback server; returns the origin."""
        if name:
            self.names.setdefault(name.lower(), []).append(public_ip)
        self.routes[(str(ipaddress.ip_address(public_ip)), port)] = loopback
        host = name or (f"[{public_ip}]" if ":" in public_ip else public_ip)
        return f"http://{host}" + ("" if port == 80 else f":{port}")

    def alias(self, name: str, ip: str) -> None:
        """Make `name` resolve to `ip` (any address: e.g. a private one, for rebinding tests)."""
        self.names.setdefault(name.lower(), []).append(ip)

    def check(self) -> None:
        assert not self.violations, "connections outside the pretend internet: " + "; ".join(self.violations)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0].strip("[]")))
    except ValueError:
        return None


@contextmanager
def public_net(monkeypatch: pytest.MonkeyPatch) -> Iterator[PublicNet]:
    net = PublicNet()
    real_getaddrinfo = socket.getaddrinfo
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getpeername = socket.socket.getpeername
    peers: weakref.WeakKeyDictionary[socket.socket, tuple] = weakref.WeakKeyDictionary()

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        net.lookups.append(name)
        ips = net.names.get(name.lower().rstrip("."))
        if ips is None:
            literal = _literal(name)
            if literal is None and name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, f"{name}: not a host of the pretend internet")
            return real_getaddrinfo(host, port, family, type, proto, flags)
        out = []
        for ip in ips:
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            if family in (0, socket.AF_UNSPEC, fam):
                addr = (ip, int(port or 0), 0, 0) if fam == socket.AF_INET6 else (ip, int(port or 0))
                out.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr))
        if not out:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: no address of that family")
        return out

    def routed(method):
        def patched(self, address):
            if isinstance(address, tuple) and len(address) >= 2:
                ip = _literal(str(address[0]))
                key = (ip, int(address[1])) if ip else None
                if key in net.routes:
                    net.connects.append(key)
                    target = net.routes[key]
                    if self.family != socket.AF_INET and ":" not in target[0]:
                        net.violations.append(f"{address}: an IPv6 socket routed to an IPv4 server")
                        raise OSError("pretend internet: address family mismatch")
                    result = method(self, target if self.family == socket.AF_INET else (target[0], target[1], 0, 0))
                    peers[self] = address
                    return result
            net.violations.append(repr(address))
            raise ConnectionRefusedError(f"pretend internet: {address!r} is not a test server")

        return patched

    def getpeername(self):
        return peers.get(self) or real_getpeername(self)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", routed(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", routed(connect_ex))
    monkeypatch.setattr(socket.socket, "getpeername", getpeername)
    yield net
    net.check()


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """`provenance ARGS` in this process (so the pretend internet applies), as a user runs it."""
    from scanner import cli

    monkeypatch.setattr(sys, "argv", ["provenance", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
