"""Domain names for list 2.3.h: one canonical key per registrable domain.

`bücher.de` and `xn--bcher-kva.de` are one domain (IDNA A-label is the key, the Unicode form is
shown). Whether the Public Suffix List's private section counts (`foo.blogspot.com` its own domain,
or one `blogspot.com` for all) is a stated choice, not a library default.
"""

from __future__ import annotations

import ipaddress
from enum import Enum
from functools import lru_cache

from publicsuffixlist import PublicSuffixList


class SuffixSection(Enum):
    """Which part of the Public Suffix List defines registrable domains."""

    PRIVATE = "icann+private"  # blogspot.com is a suffix: foo.blogspot.com is its own domain
    ICANN = "icann"  # only ICANN suffixes: all of blogspot.com is one domain

    @property
    def description(self) -> str:
        if self is SuffixSection.PRIVATE:
            return "Public Suffix List, ICANN and private sections (foo.blogspot.com is its own domain)"
        return "Public Suffix List, ICANN section only (all of blogspot.com is one domain)"


@lru_cache(maxsize=2)
def _psl(section: SuffixSection) -> PublicSuffixList:
    return PublicSuffixList(only_icann=section is SuffixSection.ICANN)


def a_label(host: str) -> str:
    """The ASCII (punycode) form of a host name; unchanged when it cannot be encoded."""
    host = host.strip().strip(".").lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def u_label(host: str) -> str:
    """The Unicode form for display; unchanged when it is not valid punycode."""
    if "xn--" not in host:
        return host
    try:
        return host.encode("ascii").decode("idna")
    except UnicodeError:
        return host


def canonical_domain(host: str, section: SuffixSection = SuffixSection.PRIVATE) -> str:
    """The registrable domain (eTLD+1) of a host as an A-label; IP literals stay as they are."""
    host = a_label(host)
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    return _psl(section).privatesuffix(host) or host


def domain_sizes(rows: list[dict], section: SuffixSection) -> dict[str, int]:
    """Sum `size` per canonical domain over rows that carry a `host`."""
    out: dict[str, int] = {}
    for r in rows:
        key = canonical_domain(r["host"], section)
        out[key] = out.get(key, 0) + int(r["size"] or 0)
    return out


def shown(domain: str) -> str:
    """`bücher.de (xn--bcher-kva.de)` for an IDN, the name itself otherwise."""
    u = u_label(domain)
    return f"{u} ({domain})" if u != domain else domain
