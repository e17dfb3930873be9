"""URL and rule normalisation (RFC 9309 §2.2.2, spec §3.4): the path+query string rules match,
percent-encoding read alike on both sides, and the Google dialect's escaping."""

from __future__ import annotations

import re
from functools import lru_cache

from tests.signals.robots_oracle.model import GOOGLE, RFC9309, Dialect

_PCT = tuple(f"%{b:02X}".encode() for b in range(256))  # octet -> its upper-case escape
_OCTET = tuple(bytes([b]) for b in range(256))
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_NEEDS_NORMALISING = re.compile(r'[%*$\x00-\x20"<>\\^`{|}\x7f-\U0010ffff]')
# A pattern's `*`s and final `$` stay as written: only the rest can change (most wildcard rules)
_PATTERN_NEEDS_NORMALISING = re.compile(r'[%\x00-\x20"<>\\^`{|}\x7f-\U0010ffff]|\$(?!\Z)')
# A well-formed escape (group 1: its hex digits), or an octet normalising may change (group 2):
# controls, space, non-ASCII, the octets RFC 3986 allows nowhere in a URI (percent-encoded on both
# sides before comparing), and the wildcards `*` and `$`.
_RFC_OCTETS = re.compile(rb'%([0-9A-Fa-f]{2})|([\x00-\x20\x80-\xff"<>\\^`{|}\x7f*$])')
_GOOGLE_OCTETS = re.compile(rb"%([0-9A-Fa-f]{2})|([\x80-\xff])")
_HTTP_URL = re.compile(r"https?://[^/?;#]*", re.IGNORECASE)


def normalise(text: str, *, is_pattern: bool, dialect: Dialect) -> str:
    """Percent-encoding normalisation applied alike to rules and URLs (spec §3.4).

    Non-UTF-8 input arrives with surrogate escapes, so each original octet ≥ 0x80 becomes its own
    `%XX`: distinct bytes stay distinct and no `errors="replace"` merges them. One regex walks the
    octets in C; Python runs only for the octets that change (a path of plain characters costs
    one search).
    """
    if not dialect.rfc_percent_encoding:
        return google_escape(text) if is_pattern else text
    if not (_PATTERN_NEEDS_NORMALISING if is_pattern else _NEEDS_NORMALISING).search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    last = len(raw) - 1

    def one(m: re.Match[bytes]) -> bytes:
        escape, other = m.group(1), m.group(2)
        if escape is not None:
            value = int(escape, 16)
            return _OCTET[value] if value in _UNRESERVED else _PCT[value]
        b = other[0]
        if b == 0x2A:
            return b"*" if is_pattern else b"%2A"  # a URL cannot inject wildcards
        if b == 0x24:
            return b"$" if is_pattern and m.start() == last else b"%24"  # `$` anchors only at a pattern's end
        return _PCT[b]

    return _RFC_OCTETS.sub(one, raw).decode("ascii")


def google_escape(pattern: str) -> str:
    """google/robotstxt MaybeEscapePattern: upper-case escapes, %-encode octets ≥ 0x80, no more."""
    if pattern.isascii() and "%" not in pattern:
        return pattern
    raw = pattern.encode("utf-8", "surrogateescape")
    return _GOOGLE_OCTETS.sub(_google_one, raw).decode("ascii")


def _google_one(m: re.Match[bytes]) -> bytes:
    escape = m.group(1)
    return b"%" + escape.upper() if escape is not None else _PCT[m.group(2)[0]]


def path_of(url: str) -> str:
    """The string robots.txt rules match: path + params + query, no scheme/host/fragment.

    Same reading as google/robotstxt GetPathParamsQuery: `/a` is a path, while `a/b` and
    `//a/b` start with an authority.
    """
    start = 2 if url.startswith("//") else 0
    early_path = _first_of(url, "/?;", start)
    protocol_end = url.find("://", start)
    if protocol_end < 0 or (early_path >= 0 and early_path < protocol_end):
        protocol_end = start
    else:
        protocol_end += 3
    path_start = _first_of(url, "/?;", protocol_end)
    if path_start < 0:
        return "/"
    hash_pos = url.find("#", start)
    if 0 <= hash_pos < path_start:
        return "/"
    path = url[path_start : hash_pos if hash_pos >= 0 else len(url)]
    return path if path[0] == "/" else "/" + path


def _first_of(text: str, chars: str, start: int) -> int:
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else -1


def is_plain_authority(prefix: str) -> bool:
    """Whether `prefix` (scheme://authority) is where `url_path` splits every URL starting with
    it, so `path_after` may take the rest directly."""
    return _HTTP_URL.fullmatch(prefix) is not None


def path_after(rest: str, rfc: bool = True) -> str:
    """The normalised path+query from what follows a URL's authority (see `url_path`)."""
    rest = rest.split("#", 1)[0]
    path = rest if rest[:1] == "/" else "/" + rest
    return normalise(path, is_pattern=False, dialect=RFC9309 if rfc else GOOGLE)


@lru_cache(maxsize=65536)
def url_path(url: str, rfc: bool) -> str:
    """Normalised path+query of a URL, cached: pipelines ask about the same URL for many agents."""
    m = _HTTP_URL.match(url)
    if m:
        return path_after(url[m.end() :], rfc)
    path = path_of(url)
    return normalise(path, is_pattern=False, dialect=RFC9309 if rfc else GOOGLE)
