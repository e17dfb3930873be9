"""The verdict: the evidence seen for a URL + a named, versioned policy -> allowed / reserved / unknown.

Spec opt-out-signals.md §2.4: each protocol is first resolved by its own precedence rules (one
`read_*` function per protocol below, each returning a `Reading`); across protocols the most
restrictive statement wins (a permission never cancels a reservation, `combine`); an unreachable
robots.txt is a full disallow under RFC 9309; "allowed" means no machine-readable reservation
was found in the protocols checked, never a licence. Pure: no store, no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

from scanner.decide.cache import parsed_ai_txt, parsed_robots, parsed_rsl, tdmrep_file
from scanner.decide.policy import Policy
from scanner.evidence_model import Artefact, Evidence, EvidenceKind
from scanner.signals.ai_txt import ai_txt_signal
from scanner.signals.fetch_outcome import PARSED, UNREACHABLE, fetch_outcome, looks_like_challenge, served_as
from scanner.signals.headers import evidence_headers, header_signals
from scanner.signals.html import evidence_facts, html_signals
from scanner.signals.model import CONFIDENCE, Category, Confidence, Signal, SignalKind, Statement
from scanner.signals.robots import RobotsTxt
from scanner.signals.robots_signals import not_robots_signal, robots_signals, unavailable_signal, unreachable_signal
from scanner.signals.rsl import rsl_signal
from scanner.signals.statements import malformed_signal
from scanner.signals.tdmrep import tdmrep_layers

STALE_AFTER = timedelta(hours=24)  # RFC 9309 §2.4: a cached robots.txt is good for 24 h
ROBOTS_LINT = ("html_body", "truncated", "non_utf8")  # parse lint a decision reports
_ROBOTS_LINT = frozenset(ROBOTS_LINT)


class Verdict(StrEnum):
    ALLOWED = "allowed"  # no machine-readable reservation in the protocols checked (never a licence)
    RESERVED = "reserved"
    UNKNOWN = "unknown"  # nothing checked, or robots.txt was not a robots.txt


class Checked(StrEnum):
    """The protocols a decision checked successfully (`Decision.checked`)."""

    ROBOTS = "robots"
    TDMREP = "tdmrep"
    HEADERS = "headers"
    HTML = "html"
    EMBEDDED = "embedded"
    AI_TXT = "ai.txt"
    RSL = "rsl"


@dataclass(frozen=True)
class Decision:
    url: str
    verdict: Verdict
    reasons: tuple[Signal, ...]  # the statements that decided, strongest first
    checked: tuple[str, ...]  # protocols successfully checked (Checked)
    licences: tuple[Signal, ...]  # licence evidence: information, never changes the verdict
    policy: str
    policy_version: str
    usage: str
    lint: tuple[str, ...] = field(default=())

    @property
    def evidence_sha256(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.evidence_sha256 for s in self.reasons if s.evidence_sha256))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view; built once per decision (the hook serves memoised decisions)."""
        return self._dict

    @cached_property
    def _dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "verdict": self.verdict,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "usage": self.usage,
            "checked": list(self.checked),
            "reasons": [reason_dict(s) for s in self.reasons],
            "licences": [reason_dict(s) for s in self.licences],
            "evidence_sha256": list(self.evidence_sha256),
            "lint": list(self.lint),
        }


def reason_dict(s: Signal) -> dict[str, Any]:
    return {
        "signal": s.signal,
        "category": s.category,
        "statement": s.statement,
        "agents": list(s.agents),
        "scope": s.scope,
        "scope_value": s.scope_value,
        "locator": s.locator,
        "confidence": s.confidence,
        "detail": s.detail,
        "evidence_sha256": s.evidence_sha256,
        "observed_at": s.observed_at.isoformat() if s.observed_at else None,
        "lint": list(s.lint),
    }


@dataclass(frozen=True, slots=True)
class Reading:
    """What one protocol's evidence says about a URL, in the order it was read. `tdmrep` is the
    TDMRep layer this evidence carries: layers are resolved together (`read_tdmrep`)."""

    statements: tuple[Signal, ...] = ()
    checked: tuple[str, ...] = ()
    lint: tuple[str, ...] = ()
    tdmrep: Signal | None = None


NOTHING = Reading()


def stamped(signals: Iterable[Signal], art: Artefact, reference: datetime | None) -> tuple[Signal, ...]:
    """Signals tied to the artefact they were read from; one confidence step lower when stale."""
    out = [s.with_evidence(art.sha256, art.observed_at) for s in signals]
    if reference and art.observed_at and art.observed_at < reference - STALE_AFTER:
        out = [s.lowered("stale_evidence") for s in out]
    return tuple(out)


# -- one protocol each ---------------------------------------------------------------------------
def read_robots(url: str, art: Artefact | None, policy: Policy, reference: datetime | None) -> Reading:
    """robots.txt (RFC 9309): the fetch outcome first, then the groups and rules of a parsed file."""
    if art is None:
        return NOTHING
    outcome = fetch_outcome(art.http_status)
    parsed = parsed_robots(art.body, art.sha256) if outcome == PARSED else None
    served = served_as(art.http_status, art.body, parsed)
    if served:
        found = not_robots_signal(art.http_status, served, policy.not_robots_is_unreachable)
        return Reading(stamped([found], art, reference), lint=(served,))
    if parsed is not None:
        lint = parsed.lint_among(_ROBOTS_LINT)
        found_all = robots_signals(parsed, url, policy.agents, policy.conservative)
        return Reading(stamped(found_all, art, reference), (Checked.ROBOTS,), lint)
    if outcome == UNREACHABLE:
        if not policy.unreachable_is_disallow:
            return NOTHING
        return Reading(stamped([unreachable_signal(art.http_status)], art, reference))
    return _robots_unavailable(art, reference)


def _robots_unavailable(art: Artefact, reference: datetime | None) -> Reading:
    """A 4xx robots.txt: allow all (RFC 9309 §2.3.1.3), noted when it looks like a bot wall."""
    allow_all = unavailable_signal(art.http_status)
    lint = ("status_4xx_bot_wall",) if looks_like_challenge(art.http_status, art.body) else ()
    return Reading(stamped([allow_all], art, reference), (Checked.ROBOTS,), lint)


def read_tdmrep_file(url: str, art: Artefact | None, policy: Policy, reference: datetime | None) -> Reading:
    """/.well-known/tdmrep.json: the first layer of TDMRep (the rule matching the URL)."""
    if art is None or fetch_outcome(art.http_status) != PARSED:
        return NOTHING
    parsed = tdmrep_file(art.body, art.sha256, policy.conservative)
    found = parsed.signal(url)
    layer = stamped([found], art, reference)[0] if found else None
    return Reading(checked=(Checked.TDMREP,), lint=tuple(parsed.lint), tdmrep=layer)


def read_headers(art: Artefact, policy: Policy, reference: datetime | None) -> Reading:
    """The resource's HTTP headers: X-Robots-Tag, Content-Usage, Link licences, the TDMRep layer."""
    lines, problem = evidence_headers(art.body)
    if problem:
        malformed = malformed_signal(SignalKind.X_ROBOTS_TAG, EvidenceKind.HEADERS, problem)
        return Reading(stamped([malformed], art, reference), lint=("malformed_evidence",))
    sigs, tdm, tdm_lint = header_signals(lines, policy.conservative)
    layer = stamped([tdm], art, reference)[0] if tdm else None
    return Reading(stamped(sigs, art, reference), (Checked.HEADERS,), tuple(tdm_lint), layer)


def read_html_meta(art: Artefact, policy: Policy, reference: datetime | None) -> Reading:
    """The page's meta robots, licence links and TDMRep meta tags (the TDMRep layer)."""
    facts, problem = evidence_facts(art.body)
    if problem:
        malformed = malformed_signal(SignalKind.META_ROBOTS, EvidenceKind.HTML_META, problem)
        return Reading(stamped([malformed], art, reference), lint=("malformed_evidence",))
    sigs = html_signals(facts, policy.conservative)
    meta = [s for s in sigs if s.signal == "tdmrep"]
    layer = stamped(meta, art, reference)[0] if meta else None
    others = stamped([s for s in sigs if s.signal != "tdmrep"], art, reference)
    return Reading(others, (Checked.HTML,), tdmrep=layer)


def read_resource(art: Artefact, policy: Policy, reference: datetime | None) -> Reading:
    if art.kind == EvidenceKind.HEADERS:
        return read_headers(art, policy, reference)
    if art.kind == EvidenceKind.HTML_META:
        return read_html_meta(art, policy, reference)
    return NOTHING


def read_asset(asset: tuple[Signal, ...]) -> Reading:
    """Embedded metadata (IPTC DataMining, C2PA, TDMRep in EPUB/PDF): already signals."""
    if not asset:
        return NOTHING
    package = next((s for s in asset if s.signal == "tdmrep"), None)
    return Reading(tuple(s for s in asset if s.signal != "tdmrep"), (Checked.EMBEDDED,), tdmrep=package)


def read_tdmrep(file: Reading, headers: Reading | None, meta: Reading | None, asset: Reading) -> Reading:
    """TDMRep's layers: file, then header, then HTML meta, then the package; later layers
    supersede, absence never resets."""
    layers = [r.tdmrep if r else None for r in (file, headers, meta, asset)]
    final, lint = tdmrep_layers(layers)
    return Reading((replace(final, lint=final.lint + lint),)) if final is not None else NOTHING


def read_ai_txt(url: str, art: Artefact | None, policy: Policy, reference: datetime | None) -> Reading:
    """ai.txt (Spawning): the first of the policy's agents it names decides."""
    if art is None or fetch_outcome(art.http_status) != PARSED:
        return NOTHING
    parsed, lint = parsed_ai_txt(art.body, art.sha256)
    if parsed is None:
        return Reading(lint=lint)
    for agent in policy.agents:
        found = ai_txt_signal(parsed, url, agent)
        if found:
            return Reading(stamped([found], art, reference), (Checked.AI_TXT,), lint)
    return Reading(checked=(Checked.AI_TXT,), lint=lint)


def read_rsl(url: str, art: Artefact, reference: datetime | None) -> Reading:
    """One RSL licence document (named by robots.txt `License:` or a page's licence link)."""
    contents, lint = parsed_rsl(art.body, art.sha256)
    found = rsl_signal(contents, url, f"RSL {art.url}")
    if not found:
        return Reading(lint=lint)
    return Reading(stamped([found], art, reference), (Checked.RSL,), lint)


def read_blocklist(blocklisted: tuple[str, str | None] | None) -> Reading:
    """A domain on a blocklist the operator imported: reserved for everyone."""
    if not blocklisted:
        return NOTHING
    name, why = blocklisted
    listed = Signal.whole_origin(
        SignalKind.BLOCKLIST,
        Statement.RESERVED,
        f"blocklist {name}",
        Confidence.HIGH,
        why or f"domain listed in {name}",
        category=Category.TDM,
    )
    return Reading((listed,))


# -- all of them ---------------------------------------------------------------------------------
def decide(url: str, evidence: Evidence, policy: Policy, *, modality: str = "text") -> Decision:
    """Every protocol's reading, in a fixed order (the reasons' tie order), then `combine`."""
    when = evidence.reference_time
    tdm_file = read_tdmrep_file(url, evidence.tdmrep, policy, when)
    resource = [(art.kind, read_resource(art, policy, when)) for art in evidence.resource]
    asset = read_asset(evidence.asset)
    tdmrep = read_tdmrep(
        tdm_file, _last_layer(resource, EvidenceKind.HEADERS), _last_layer(resource, EvidenceKind.HTML_META), asset
    )
    readings = [
        read_robots(url, evidence.robots, policy, when),
        tdm_file,
        *(r for _, r in resource),
        asset,
        tdmrep,
        read_ai_txt(url, evidence.ai_txt, policy, when),
        *(read_rsl(url, art, when) for art in evidence.rsl),
        read_blocklist(evidence.blocklisted),
    ]
    return combine(url, readings, policy, modality)


def _last_layer(resource: list[tuple[str, Reading]], kind: str) -> Reading | None:
    """The last artefact of a kind that carried a TDMRep layer (absence never resets)."""
    return next((r for k, r in reversed(resource) if k == kind and r.tdmrep is not None), None)


_ORDER: dict[str, int] = {Statement.RESERVED: 0, Statement.CONDITIONAL: 1, Statement.PERMITTED: 2, Statement.NONE: 3}


def _strength(s: Signal) -> tuple[int, int, str]:
    return (_ORDER[s.statement], CONFIDENCE.index(s.confidence), s.signal)


def applicable(statements: Iterable[Signal], policy: Policy, modality: str) -> list[Signal]:
    """The statements that speak to this policy's agents and usage, and to the URL's modality."""
    agents = policy.agent_set
    return [
        s
        for s in statements
        if s.signal != SignalKind.LICENCE_MARKUP
        and s.applies_to(agents)
        and s.covers(policy.usage)
        and (s.scope != "modality" or s.scope_value == modality)
        and (policy.vendor_lookalikes or "vendor_lookalike" not in s.lint)
    ]


def combine(url: str, readings: list[Reading], policy: Policy, modality: str) -> Decision:
    """Across protocols the most restrictive statement wins; an unreachable robots.txt reserves;
    a page served as robots.txt is never a silent allow; nothing checked is unknown."""
    statements: list[Signal] = []
    checked: list[str] = []
    lint: list[str] = []
    for r in readings:
        if r is not NOTHING:
            statements += r.statements
            checked += r.checked
            lint += r.lint
    found = applicable(statements, policy, modality)
    restrictive = [
        s
        for s in found
        if s.statement in (Statement.RESERVED, Statement.CONDITIONAL) and s.signal != SignalKind.ROBOTS_UNREACHABLE
    ]
    unreachable = [s for s in found if s.signal == SignalKind.ROBOTS_UNREACHABLE]
    blind = [s for s in found if s.signal == SignalKind.ROBOTS_NOT_ROBOTS]
    if restrictive:
        verdict, reasons = Verdict.RESERVED, sorted(restrictive, key=_strength)
    elif unreachable:
        verdict, reasons = Verdict.RESERVED, unreachable
    elif blind:
        verdict, reasons = Verdict.UNKNOWN, blind
    elif checked:
        verdict, reasons = Verdict.ALLOWED, sorted(found, key=_strength)
    else:
        verdict, reasons = Verdict.UNKNOWN, []
    return Decision(
        url,
        verdict,
        tuple(reasons),
        tuple(dict.fromkeys(checked)),
        tuple(s for s in statements if s.signal == SignalKind.LICENCE_MARKUP),
        policy.name,
        policy.version,
        policy.usage,
        tuple(dict.fromkeys(lint)),
    )


def has_content_usage(parsed: RobotsTxt) -> bool:
    """Whether a robots.txt has Content-Usage lines (path-scoped: rule hits alone do not decide).
    Asked once per file or origin, never per URL."""
    return bool(parsed.records("content-usage"))
