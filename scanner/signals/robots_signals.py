"""robots.txt as signals for a URL and a set of agents: access (Allow/Disallow, fetch outcome) and
the AI lines inside the selected groups (Content-Signal, Content-Usage). Pure.
"""

from __future__ import annotations

from scanner.signals.fetch_outcome import EDGE_BLOCKED
from scanner.signals.headers import aipref_signals, content_signal_signals
from scanner.signals.model import Category, Confidence, Signal, SignalKind, Statement
from scanner.signals.robots import BUDGET_REASON, MATCH_BUDGET, Group, RobotsTxt, Rule, pattern_matches, url_path

_TRUNCATED = frozenset({"truncated"})


def rule_signal(rule: Rule, agents: tuple[str, ...], where: str = "", lint: tuple[str, ...] = ()) -> Signal:
    """What one Allow / Disallow line states for its agents: a Disallow reserves the paths it
    matches; an Allow states nothing beyond "may be crawled"."""
    return Signal(
        signal=SignalKind.ROBOTS,
        category=Category.CRAWL,
        statement=Statement.NONE if rule.allow else Statement.RESERVED,
        agents=agents,
        scope="path-pattern",
        locator=f"line {rule.line}",
        confidence=Confidence.HIGH,
        scope_value=rule.value,
        lint=lint,
        detail=f"{'Allow' if rule.allow else 'Disallow'}: {rule.value}{where}",
    )


def budget_signal(agents: tuple[str, ...], where: str) -> Signal:
    """A path whose deciding rule would cost more than `MATCH_BUDGET` lookups to find: reserved
    (an opt-out may be among the rules not tried), with the lint finding that says so."""
    return Signal(
        signal=SignalKind.ROBOTS,
        category=Category.CRAWL,
        statement=Statement.RESERVED,
        agents=agents,
        scope="path-pattern",
        locator="robots.txt",
        confidence=Confidence.LOW,
        lint=("match_budget_exceeded",),
        detail=f"robots.txt rules in {where} too costly to match (> {MATCH_BUDGET} lookups): read as Disallow",
    )


def unreachable_signal(http_status: int | None) -> Signal:
    """An unreachable robots.txt (5xx, 429, no response) is a complete disallow (RFC 9309 §2.3.1.4)."""
    return Signal.whole_origin(
        SignalKind.ROBOTS_UNREACHABLE,
        Statement.RESERVED,
        f"HTTP {http_status}" if http_status else "no response",
        Confidence.MEDIUM,
        "robots.txt unreachable: RFC 9309 §2.3.1.4 complete disallow",
    )


def unavailable_signal(http_status: int | None) -> Signal:
    """An unavailable robots.txt (4xx) allows all (RFC 9309 §2.3.1.3): a statement of nothing
    reserved, which the decision cites and the store's `signals` keeps."""
    return Signal.whole_origin(
        SignalKind.ROBOTS,
        Statement.NONE,
        f"HTTP {http_status}",
        Confidence.HIGH,
        "robots.txt unavailable (4xx): allow all",
    )


def not_robots_signal(http_status: int | None, served: str, as_unreachable: bool) -> Signal:
    """An HTML or challenge page at the robots.txt URL: unknown, or (strict policy) unreachable."""
    what = "a bot challenge (edge-blocked)" if served == EDGE_BLOCKED else "an HTML page, not a robots.txt (not-robots)"
    if as_unreachable:
        return Signal.whole_origin(
            SignalKind.ROBOTS_UNREACHABLE,
            Statement.RESERVED,
            f"HTTP {http_status}",
            Confidence.MEDIUM,
            f"robots.txt URL served {what}: read as unreachable, a complete disallow (strict policy)",
            lint=(served,),
        )
    return Signal.whole_origin(
        SignalKind.ROBOTS_NOT_ROBOTS,
        Statement.NONE,
        f"HTTP {http_status}",
        Confidence.LOW,
        f"robots.txt URL served {what}: the site's robots.txt is unknown",
        lint=(served,),
    )


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
            truncated = robots.lint_among(_TRUNCATED)
            out.append(rule_signal(e.rule, who, f" in {where}", truncated))
            continue  # usage preferences apply only to what may be crawled (attach §3)
        rule = f"Allow: {e.rule.value} (line {e.rule.line})" if e.rule else e.reason
        out.append(
            Signal(
                signal=SignalKind.ROBOTS,
                category=Category.CRAWL,
                statement=Statement.NONE,
                agents=who,
                scope="path-pattern",
                locator=f"line {e.rule.line}" if e.rule else "robots.txt",
                confidence=Confidence.HIGH,
                detail=f"{rule} in {where}" if e.groups else "no group applies",
            )
        )
        for group in ruleset.groups:
            for rec in group.extensions("content-signal"):
                out += content_signal_signals(rec.value, f"line {rec.line}", who)
        out += _content_usage(ruleset.groups, url, who, conservative)
    for _, rec in ((g, r) for g, r in robots.records("content-signal") if g is None):
        out += [s for s in content_signal_signals(rec.value, f"line {rec.line}", ("*",), confidence=Confidence.LOW)]
    return out


def _content_usage(groups: tuple[Group, ...], url: str, agents: tuple[str, ...], conservative: bool) -> list[Signal]:
    """Content-Usage rules of the agent's groups: longest path wins; rules with the same path all
    apply (most restrictive); a rule without a path has length 0 (spec §10.4)."""
    path = url_path(url, True)
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
                SignalKind.CONTENT_USAGE_ROBOTS,
                f"line {line}",
                conservative,
                agents,
                "path-pattern",
                rule_path or "/",
            )
    return out
