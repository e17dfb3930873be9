"""Per-origin and per-asset files that carry reservations: `/.well-known/tdmrep.json` (W3C
TDMRep), Spawning's `/ai.txt`, RSL licence documents and IPTC `plus:DataMining` values.

Pure: bytes in, typed results out; each never raises on junk, it reports lint instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from scanner.signals.model import Signal
from scanner.signals.robots import (
    BUDGET_EXCEEDED,
    BUDGET_REASON,
    RFC9309,
    RobotsTxt,
    _Matcher,
    _normalise,
    _url_path,
    parse_robots,
    rule_matches,
)

_SCAN_RULES = 16  # tdmrep.json files with more rules are looked up through an index

MAX_FILE_BYTES = 1 << 20  # tdmrep.json and RSL documents: 1 MiB (spec §6.2, §12.3)


# -- path patterns shared by tdmrep.json `location` and RSL `<content url>` (RFC 9309 matching) --
def pattern_matches(pattern: str, url: str) -> bool:
    return rule_matches(_normalise(pattern, is_pattern=True, dialect=RFC9309), _url_path(url, True))


# -- TDMRep /.well-known/tdmrep.json --------------------------------------------------------------
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
    _index: list = field(default_factory=list, repr=False, compare=False)

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
        """`lookup` through two robots `_Matcher`s (bounded work per URL whatever the file
        holds): rules in file order, and rules longest location first for the shadow lint. A URL
        past the matcher's budget is read as reserved, with a lint finding."""
        if not self._index:
            patterns = [_normalise(r.location, is_pattern=True, dialect=RFC9309) for r in self.rules]
            longest = sorted(range(len(self.rules)), key=lambda i: (-len(self.rules[i].location), i))
            by_length = _Matcher([(rank, patterns[i]) for rank, i in enumerate(longest)])
            self._index.extend((_Matcher(list(enumerate(patterns))), (by_length, longest)))
        in_order, (by_length, longest) = self._index
        path = _url_path(url, True)
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
            "tdmrep",
            "tdm",
            "reserved" if rule.reservation == 1 else "permitted",
            ("*",),
            "path-pattern",
            f"{locator_prefix}/{rule.index}",
            "high",
            rule.location,
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
    rules = []
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


# -- Spawning ai.txt ------------------------------------------------------------------------------
def parse_ai_txt(body: bytes) -> tuple[RobotsTxt | None, tuple[str, ...]]:
    """robots.txt grammar; only a text body with at least one User-Agent line counts (spec §8)."""
    robots = parse_robots(body)
    if any(x.code == "html_body" for x in robots.lint) or not robots.groups:
        return None, ("ai_txt_not_spawning",)
    return robots, ()


def ai_txt_signal(robots: RobotsTxt, url: str, agent: str) -> Signal | None:
    e = robots.explain(url, agent)
    if e.reason == BUDGET_REASON:
        return Signal(
            "ai_txt",
            "train-any",
            "reserved",
            e.group_agents or ("*",),
            "path-pattern",
            "ai.txt",
            "low",
            lint=("match_budget_exceeded",),
            detail="ai.txt rules too costly to match: read as Disallow",
        )
    if e.rule is None or e.rule.allow:
        return None
    return Signal(
        "ai_txt",
        "train-any",
        "reserved",
        e.group_agents or ("*",),
        "path-pattern",
        f"ai.txt line {e.rule.line}",
        "low",
        e.rule.value,
        detail=f"Disallow: {e.rule.value}",
    )


# -- RSL licence documents ------------------------------------------------------------------------
RSL_NS = "https://rslstandard.org/rsl"
_TRAINING_TOKENS = {"ai-train", "ai-all", "all"}
_FREE = {"", "free", "attribution"}


@dataclass(frozen=True, slots=True)
class RslContent:
    url: str
    server: str | None
    prohibits: frozenset[str]
    permits: frozenset[str]
    payments: tuple[str, ...]  # payment types; amounts in `prices`
    prices: tuple[str, ...]
    restricted: bool  # user/geo conditions present


def parse_rsl(body: bytes) -> tuple[tuple[RslContent, ...], tuple[str, ...]]:
    """The `<content>` elements of an RSL document, in document order. One pass over the tree
    (linear on any nesting): each `<prohibits>`, `<permits>`, `<payment>` and `<amount>` belongs
    to its nearest enclosing `<content>`; a `<content>` inside another is linted."""
    try:
        root = ElementTree.fromstring(body[:MAX_FILE_BYTES], forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return (), ("rsl_not_xml",)
    if _local(root.tag) != "rsl":
        return (), ("rsl_wrong_root",)
    found: list[tuple[object, dict]] = []  # (element, what it holds) in document order
    lint: list[str] = []
    stack: list[tuple[object, dict | None, bool]] = [(root, None, False)]  # (el, content, in payment)
    while stack:
        el, content, in_payment = stack.pop()
        tag, kind = _local(el.tag), (el.get("type") or "usage").lower()
        if tag == "content":
            if content is not None and "rsl_nested_content" not in lint:
                lint.append("rsl_nested_content")
            content = {"prohibits": set(), "permits": set(), "payments": [], "prices": [], "restricted": False}
            found.append((el, content))
            in_payment = False
        elif content is not None:
            tokens = set(re.split(r"[\s,]+", (el.text or "").strip().lower())) - {""}
            if tag in ("prohibits", "permits") and kind in ("user", "geo"):
                content["restricted"] = True
            elif tag in ("prohibits", "permits"):
                content[tag] |= tokens
            elif tag == "payment":
                content["payments"].append(kind)
                in_payment = True
            if tag == "amount" and in_payment:
                content["prices"].append(f"{el.text} {el.get('currency', '')}".strip())
        stack.extend((child, content, in_payment) for child in reversed(el))
    contents = tuple(
        RslContent(
            el.get("url") or "/",
            el.get("server"),
            frozenset(c["prohibits"]),
            frozenset(c["permits"]),
            tuple(c["payments"]),
            tuple(c["prices"]),
            c["restricted"],
        )
        for el, c in found
    )
    return contents, tuple(lint)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def rsl_signal(contents: tuple[RslContent, ...], url: str, locator: str) -> Signal | None:
    """RSL for training (spec §12.3): prohibits beat permits; a permit with payment or a licence
    server is conditional (a licence is required), otherwise a permission."""
    matching = [c for c in contents if _rsl_matches(c.url, url)]
    if not matching:
        return None
    best = max(matching, key=lambda c: len(c.url))
    confidence = "low" if best.restricted else "medium"
    if best.prohibits & _TRAINING_TOKENS:
        return Signal(
            "rsl",
            "train-ai",
            "reserved",
            ("*",),
            "path-pattern",
            locator,
            confidence,
            best.url,
            detail=f"prohibits {' '.join(sorted(best.prohibits))}",
        )
    if best.permits & _TRAINING_TOKENS:
        paid = any(p not in _FREE for p in best.payments)
        if paid or best.server:
            price = ", ".join(best.prices) or "licence server " + (best.server or "")
            return Signal(
                "rsl",
                "train-ai",
                "conditional",
                ("*",),
                "path-pattern",
                locator,
                confidence,
                best.url,
                lint=("rsl_licence_required",),
                detail=f"permits {' '.join(sorted(best.permits))} on terms: {price}",
            )
        return Signal(
            "rsl",
            "train-ai",
            "permitted",
            ("*",),
            "path-pattern",
            locator,
            confidence,
            best.url,
            detail=f"permits {' '.join(sorted(best.permits))} free",
        )
    return Signal(
        "rsl",
        "train-ai",
        "none",
        ("*",),
        "path-pattern",
        locator,
        "low",
        best.url,
        lint=("rsl_training_not_granted",),
        detail="RSL present, silent on training",
    )


def _rsl_matches(pattern: str, url: str) -> bool:
    if "://" in pattern:
        origin_end = pattern.find("/", pattern.find("://") + 3)
        origin = pattern if origin_end < 0 else pattern[:origin_end]
        if not url.startswith(origin):
            return False
        pattern = "/" if origin_end < 0 else pattern[origin_end:]
    return pattern_matches(pattern, url)


# -- IPTC / PLUS Data Mining ----------------------------------------------------------------------
_DMI = {
    "DMI-UNSPECIFIED": None,
    "DMI-ALLOWED": ("tdm", "permitted"),
    "DMI-PROHIBITED-AIMLTRAINING": ("train-any", "reserved"),
    "DMI-PROHIBITED-GENAIMLTRAINING": ("train-ai", "reserved"),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": ("tdm", "reserved"),
    "DMI-PROHIBITED": ("tdm", "reserved"),
    "DMI-PROHIBITED-SEECONSTRAINT": ("tdm", "reserved"),
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": ("tdm", "reserved"),
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": ("tdm", "reserved"),
}


def iptc_signal(value: str, locator: str = "XMP plus:DataMining") -> Signal | None:
    """A `plus:DataMining` value, as a full vocabulary URI or a bare code (spec §14)."""
    code = value.strip().rsplit("/", 1)[-1].upper()
    lint: tuple[str, ...] = ()
    if code in _DMI:
        mapped = _DMI[code]
    elif code.startswith("DMI-PROHIBITED"):
        mapped, lint = ("tdm", "reserved"), ("iptc_unknown_value",)
    else:
        return None
    if mapped is None:
        return None
    category, statement = mapped
    return Signal("iptc_dmi", category, statement, ("*",), "asset", locator, "medium", lint=lint, detail=code)


# -- TDMRep in EPUB OPF and PDF XMP (spec §6.5) --------------------------------------------------
_PKG_RESERVATION = re.compile(
    r'name="tdm:reservation"\s+content="(\d)"|property="tdm:reservation"\s*>\s*(\d)\s*<'
    r"|<tdm:reservation>\s*(\d)\s*</tdm:reservation>"
)
_PKG_POLICY = re.compile(
    r'name="tdm:policy"\s+content="([^"]+)"|property="tdm:policy"\s*>\s*([^<\s]+)\s*<'
    r"|<tdm:policy>\s*([^<\s]+)\s*</tdm:policy>"
)


def tdmrep_package_signal(metadata: str, locator: str = "package metadata") -> Signal | None:
    """TDMRep from EPUB 2/3 OPF metadata or a PDF's XMP packet: the last layer, superseding all."""
    m = _PKG_RESERVATION.search(metadata)
    value = next((g for g in m.groups() if g), None) if m else None
    if value not in ("0", "1"):
        return None
    p = _PKG_POLICY.search(metadata)
    policy = next((g for g in p.groups() if g), "") if p else ""
    return Signal(
        "tdmrep",
        "tdm",
        "reserved" if value == "1" else "permitted",
        ("*",),
        "asset",
        locator,
        "high",
        detail=f"tdm:reservation {value}" + (f"; tdm:policy {policy}" if policy else ""),
    )
