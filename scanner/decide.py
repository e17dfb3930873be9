"""Decisions: the evidence seen for a URL + a named, versioned policy -> allowed / reserved / unknown.

Spec opt-out-signals.md §2.4: each protocol is first resolved by its own precedence rules; across
protocols the most restrictive statement wins (a permission never cancels a reservation); an
unreachable robots.txt is a full disallow under RFC 9309; "allowed" means no machine-readable
reservation was found in the protocols checked, never a licence. Pure: no store, no network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property, lru_cache

from scanner.signals.ai_txt import ai_txt_signal, parse_ai_txt
from scanner.signals.fetch_outcome import PARSED, UNREACHABLE, fetch_outcome, looks_like_challenge, served_as
from scanner.signals.headers import evidence_headers, header_signals
from scanner.signals.html import evidence_facts, html_signals
from scanner.signals.model import CONFIDENCE, Signal
from scanner.signals.robots import parse_robots
from scanner.signals.robots_signals import not_robots_signal, robots_signals, unavailable_signal, unreachable_signal
from scanner.signals.rsl import parse_rsl, rsl_signal
from scanner.signals.statements import malformed_signal
from scanner.signals.tdmrep import parse_tdmrep, tdmrep_layers

POLICY_VERSION = "1"
STALE_AFTER = timedelta(hours=24)  # RFC 9309 §2.4: a cached robots.txt is good for 24 h


@dataclass(frozen=True)
class Policy:
    """Whose reservations count and how the [our choice] readings are taken (spec §2.5)."""

    name: str
    agents: tuple[str, ...]  # product tokens, lower-case; "*" is the statement to unnamed crawlers
    version: str = POLICY_VERSION
    usage: str = "train-ai"
    unreachable_is_disallow: bool = True  # RFC 9309 §2.3.1.4
    conservative: bool = True  # legacy aipref labels, conflicting TDMRep values read as reserved
    # Vendor look-alikes (`noarchive` for Bingbot/Amazonbot, spec §7.4) count only when the policy
    # asks about that one vendor: a search directive is not an AI reservation for everyone.
    vendor_lookalikes: bool = False
    # An HTML or challenge page served as robots.txt says nothing: unknown, unless the policy
    # reads it as unreachable (a complete disallow), as `strict` does.
    not_robots_is_unreachable: bool = False

    @property
    def agent_set(self) -> frozenset[str]:
        return frozenset(self.agents)


POLICY_NAMES = ("any-ai-trainer", "own-token", "generic", "strict-literal", "strict")


def make_policy(name: str = "any-ai-trainer", *, own_token: str | None = None, agent: str | None = None) -> Policy:
    """A named policy. `agent` asks for one agent's view (its group, else `*`)."""
    from scanner.agents import TRAINING_ROLES, default_registry
    from scanner.signals.robots import product_token

    if agent:
        token = product_token(agent) or agent.lower()
        return Policy(f"agent:{token}", (token,), vendor_lookalikes=True)
    if name == "any-ai-trainer":
        return Policy(name, (*default_registry().tokens(TRAINING_ROLES), "*"))
    if name == "own-token":
        if not own_token:
            raise ValueError("policy own-token needs the crawler's product token (manifest [crawler])")
        return Policy(name, (product_token(own_token),))
    if name == "generic":
        return Policy(name, ("*",))
    if name == "strict-literal":
        return Policy(name, (*default_registry().tokens(TRAINING_ROLES), "*"), conservative=False)
    if name == "strict":
        return Policy(name, (*default_registry().tokens(TRAINING_ROLES), "*"), not_robots_is_unreachable=True)
    raise ValueError(f"unknown policy {name!r} (one of {', '.join(POLICY_NAMES)})")


@dataclass(frozen=True)
class Artefact:
    """One stored sighting of evidence: the bytes and how they were served."""

    kind: str  # robots.txt | tdmrep.json | ai.txt | rsl | headers | html-meta
    url: str
    body: bytes
    sha256: str
    observed_at: datetime | None
    http_status: int | None = 200


@dataclass(frozen=True)
class Evidence:
    """Everything known about one URL as of a time: per-origin files, the resource's own
    evidence, a blocklist hit. `reference_time` (the document's fetch time or the as-of time)
    makes older evidence stale."""

    robots: Artefact | None = None
    tdmrep: Artefact | None = None
    ai_txt: Artefact | None = None
    rsl: tuple[Artefact, ...] = ()
    resource: tuple[Artefact, ...] = ()  # headers and html-meta of the URL itself
    blocklisted: tuple[str, str | None] | None = None  # (list name, reason)
    reference_time: datetime | None = None
    asset: tuple[Signal, ...] = ()  # from embedded metadata (IPTC DataMining, TDMRep in EPUB/PDF)


@dataclass(frozen=True)
class Decision:
    url: str
    verdict: str  # allowed | reserved | unknown
    reasons: tuple[Signal, ...]  # the statements that decided, strongest first
    checked: tuple[str, ...]  # protocols successfully checked
    licences: tuple[Signal, ...]  # licence evidence: information, never changes the verdict
    policy: str
    policy_version: str
    usage: str
    lint: tuple[str, ...] = field(default=())

    @property
    def evidence_sha256(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.evidence_sha256 for s in self.reasons if s.evidence_sha256))

    def at(self, url: str) -> Decision:
        """The same decision about another URL (one of the same path shape, see `path_shape`).
        Copies the fields directly: a frozen dataclass's __init__ costs more than the rest of a
        warm hook check."""
        other = object.__new__(Decision)
        fields = dict(self.__dict__)
        fields.pop("_dict", None)  # the cached JSON view names the old URL
        fields["url"] = url
        other.__dict__.update(fields)
        return other

    def as_dict(self) -> dict:
        """A JSON-ready view; built once per decision (the hook serves memoised decisions)."""
        return self._dict

    @cached_property
    def _dict(self) -> dict:
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


def reason_dict(s: Signal) -> dict:
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


# -- parsing artefacts, cached by content address --------------------------------------------------
_PARSED_ROBOTS: dict[str, object] = {}


def licence_urls(body: bytes, sha256: str) -> tuple[str, ...]:
    """The RSL `License:` URLs of a robots.txt, kept per content address."""
    key = "license:" + sha256
    found = _PARSED_ROBOTS.get(key)
    if found is None:
        found = _PARSED_ROBOTS[key] = tuple(r.value for _, r in _robots(body, sha256).records("license"))
    return found


def _robots(body: bytes, sha256: str | None = None):
    """Parsed robots.txt, kept per content address: thousands of documents share one file."""
    key = sha256 or hashlib.sha256(body).hexdigest()
    parsed = _PARSED_ROBOTS.get(key)
    if parsed is None:
        if len(_PARSED_ROBOTS) >= 20_000:
            _PARSED_ROBOTS.clear()
        parsed = _PARSED_ROBOTS[key] = parse_robots(body)
    return parsed


@lru_cache(maxsize=4096)
def _tdmrep(body: bytes, conservative: bool):
    return parse_tdmrep(body, conservative)


@lru_cache(maxsize=4096)
def _ai_txt(body: bytes):
    return parse_ai_txt(body)


@lru_cache(maxsize=1024)
def _rsl(body: bytes):
    return parse_rsl(body)


# -- the verdict ---------------------------------------------------------------------------------
def decide(url: str, evidence: Evidence, policy: Policy, *, modality: str = "text") -> Decision:
    statements: list[Signal] = []
    checked: list[str] = []
    lint: list[str] = []

    def stamp(signals: list[Signal], art: Artefact) -> list[Signal]:
        out = [s.with_evidence(art.sha256, art.observed_at) for s in signals]
        if _stale(art, evidence.reference_time):
            out = [s.lowered("stale_evidence") for s in out]
        return out

    # robots.txt: fetch outcome first, then the groups and rules of a parsed file
    if evidence.robots is not None:
        art = evidence.robots
        outcome = fetch_outcome(art.http_status)
        parsed = _robots(art.body, art.sha256) if outcome == PARSED else None
        served = served_as(art.http_status, art.body, parsed)
        if served:
            statements += stamp([not_robots_signal(art.http_status, served, policy.not_robots_is_unreachable)], art)
            lint.append(served)
        elif outcome == PARSED:
            statements += stamp(robots_signals(parsed, url, policy.agents, policy.conservative), art)
            checked.append("robots")
            lint += [x.code for x in parsed.lint if x.code in ("html_body", "truncated", "non_utf8")]
        elif outcome == UNREACHABLE:
            if policy.unreachable_is_disallow:
                statements += stamp([unreachable_signal(art.http_status)], art)
        else:
            if looks_like_challenge(art.http_status, art.body):
                lint.append("status_4xx_bot_wall")
            statements += stamp([unavailable_signal(art.http_status)], art)
            checked.append("robots")

    # TDMRep: file, then header, then HTML meta; later layers supersede, absence never resets
    file_layer = header_layer = meta_layer = None
    if evidence.tdmrep is not None and fetch_outcome(evidence.tdmrep.http_status) == PARSED:
        tdm_file = _tdmrep(evidence.tdmrep.body, policy.conservative)
        lint += list(tdm_file.lint)
        found = tdm_file.signal(url)
        file_layer = stamp([found], evidence.tdmrep)[0] if found else None
        checked.append("tdmrep")

    for art in evidence.resource:
        if art.kind == "headers":
            lines, problem = evidence_headers(art.body)
            if problem:
                lint.append("malformed_evidence")
                statements += stamp([malformed_signal("x_robots_tag", "headers", problem)], art)
                continue
            sigs, tdm, tdm_lint = header_signals(lines, policy.conservative)
            lint += tdm_lint
            header_layer = stamp([tdm], art)[0] if tdm else header_layer
            statements += stamp(sigs, art)
            checked.append("headers")
        elif art.kind == "html-meta":
            facts, problem = evidence_facts(art.body)
            if problem:
                lint.append("malformed_evidence")
                statements += stamp([malformed_signal("meta_robots", "html-meta", problem)], art)
                continue
            sigs = html_signals(facts, policy.conservative)
            meta = [s for s in sigs if s.signal == "tdmrep"]
            meta_layer = stamp(meta, art)[0] if meta else meta_layer
            statements += stamp([s for s in sigs if s.signal != "tdmrep"], art)
            checked.append("html")
    package_layer = next((s for s in evidence.asset if s.signal == "tdmrep"), None)
    statements += [s for s in evidence.asset if s.signal != "tdmrep"]
    if evidence.asset:
        checked.append("embedded")
    tdm_final, tdm_lint = tdmrep_layers([file_layer, header_layer, meta_layer, package_layer])
    if tdm_final is not None:
        statements.append(replace(tdm_final, lint=tdm_final.lint + tdm_lint))

    if evidence.ai_txt is not None and fetch_outcome(evidence.ai_txt.http_status) == PARSED:
        parsed, ai_lint = _ai_txt(evidence.ai_txt.body)
        lint += list(ai_lint)
        if parsed is not None:
            checked.append("ai.txt")
            for agent in policy.agents:
                found = ai_txt_signal(parsed, url, agent)
                if found:
                    statements += stamp([found], evidence.ai_txt)
                    break

    for art in evidence.rsl:
        contents, rsl_lint = _rsl(art.body)
        lint += list(rsl_lint)
        found = rsl_signal(contents, url, f"RSL {art.url}")
        if found:
            statements += stamp([found], art)
            checked.append("rsl")

    if evidence.blocklisted:
        name, why = evidence.blocklisted
        statements.append(
            Signal(
                signal="blocklist",
                category="tdm",
                statement="reserved",
                agents=("*",),
                scope="origin",
                locator=f"blocklist {name}",
                confidence="high",
                detail=why or f"domain listed in {name}",
            )
        )

    return _combine(url, statements, checked, lint, policy, modality)


def _stale(art: Artefact, reference: datetime | None) -> bool:
    return bool(reference and art.observed_at and art.observed_at < reference - STALE_AFTER)


_ORDER = {"reserved": 0, "conditional": 1, "permitted": 2, "none": 3}


def _combine(
    url: str, statements: list[Signal], checked: list[str], lint: list[str], policy: Policy, modality: str
) -> Decision:
    agents = policy.agent_set
    licences = tuple(s for s in statements if s.signal == "licence_markup")
    applicable = [
        s
        for s in statements
        if s.signal != "licence_markup"
        and s.applies_to(agents)
        and s.covers(policy.usage)
        and (s.scope != "modality" or s.scope_value == modality)
        and (policy.vendor_lookalikes or "vendor_lookalike" not in s.lint)
    ]
    restrictive = [
        s for s in applicable if s.statement in ("reserved", "conditional") and s.signal != "robots_unreachable"
    ]
    unreachable = [s for s in applicable if s.signal == "robots_unreachable"]
    blind = [s for s in applicable if s.signal == "robots_not_robots"]

    def key(s: Signal) -> tuple:
        return (_ORDER[s.statement], CONFIDENCE.index(s.confidence), s.signal)

    if restrictive:
        verdict, reasons = "reserved", sorted(restrictive, key=key)
    elif unreachable:
        verdict, reasons = "reserved", unreachable
    elif blind:  # never a silent allow read from an HTML page
        verdict, reasons = "unknown", blind
    elif checked:
        verdict, reasons = "allowed", sorted(applicable, key=key)
    else:
        verdict, reasons = "unknown", []
    return Decision(
        url,
        verdict,
        tuple(reasons),
        tuple(dict.fromkeys(checked)),
        licences,
        policy.name,
        policy.version,
        policy.usage,
        tuple(dict.fromkeys(lint)),
    )


def shape_rules(evidence: Evidence, policy: Policy) -> tuple | None:
    """For evidence shared by a whole origin, the rule sets a URL's path is matched against: the
    decision then depends only on which rule of each set the path hits (`path_shape`), so a hook
    decides each shape once. () when the decision does not depend on the path; None when it
    depends on more than rules (path-scoped TDMRep, ai.txt or Content-Usage, own evidence)."""
    if evidence.tdmrep or evidence.ai_txt or evidence.rsl or evidence.resource or evidence.asset:
        return None
    art = evidence.robots
    if art is None or fetch_outcome(art.http_status) != PARSED:
        return ()
    parsed = _robots(art.body, art.sha256)
    if has_content_usage(parsed):
        return None
    return tuple(rs for _, rs in parsed.partition(policy.agents))


def path_shape(path: str, rulesets: tuple) -> tuple:
    """Whether the (normalised) path is /robots.txt (always allowed) and the rule each set
    decides it by."""
    if len(rulesets) == 1:
        return (path == "/robots.txt", id(rulesets[0].decide(path)))
    return (path == "/robots.txt", *(id(rs.decide(path)) for rs in rulesets))


def has_content_usage(parsed) -> bool:
    """Whether a robots.txt has Content-Usage lines (path-scoped: rule hits alone do not decide).
    Asked once per file or origin, never per URL."""
    return bool(parsed.records("content-usage"))
