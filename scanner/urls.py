"""URL facts every stage keys on: origin (robots.txt scope), host, registrable domain (PSL eTLD+1)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from scanner.errors import InvalidURL

_PSL = PublicSuffixList()  # the list shipped with the package: no network
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class UrlParts:
    origin: str  # scheme://host[:port], the scope of robots.txt (RFC 9309 §2.3)
    host: str
    registrable_domain: str


def registrable_domain(host: str) -> str:
    """eTLD+1 by the Public Suffix List; IP literals and bare suffixes stay as they are."""
    host = host.strip(".").lower()
    bare = host.strip("[]")
    if ":" in bare or bare.replace(".", "").isdigit():  # what an IP literal can be (a name: no try)
        try:
            ipaddress.ip_address(bare)
            return host
        except ValueError:
            pass
    return _PSL.privatesuffix(host) or host


@lru_cache(maxsize=65536)
def split_url(url: str) -> UrlParts | None:
    """None for URLs without an http(s) scheme and host: they have no origin to judge."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    shown = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{shown}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{shown}:{port}"
    return UrlParts(origin=origin, host=host, registrable_domain=registrable_domain(host))


def require_url(url: str, what: str = "", parse: Callable[[str], UrlParts | None] = split_url) -> UrlParts:
    """`parse(url)`, or InvalidURL naming `what` it was ("--url "): the one check every entry
    point makes before judging a URL."""
    parts = parse(url)
    if parts is None:
        raise InvalidURL(url, what)
    return parts


AUTHORITY = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")  # urlsplit's netloc ends at / ? #


# A lower-case http(s) authority of an ASCII host name alone (no user, port or oddity): what
# `split_url` would return for it is the authority itself as origin, its host and domain.
_PLAIN_AUTHORITY = re.compile(r"https?://([a-z0-9-]+(?:\.[a-z0-9-]+)*)").fullmatch


def origin_parts(url: str) -> UrlParts | None:
    """`split_url` of the URL's scheme and authority alone: the same origin and domain, for hooks
    that see many new URLs of a few origins (a plain authority without `urlsplit`)."""
    m = AUTHORITY.match(url)
    if m is None:
        return None
    authority = m.group(0)
    plain = _PLAIN_AUTHORITY(authority)
    if plain is not None:
        host = plain.group(1)
        return UrlParts(origin=authority, host=host, registrable_domain=registrable_domain(host))
    return split_url(authority + "/")
