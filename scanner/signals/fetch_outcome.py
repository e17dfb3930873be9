"""What a fetch of a per-origin file (robots.txt, tdmrep.json, ai.txt) came back as: the RFC 9309
§2.3.1 outcome of its HTTP status, and whether the robots.txt URL served a robots.txt at all
(an HTML page or a bot challenge is neither the file nor its absence). Pure."""

from __future__ import annotations

import re

from scanner.signals.robots import RobotsTxt, parse_robots

# RFC 9309 §2.3.1 access results, by HTTP status of the (final) response;
# tdmrep.json and ai.txt are read the same way.
PARSED, UNAVAILABLE, UNREACHABLE = "parsed", "unavailable", "unreachable"


def fetch_outcome(status: int | None) -> str:
    """2xx: parse; 4xx: unavailable (allow all); 429, 5xx, other or no response: unreachable.
    A 3xx as the final status means the redirect limit was hit: unavailable (RFC 9309 §2.3.1.2)."""
    if status is None:
        return UNREACHABLE
    if 200 <= status < 300:
        return PARSED
    if status == 429:
        return UNREACHABLE
    if 300 <= status < 500:
        return UNAVAILABLE
    return UNREACHABLE


_CHALLENGE_MARKERS = (
    b"cf-chl",
    b"captcha",
    b"attention required",
    b"access denied",
    b"just a moment",
    b"cf-browser-verification",
    b"_incapsula_",
    b"perimeterx",
    b"datadome",
)


NOT_ROBOTS, EDGE_BLOCKED = "not-robots", "edge-blocked"
_ROBOTS_LINE = re.compile(rb"(?im)^[ \t]*(user[ -]?agent|disallow|allow)[ \t]*:")


def looks_like_html(body: bytes) -> bool:
    """An HTML page (a bot challenge, a soft-404 home page): starts with a tag after BOM/space."""
    return body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def served_as(status: int | None, body: bytes, parsed: RobotsTxt | None = None) -> str | None:
    """What the robots.txt URL served when it was not a robots.txt: `edge-blocked` (a CDN/WAF
    challenge, 2xx or 403) or `not-robots` (an HTML page with no robots.txt lines in it), else None.
    Either way nothing is known of the site's wishes: it is neither the file nor its absence."""
    if status == 403 and looks_like_challenge(status, body):
        return EDGE_BLOCKED
    if status is None or not 200 <= status < 300 or not looks_like_html(body):
        return None
    head = body[:4096].lower()
    if any(m in head for m in _CHALLENGE_MARKERS):
        return EDGE_BLOCKED
    if parsed is None:
        if not _ROBOTS_LINE.search(body):
            return NOT_ROBOTS  # no line a robots.txt parser would read: no need to parse the page
        parsed = parse_robots(body)
    if any(g.rule_rows or g.record_rows for g in parsed.groups):
        return None  # HTML around real lines (a comment header, a <pre>): read the lines
    return NOT_ROBOTS


def looks_like_challenge(status: int | None, body: bytes) -> bool:
    """A WAF/CDN challenge page (HTML, 403/429/503): evidence of edge blocking, not a robots.txt."""
    if status not in (403, 429, 503):
        return False
    head = body[:4096].lower()
    return (b"<html" in head or b"<!doctype" in head) and any(m in head for m in _CHALLENGE_MARKERS)
