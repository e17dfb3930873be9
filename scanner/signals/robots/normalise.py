"""URL and rule normalisation (RFC 9309 §2.2.2, spec §3.4): the path+query string rules match,
percent-encoding read alike on both sides, and the Google dialect's escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from scanner.signals.robots.model import GOOGLE, RFC9309, Dialect

_PCT = tuple(f"%{b:02X}" for b in range(256))  # octet -> its upper-case escape
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
_NEEDS_NORMALISING = re.compile(r'[%*$\x00-\x20"<>\\^`{|}\x7f-\U0010ffff]')
# Octets RFC 3986 allows nowhere in a URI: percent-encoded on both sides before comparing.
_NOT_IN_URIS = frozenset(b'"<>\\^`{|}\x7f')
_HTTP_URL = re.compile(r"https?://[^/?;#]*", re.IGNORECASE)


def normalise(text: str, *, is_pattern: bool, dialect: Dialect) -> str:
    """Percent-encoding normalisation applied alike to rules and URLs (spec §3.4).

    Non-UTF-8 input arrives with surrogate escapes, so each original octet ≥ 0x80 becomes its own
    `%XX`: distinct bytes stay distinct and no `errors="replace"` merges them.
    """
    if not dialect.rfc_percent_encoding:
        return google_escape(text) if is_pattern else text
    if not _NEEDS_NORMALISING.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    out: list[str] = []
    last = len(raw) - 1
    for i, b, value in _octets(raw):
        if value >= 0:
            out.append(chr(value) if value in _UNRESERVED else _PCT[value])
        elif b >= 0x80 or b <= 0x20 or b in _NOT_IN_URIS:
            out.append(_PCT[b])
        elif b == 0x2A and not is_pattern:
            out.append("%2A")  # a URL cannot inject wildcards
        elif b == 0x24 and (not is_pattern or i != last):
            out.append("%24")  # `$` is an anchor only at the end of a pattern
        else:
            out.append(chr(b))
    return "".join(out)


def google_escape(pattern: str) -> str:
    """google/robotstxt MaybeEscapePattern: upper-case escapes, %-encode octets ≥ 0x80, no more."""
    if pattern.isascii() and "%" not in pattern:
        return pattern
    raw = pattern.encode("utf-8", "surrogateescape")
    return "".join(_PCT[v] if v >= 0 else _PCT[b] if b >= 0x80 else chr(b) for _, b, v in _octets(raw))


def _octets(raw: bytes) -> Iterator[tuple[int, int, int]]:
    """(position, octet, escaped value) through `raw`: a well-formed `%XX` is one item carrying
    its value; any other octet carries -1. Both escapers read escapes alike this way."""
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEXDIGITS and raw[i + 2] in _HEXDIGITS:
            yield i, b, int(raw[i + 1 : i + 3], 16)
            i += 3
        else:
            yield i, b, -1
            i += 1


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
