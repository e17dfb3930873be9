"""The normalised opt-out signal record every parser emits (spec opt-out-signals.md §2.1), and its
vocabularies. The vocabularies are `StrEnum`s: members equal their strings, so stored rows and
JSON read and write the same text as before."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

MAX_FILE_BYTES = 1 << 20  # tdmrep.json and RSL documents: 1 MiB read (spec §6.2, §12.3)


class SignalKind(StrEnum):
    """Which protocol a statement comes from."""

    ROBOTS = "robots"
    ROBOTS_UNREACHABLE = "robots_unreachable"
    ROBOTS_NOT_ROBOTS = "robots_not_robots"  # an HTML or challenge page served as robots.txt
    TDMREP = "tdmrep"
    X_ROBOTS_TAG = "x_robots_tag"
    META_ROBOTS = "meta_robots"
    AI_TXT = "ai_txt"
    CONTENT_USAGE_HEADER = "content_usage_header"
    CONTENT_USAGE_ROBOTS = "content_usage_robots"
    CONTENT_SIGNAL = "content_signal"
    RSL = "rsl"
    C2PA = "c2pa"
    IPTC_DMI = "iptc_dmi"
    LICENCE_MARKUP = "licence_markup"
    BLOCKLIST = "blocklist"


class Category(StrEnum):
    """The usage a statement speaks about (spec §2.2)."""

    TRAIN_AI = "train-ai"
    TRAIN_ANY = "train-any"
    TDM = "tdm"
    AI_INPUT = "ai-input"
    SEARCH = "search"
    CRAWL = "crawl"


class Statement(StrEnum):
    """What a signal says about its category."""

    RESERVED = "reserved"
    PERMITTED = "permitted"
    CONDITIONAL = "conditional"
    NONE = "none"


class Confidence(StrEnum):
    """How sure the reading is, highest first (`Signal.lowered` steps down this order)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SIGNALS = tuple(SignalKind)
CATEGORIES = tuple(Category)
STATEMENTS = tuple(Statement)
CONFIDENCE = tuple(Confidence)
# Which categories speak about a usage (spec §2.2): tdm ⊇ train-any ⊇ train-ai; crawl refusals
# cover every use of what that agent fetched; ai-input and search never cover training.
COVERS = {
    "train-ai": frozenset({"train-ai", "train-any", "tdm", "crawl"}),
    "train-any": frozenset({"train-any", "tdm", "crawl"}),
    "tdm": frozenset({"tdm", "crawl"}),
    "ai-input": frozenset({"ai-input", "tdm", "crawl"}),
    "search": frozenset({"search", "crawl"}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    signal: SignalKind
    category: Category
    statement: Statement
    agents: tuple[str, ...]  # lower-case product tokens; ("*",) for everyone
    scope: str  # origin | path-pattern | resource | asset | modality
    locator: str  # line number, header name + index, JSON pointer, XPath
    confidence: Confidence = Confidence.HIGH
    scope_value: str | None = None  # the pattern, URL or modality the scope names
    evidence_sha256: str | None = None
    observed_at: datetime | None = None
    lint: tuple[str, ...] = ()
    detail: str = ""  # what was read: the rule, the header value, a licence id, a price

    def applies_to(self, agents: frozenset[str]) -> bool:
        return "*" in self.agents or bool(agents.intersection(self.agents))

    def covers(self, usage: str) -> bool:
        return self.category in COVERS.get(usage, frozenset({usage}))

    @classmethod
    def whole_origin(
        cls,
        signal: SignalKind,
        statement: Statement,
        locator: str,
        confidence: Confidence,
        detail: str,
        *,
        category: Category = Category.CRAWL,
        lint: tuple[str, ...] = (),
    ) -> Signal:
        """A statement about every path of an origin for every agent: what a robots.txt fetch
        outcome or a blocklist says."""
        return cls(
            signal=signal,
            category=category,
            statement=statement,
            agents=("*",),
            scope="origin",
            locator=locator,
            confidence=confidence,
            lint=lint,
            detail=detail,
        )

    @classmethod
    def noted(
        cls,
        signal: SignalKind,
        scope: str,
        locator: str,
        detail: str,
        *,
        scope_value: str | None = None,
        lint: tuple[str, ...] = (),
    ) -> Signal:
        """A statement of nothing, for every agent, at low confidence: a licence or RSL pointer
        not followed, or an artefact that could not be read. It keeps the find in the audit."""
        return cls(
            signal=signal,
            category=Category.TDM,
            statement=Statement.NONE,
            agents=("*",),
            scope=scope,
            locator=locator,
            confidence=Confidence.LOW,
            scope_value=scope_value,
            lint=lint,
            detail=detail,
        )

    def with_evidence(self, sha256: str | None, observed_at: datetime | None) -> Signal:
        """The signal tied to the artefact it was read from. Built field by field: `replace`
        (what `lowered` uses) reads the dataclass's fields anew on each call, and every first
        decision of an origin stamps its signals."""
        return Signal(
            signal=self.signal,
            category=self.category,
            statement=self.statement,
            agents=self.agents,
            scope=self.scope,
            locator=self.locator,
            confidence=self.confidence,
            scope_value=self.scope_value,
            evidence_sha256=sha256,
            observed_at=observed_at,
            lint=self.lint,
            detail=self.detail,
        )

    def lowered(self, why: str) -> Signal:
        """One confidence step down (stale evidence, lint that changed the reading)."""
        i = min(CONFIDENCE.index(self.confidence) + 1, len(CONFIDENCE) - 1)
        return replace(self, confidence=CONFIDENCE[i], lint=(*self.lint, why))
