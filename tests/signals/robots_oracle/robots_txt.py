"""A parsed robots.txt: decides and explains a URL for an agent, through the merged rule set
that applies to it (cached per agent, shared between agents of one group)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tests.signals.robots_oracle.matcher import RuleSet
from tests.signals.robots_oracle.model import (
    BUDGET_REASON,
    RFC9309,
    UNDECIDED,
    Dialect,
    Explanation,
    Group,
    Lint,
    Record,
)
from tests.signals.robots_oracle.normalise import url_path
from tests.signals.robots_oracle.tokens import query_token


@dataclass(frozen=True)
class RobotsTxt:
    groups: tuple[Group, ...]
    sitemaps: tuple[str, ...]
    global_records: tuple[Record, ...]  # records outside any group (Content-Signal before a UA, ...)
    lint: tuple[Lint, ...]
    size: int  # bytes received
    parsed_bytes: int  # bytes parsed (≤ MAX_PARSE_BYTES)
    dialect: Dialect = RFC9309
    _index: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    _cache: dict[str, RuleSet] = field(default_factory=dict, repr=False, compare=False)
    _shared: dict[tuple[str | int, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for i, group in enumerate(self.groups):
            for agent in dict.fromkeys(group.agents):
                if agent:
                    self._index[agent] = (*self._index.get(agent, ()), i)

    @property
    def truncated(self) -> bool:
        return self.parsed_bytes < self.size

    def ruleset(self, agent: str) -> RuleSet:
        """The merged rules for an agent, cached per agent string: parse once, decide many."""
        cached = self._cache.get(agent)
        if cached is None:
            cached = self._cache[agent] = self.token_ruleset(query_token(agent, self.dialect))
        return cached

    @property
    def tokens(self) -> tuple[str, ...]:
        """The product tokens the groups name (`*` included when a group names it)."""
        return tuple(self._index)

    def token_ruleset(self, token: str) -> RuleSet:
        """The merged rules for a product token (`*`: the fallback set), shared by every token
        that hits the same groups: the same object `ruleset` gives its agents."""
        hits = self._index.get(token, ()) if token != "*" else ()
        fallback = not hits
        if fallback:
            hits = self._index.get("*", ())
        key = ("*" if fallback else "", *hits)
        cached = self._shared.get(key)
        if cached is None:
            groups = tuple(self.groups[i] for i in hits)
            cached = self._shared[key] = RuleSet(groups, fallback and bool(groups), self.dialect)
        return cached

    def partition(self, agents: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], RuleSet], ...]:
        """Agents grouped by the rule set that applies to them (most share the `*` group), so a
        policy with many agents evaluates each distinct group once. Cached per agent tuple."""
        key = ("partition", *agents)
        cached = self._shared.get(key)
        if cached is None:
            tokens = _policy_tokens(agents, self.dialect)
            fallback = self.token_ruleset("*")  # most agents: a policy names dozens, a file a few
            if self._index.keys().isdisjoint(tokens.named):
                cached = self._shared[key] = ((tokens.lowered, fallback),) if agents else ()
                return cached
            by_set: dict[int, tuple[list[str], RuleSet]] = {}
            for token, low in zip(tokens.tokens, tokens.lowered, strict=True):
                rs = self.token_ruleset(token) if token != "*" and token in self._index else fallback
                by_set.setdefault(id(rs), ([], rs))[0].append(low)
            cached = self._shared[key] = tuple((tuple(a), rs) for a, rs in by_set.values())
        return cached

    def allowed(self, url: str, agent: str) -> bool:
        path = url_path(url, self.dialect.rfc_percent_encoding)
        if path == "/robots.txt" and self.dialect.implicit_robots_txt:
            return True
        rule = self.ruleset(agent).decide(path)
        return rule is None or rule.allow

    def explain(self, url: str, agent: str) -> Explanation:
        token = query_token(agent, self.dialect)
        path = url_path(url, self.dialect.rfc_percent_encoding)
        rs = self.ruleset(agent)
        if self.dialect.implicit_robots_txt and path == "/robots.txt":
            return Explanation(True, token, path, rs.groups, rs.fallback, None, "implicit allow (/robots.txt)")
        if not rs.groups:
            return Explanation(True, token, path, (), False, None, "no group")
        rule = rs.decide(path)
        if rule is None:
            return Explanation(True, token, path, rs.groups, rs.fallback, None, "no rule matched")
        if rule is UNDECIDED:
            return Explanation(False, token, path, rs.groups, rs.fallback, None, BUDGET_REASON)
        return Explanation(rule.allow, token, path, rs.groups, rs.fallback, rule, "rule")

    def crawl_delay(self, agent: str) -> float | None:
        """Seconds between requests asked of `agent` by the group(s) that apply to it (not part of
        RFC 9309, but a polite crawler honours it); None when none is given or it is not a finite,
        non-negative number of ASCII digits."""
        for group in self.ruleset(agent).groups:
            for record in group.extensions("crawl-delay"):
                value = record.value.strip()
                if value.isascii() and value.replace(".", "", 1).isdigit():
                    return float(value)
        return None

    def records(self, key: str) -> tuple[tuple[Group | None, Record], ...]:
        """Every record with this key, with the group it sits in (None: outside any group)."""
        found: list[tuple[Group | None, Record]] = [(None, r) for r in self.global_records if r.key == key]
        found += [(g, r) for g in self.groups for r in g.records if r.key == key]
        return tuple(sorted(found, key=lambda gr: gr[1].line))


@dataclass(frozen=True)
class _PolicyTokens:
    """A policy's agents read once for every file `partition` splits them over."""

    tokens: tuple[str, ...]  # each agent's product token
    lowered: tuple[str, ...]  # each agent as the signals name it
    named: frozenset[str]  # the tokens a file's groups can name (not `*`)


@lru_cache(maxsize=64)
def _policy_tokens(agents: tuple[str, ...], dialect: Dialect) -> _PolicyTokens:
    tokens = tuple(query_token(a, dialect) for a in agents)
    return _PolicyTokens(tokens, tuple(a.lower() for a in agents), frozenset(tokens) - {"*"})
