"""RSL licence documents: the `<content>` terms that cover a URL, read for training (spec §12.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from scanner.signals.model import MAX_FILE_BYTES, Category, Confidence, Signal, SignalKind, Statement
from scanner.signals.robots import pattern_matches

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

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
    found: list[tuple[Element, dict[str, Any]]] = []  # (element, what it holds) in document order
    lint: list[str] = []
    stack: list[tuple[Element, dict[str, Any] | None, bool]] = [(root, None, False)]  # (el, content, in payment)
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
    confidence = Confidence.LOW if best.restricted else Confidence.MEDIUM
    if best.prohibits & _TRAINING_TOKENS:
        return _terms(best, locator, Statement.RESERVED, confidence, f"prohibits {' '.join(sorted(best.prohibits))}")
    if best.permits & _TRAINING_TOKENS:
        permits = " ".join(sorted(best.permits))
        if any(p not in _FREE for p in best.payments) or best.server:
            price = ", ".join(best.prices) or "licence server " + (best.server or "")
            return _terms(
                best,
                locator,
                Statement.CONDITIONAL,
                confidence,
                f"permits {permits} on terms: {price}",
                lint=("rsl_licence_required",),
            )
        return _terms(best, locator, Statement.PERMITTED, confidence, f"permits {permits} free")
    return _terms(
        best,
        locator,
        Statement.NONE,
        Confidence.LOW,
        "RSL present, silent on training",
        lint=("rsl_training_not_granted",),
    )


def _terms(
    content: RslContent,
    locator: str,
    statement: Statement,
    confidence: Confidence,
    detail: str,
    lint: tuple[str, ...] = (),
) -> Signal:
    """What the best-matching <content> element says about training, for every agent."""
    return Signal(
        signal=SignalKind.RSL,
        category=Category.TRAIN_AI,
        statement=statement,
        agents=("*",),
        scope="path-pattern",
        locator=locator,
        confidence=confidence,
        scope_value=content.url,
        lint=lint,
        detail=detail,
    )


def _rsl_matches(pattern: str, url: str) -> bool:
    if "://" in pattern:
        origin_end = pattern.find("/", pattern.find("://") + 3)
        origin = pattern if origin_end < 0 else pattern[:origin_end]
        if not url.startswith(origin):
            return False
        pattern = "/" if origin_end < 0 else pattern[origin_end:]
    return pattern_matches(pattern, url)
