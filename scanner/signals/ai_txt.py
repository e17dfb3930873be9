"""Spawning's `/ai.txt`: robots.txt grammar, read as training reservations (spec §8)."""

from __future__ import annotations

from functools import partial

from scanner.signals.model import Category, Confidence, Signal, SignalKind, Statement
from scanner.signals.robots import BUDGET_REASON, RobotsTxt, parse_robots

_HTML_BODY = frozenset({"html_body"})


def parse_ai_txt(body: bytes) -> tuple[RobotsTxt | None, tuple[str, ...]]:
    """robots.txt grammar; only a text body with at least one User-Agent line counts (spec §8)."""
    robots = parse_robots(body)
    if robots.lint_among(_HTML_BODY) or not robots.groups:
        return None, ("ai_txt_not_spawning",)
    return robots, ()


# An ai.txt Disallow reserves training for its group's agents, with low confidence (spec §8).
_reserved = partial(
    Signal,
    signal=SignalKind.AI_TXT,
    category=Category.TRAIN_ANY,
    statement=Statement.RESERVED,
    scope="path-pattern",
    confidence=Confidence.LOW,
)


def ai_txt_signal(robots: RobotsTxt, url: str, agent: str) -> Signal | None:
    e = robots.explain(url, agent)
    agents = e.group_agents or ("*",)
    if e.reason == BUDGET_REASON:
        return _reserved(
            agents=agents,
            locator="ai.txt",
            lint=("match_budget_exceeded",),
            detail="ai.txt rules too costly to match: read as Disallow",
        )
    if e.rule is None or e.rule.allow:
        return None
    return _reserved(
        agents=agents,
        locator=f"ai.txt line {e.rule.line}",
        scope_value=e.rule.value,
        detail=f"Disallow: {e.rule.value}",
    )


def ai_txt_statements(robots: RobotsTxt) -> list[Signal]:
    """Every Disallow of the file, for its group's agents: what it reserved, for no URL in particular."""
    return [
        _reserved(
            agents=tuple(a for a in group.agents if a) or ("*",),
            locator=f"ai.txt line {rule.line}",
            scope_value=rule.value,
            detail=f"Disallow: {rule.value}",
        )
        for group in robots.groups
        for rule in group.rules
        if not rule.allow
    ]
