"""robots.txt as signals for a URL and a set of agents: access (Allow/Disallow, fetch outcome) and
the AI lines inside the selected groups (Content-Signal, Content-Usage). Pure.
"""

from __future__ import annotations

import re

from scanner.signals.files import pattern_matches
from scanner.signals.headers import aipref_signals, content_signal_signals
from scanner.signals.model import Signal
from scanner.signals.robots import BUDGET_REASON, MATCH_BUDGET, RobotsTxt, Rule, _url_path

# RFC 9309 §2.3.1 access results, by HTTP status of the (final) robots.txt response.
PARSED, UNAVAILABLE, UNREACHABLE = "parsed", "unavailable", "unreachable"


def robots_outcome(status: int | None) -> str:
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


def rule_signal(rule: Rule, agents: tuple[str, ...], where: str = "", lint: tuple[str, ...] = ()) -> Signal:
    """What one Allow / Disallow line states for its agents: a Disallow reserves the paths it
    matches; an Allow states nothing beyond "may be crawled"."""
    return Signal(
        "robots",
        "crawl",
        "none" if rule.allow else "reserved",
        agents,
        "path-pattern",
        f"line {rule.line}",
        "high",
        rule.value,
        lint=lint,
        detail=f"{'Allow' if rule.allow else 'Disallow'}: {rule.value}{where}",
    )


def budget_signal(agents: tuple[str, ...], where: str) -> Signal:
    """A path whose deciding rule would cost more than `MATCH_BUDGET` lookups to find: reserved
    (an opt-out may be among the rules not tried), with the lint finding that says so."""
    return Signal(
        "robots",
        "crawl",
        "reserved",
        agents,
        "path-pattern",
        "robots.txt",
        "low",
        lint=("match_budget_exceeded",),
        detail=f"robots.txt rules in {where} too costly to match (> {MATCH_BUDGET} lookups): read as Disallow",
    )


def unreachable_signal(http_status: int | None) -> Signal:
    """An unreachable robots.txt (5xx, 429, no response) is a complete disallow (RFC 9309 §2.3.1.4)."""
    return Signal(
        "robots_unreachable",
        "crawl",
        "reserved",
        ("*",),
        "origin",
        f"HTTP {http_status}" if http_status else "no response",
        "medium",
        detail="robots.txt unreachable: RFC 9309 §2.3.1.4 complete disallow",
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
        from scanner.signals.robots import parse_robots

        parsed = parse_robots(body)
    if any(g.rules or g.records for g in parsed.groups):
        return None  # HTML around real lines (a comment header, a <pre>): read the lines
    return NOT_ROBOTS


def not_robots_signal(http_status: int | None, served: str, as_unreachable: bool) -> Signal:
    """An HTML or challenge page at the robots.txt URL: unknown, or (strict policy) unreachable."""
    what = "a bot challenge (edge-blocked)" if served == EDGE_BLOCKED else "an HTML page, not a robots.txt (not-robots)"
    if as_unreachable:
        return Signal(
            "robots_unreachable",
            "crawl",
            "reserved",
            ("*",),
            "origin",
            f"HTTP {http_status}",
            "medium",
            lint=(served,),
            detail=f"robots.txt URL served {what}: read as unreachable, a complete disallow (strict policy)",
        )
    return Signal(
        "robots_not_robots",
        "crawl",
        "none",
        ("*",),
        "origin",
        f"HTTP {http_status}",
        "low",
        lint=(served,),
        detail=f"robots.txt URL served {what}: the site's robots.txt is unknown",
    )


def looks_like_challenge(status: int | None, body: bytes) -> bool:
    """A WAF/CDN challenge page (HTML, 403/429/503): evidence of edge blocking, not a robots.txt."""
    if status not in (403, 429, 503):
        return False
    head = body[:4096].lower()
    return (b"<html" in head or b"<!doctype" in head) and any(m in head for m in _CHALLENGE_MARKERS)


def robots_signals(robots: RobotsTxt, url: str, agents: tuple[str, ...], conservative: bool = True) -> list[Signal]:
    """Access and AI-line signals for every agent; agents that share a group are evaluated once."""
    out: list[Signal] = []
    for who, ruleset in robots.partition(agents):
        e = robots.explain(url, who[0])
        where = "the * group" if e.used_fallback else ("group " + ", ".join(e.group_agents))
        if e.reason == BUDGET_REASON:
            out.append(budget_signal(who, where))
            continue
        if e.rule is not None and not e.rule.allow:
            truncated = tuple(x.code for x in robots.lint if x.code == "truncated")
            out.append(rule_signal(e.rule, who, f" in {where}", truncated))
            continue  # usage preferences apply only to what may be crawled (attach §3)
        rule = f"Allow: {e.rule.value} (line {e.rule.line})" if e.rule else e.reason
        out.append(
            Signal(
                "robots",
                "crawl",
                "none",
                who,
                "path-pattern",
                f"line {e.rule.line}" if e.rule else "robots.txt",
                "high",
                detail=f"{rule} in {where}" if e.groups else "no group applies",
            )
        )
        for group in ruleset.groups:
            for rec in group.extensions("content-signal"):
                out += content_signal_signals(rec.value, f"line {rec.line}", who)
        out += _content_usage(ruleset.groups, url, who, conservative)
    for _, rec in ((g, r) for g, r in robots.records("content-signal") if g is None):
        out += [s for s in content_signal_signals(rec.value, f"line {rec.line}", ("*",), confidence="low")]
    return out


def _content_usage(groups, url: str, agents: tuple[str, ...], conservative: bool) -> list[Signal]:
    """Content-Usage rules of the agent's groups: longest path wins; rules with the same path all
    apply (most restrictive); a rule without a path has length 0 (spec §10.4)."""
    path = _url_path(url, True)
    candidates: list[tuple[int, str, int, str]] = []
    for group in groups:
        for rec in group.extensions("content-usage"):
            value = rec.value.strip()
            if value.startswith("/"):
                rule_path, _, pref = value.partition(" ")
                pref = pref.strip()
                if not pattern_matches(rule_path, url if "://" in url else "http://x" + path):
                    continue
                candidates.append((len(rule_path), rule_path, rec.line, pref))
            else:
                candidates.append((0, "", rec.line, value))
    if not candidates:
        return []
    longest = max(c[0] for c in candidates)
    out: list[Signal] = []
    for length, rule_path, line, pref in candidates:
        if length == longest:
            out += aipref_signals(
                pref,
                "content_usage_robots",
                f"line {line}",
                conservative,
                agents,
                "path-pattern",
                rule_path or "/",
            )
    return out
