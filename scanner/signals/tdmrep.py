"""W3C TDMRep `/.well-known/tdmrep.json`: which rule of the file reserves a URL, and how the
protocol's layers (file, header, meta, embedded) supersede one another. Pure; never raises on junk."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scanner.signals.model import MAX_FILE_BYTES, Category, Confidence, Signal, SignalKind, Statement
from scanner.signals.robots import BUDGET_EXCEEDED, RFC9309, Matcher, normalise, pattern_matches, url_path

_SCAN_RULES = 16  # tdmrep.json files with more rules are looked up through an index


@dataclass(frozen=True, slots=True)
class TdmRule:
    location: str
    reservation: int  # 1 or 0
    policy: str | None
    index: int


@dataclass(frozen=True, slots=True)
class TdmRepFile:
    rules: tuple[TdmRule, ...]
    lint: tuple[str, ...]
    # (first-in-sequence matcher, longest-first matcher), built on the first indexed lookup
    _index: list[Any] = field(default_factory=list, repr=False, compare=False)

    def lookup(self, url: str) -> tuple[TdmRule | None, tuple[str, ...]]:
        """The FIRST matching rule wins ("the most specific match is the first in sequence");
        a later, longer location that also matches is linted as shadowed."""
        return self._indexed(url) if len(self.rules) > _SCAN_RULES else self._scan(url)

    def _scan(self, url: str) -> tuple[TdmRule | None, tuple[str, ...]]:
        """`lookup` rule by rule: the reading the index must reproduce."""
        for rule in self.rules:
            if pattern_matches(rule.location, url):
                later = [
                    r
                    for r in self.rules[rule.index + 1 :]
                    if len(r.location) > len(rule.location) and pattern_matches(r.location, url)
                ]
                return rule, ("tdmrep_shadowed_rule",) if later else ()
        return None, ()

    def _indexed(self, url: str) -> tuple[TdmRule | None, tuple[str, ...]]:
        """`lookup` through two robots `Matcher`s (bounded work per URL whatever the file
        holds): rules in file order, and rules longest location first for the shadow lint. A URL
        past the matcher's budget is read as reserved, with a lint finding."""
        if not self._index:
            patterns = [normalise(r.location, is_pattern=True, dialect=RFC9309) for r in self.rules]
            longest = sorted(range(len(self.rules)), key=lambda i: (-len(self.rules[i].location), i))
            by_length = Matcher([(rank, patterns[i]) for rank, i in enumerate(longest)])
            self._index.extend((Matcher(list(enumerate(patterns))), (by_length, longest)))
        in_order, (by_length, longest) = self._index
        path = url_path(url, True)
        first = in_order.first(path)
        if first == BUDGET_EXCEEDED:
            return TdmRule("*", 1, None, -1), ("tdmrep_match_budget_exceeded",)
        if first is None:
            return None, ()
        rule = self.rules[first]
        rank = by_length.first(path)
        if rank == BUDGET_EXCEEDED:
            return rule, ("tdmrep_match_budget_exceeded",)
        shadowed = rank is not None and len(self.rules[longest[rank]].location) > len(rule.location)
        return rule, ("tdmrep_shadowed_rule",) if shadowed else ()

    def signal(self, url: str, locator_prefix: str = "tdmrep.json") -> Signal | None:
        rule, lint = self.lookup(url)
        return None if rule is None else self.rule_signal(rule, lint, locator_prefix)

    def rule_signal(self, rule: TdmRule, lint: tuple[str, ...] = (), locator_prefix: str = "tdmrep.json") -> Signal:
        """What one rule of the file states, for the paths its location matches."""
        detail = f"location {rule.location}: tdm-reservation {rule.reservation}"
        if rule.policy:
            detail += f"; tdm-policy {rule.policy}"
        return Signal(
            signal=SignalKind.TDMREP,
            category=Category.TDM,
            statement=Statement.RESERVED if rule.reservation == 1 else Statement.PERMITTED,
            agents=("*",),
            scope="path-pattern",
            locator=f"{locator_prefix}/{rule.index}",
            confidence=Confidence.HIGH,
            scope_value=rule.location,
            lint=lint + self.lint,
            detail=detail,
        )


def parse_tdmrep(body: bytes, conservative: bool = True) -> TdmRepFile:
    lint: list[str] = []
    try:
        data = json.loads(body[:MAX_FILE_BYTES].decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return TdmRepFile((), ("tdmrep_not_json",))
    if not isinstance(data, list):
        return TdmRepFile((), ("tdmrep_not_array",))
    rules: list[TdmRule] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("location"), str):
            lint.append(f"tdmrep_rule_{i}_invalid")
            continue
        location, value = item["location"], item.get("tdm-reservation")
        if not location.startswith(("/", "*")):
            lint.append(f"tdmrep_rule_{i}_location")
            continue
        if isinstance(value, str) and value in ("0", "1"):
            lint.append("tdmrep_string_value")
            if not conservative:
                continue
            value = int(value)
        if isinstance(value, bool) or value not in (0, 1):
            lint.append(f"tdmrep_rule_{i}_value")
            continue
        policy = item.get("tdm-policy") if isinstance(item.get("tdm-policy"), str) else None
        rules.append(TdmRule(location, int(value), policy, len(rules)))
    return TdmRepFile(tuple(rules), tuple(lint))


def tdmrep_layers(layers: list[Signal | None]) -> tuple[Signal | None, tuple[str, ...]]:
    """File, then header, then HTML meta, then embedded metadata: each later value supersedes;
    absence never resets (spec §6.6)."""
    current: Signal | None = None
    lint: tuple[str, ...] = ()
    for layer in layers:
        if layer is None:
            continue
        if current is not None and current.statement != layer.statement:
            lint = ("tdmrep_layers_disagree",)
        current = layer
    return current, lint
