"""The normalised opt-out signal record every parser emits (spec opt-out-signals.md §2.1)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

SIGNALS = (
    "robots",
    "robots_unreachable",
    "robots_not_robots",  # an HTML or challenge page served as robots.txt: nothing known
    "tdmrep",
    "x_robots_tag",
    "meta_robots",
    "ai_txt",
    "content_usage_header",
    "content_usage_robots",
    "content_signal",
    "rsl",
    "c2pa",
    "iptc_dmi",
    "licence_markup",
    "blocklist",
)
CATEGORIES = ("train-ai", "train-any", "tdm", "ai-input", "search", "crawl")
STATEMENTS = ("reserved", "permitted", "conditional", "none")
CONFIDENCE = ("high", "medium", "low")
# Which categories speak about a usage (spec §2.2): tdm ⊇ train-any ⊇ train-ai; crawl refusals
# cover every use of what that agent fetched; ai-input and search never cover training.
COVERS = {
    "train-ai": frozenset({"train-ai", "train-any", "tdm", "crawl"}),
    "train-any": frozenset({"train-any", "tdm", "crawl"}),
    "tdm": frozenset({"tdm", "crawl"}),
    "ai-input": frozenset({"ai-input", "tdm", "crawl"}),
    "search": frozenset({"search", "crawl"}),
}


@dataclass(frozen=True, slots=True)
class Signal:
    signal: str  # one of SIGNALS
    category: str  # one of CATEGORIES
    statement: str  # one of STATEMENTS
    agents: tuple[str, ...]  # lower-case product tokens; ("*",) for everyone
    scope: str  # origin | path-pattern | resource | asset | modality
    locator: str  # line number, header name + index, JSON pointer, XPath
    confidence: str = "high"
    scope_value: str | None = None  # the pattern, URL or modality the scope names
    evidence_sha256: str | None = None
    observed_at: datetime | None = None
    lint: tuple[str, ...] = ()
    detail: str = ""  # what was read: the rule, the header value, a licence id, a price

    def applies_to(self, agents: frozenset[str]) -> bool:
        return "*" in self.agents or bool(agents.intersection(self.agents))

    def covers(self, usage: str) -> bool:
        return self.category in COVERS.get(usage, frozenset({usage}))

    def with_evidence(self, sha256: str | None, observed_at: datetime | None) -> Signal:
        return replace(self, evidence_sha256=sha256, observed_at=observed_at)

    def lowered(self, why: str) -> Signal:
        """One confidence step down (stale evidence, lint that changed the reading)."""
        i = min(CONFIDENCE.index(self.confidence) + 1, len(CONFIDENCE) - 1)
        return replace(self, confidence=CONFIDENCE[i], lint=(*self.lint, why))
