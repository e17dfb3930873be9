"""Findings about a parsed robots.txt beyond the parser's own: agent names one typo away."""

from __future__ import annotations

from collections.abc import Iterable

from scanner.signals.robots.model import Lint
from scanner.signals.robots.robots_txt import RobotsTxt


def agent_typos(robots: RobotsTxt, known_tokens: Iterable[str]) -> list[Lint]:
    """User-agent tokens one edit away from a known AI agent (`meta-external-agent`)."""
    known = {t.lower() for t in known_tokens}
    found = []
    for group in robots.groups:
        for token, line in zip(group.agents, group.agent_lines, strict=True):
            if not token or token == "*" or token in known:
                continue
            near = [k for k in known if _near(token, k)]
            if near:
                found.append(
                    Lint(
                        "agent_typo",
                        line,
                        f"{token!r} is not a known agent; did you mean {sorted(near)[0]!r}?",
                    )
                )
    return found


def _near(a: str, b: str) -> bool:
    """Within one edit (insert, delete, substitute) or one swap; short tokens excluded."""
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]
