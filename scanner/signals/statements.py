"""Every statement one stored artefact makes, for no URL in particular: the store's `signals`.

A decision evaluates an artefact for one URL (`scanner.decide`); a legal query asks what the
artefact said at all ("every Disallow for GPTBot we saw on example.com, and when"). Both read
the same parsers. Pure: bytes in, `Signal` records out (without evidence id and time, which the
sighting adds).
"""

from __future__ import annotations

from scanner.signals.ai_txt import ai_txt_statements, parse_ai_txt
from scanner.signals.fetch_outcome import PARSED, UNAVAILABLE, UNREACHABLE, fetch_outcome, served_as
from scanner.signals.headers import aipref_signals, content_signal_signals, evidence_headers, header_signals
from scanner.signals.html import evidence_facts, html_signals
from scanner.signals.model import Confidence, Signal, SignalKind
from scanner.signals.robots import RobotsTxt, parse_robots
from scanner.signals.robots_signals import rule_signal, unavailable_signal, unreachable_signal
from scanner.signals.tdmrep import parse_tdmrep

KINDS = ("robots.txt", "ai.txt", "tdmrep.json", "headers", "html-meta")  # RSL terms need a URL


def evidence_signals(kind: str, body: bytes, http_status: int | None, conservative: bool = True) -> list[Signal]:
    """The statements of one sighting of a robots.txt, ai.txt or tdmrep.json file, or of a page's
    headers or meta tags. Files fetched without success state only their fetch outcome."""
    if kind in ("robots.txt", "ai.txt", "tdmrep.json"):
        outcome = fetch_outcome(http_status)
        if outcome == UNREACHABLE and kind == "robots.txt":
            return [unreachable_signal(http_status)]
        if outcome == UNAVAILABLE and kind == "robots.txt":  # a bot wall at 403 is not an absence
            return [] if served_as(http_status, body) else [unavailable_signal(http_status)]
        if outcome != PARSED:
            return []
    if kind == "robots.txt":
        return _robots_statements(parse_robots(body), conservative)
    if kind == "ai.txt":
        parsed, _ = parse_ai_txt(body)
        return ai_txt_statements(parsed) if parsed else []
    if kind == "tdmrep.json":
        tdm_file = parse_tdmrep(body, conservative)
        return [tdm_file.rule_signal(rule) for rule in tdm_file.rules]
    if kind == "headers":
        lines, problem = evidence_headers(body)
        if problem:
            return [malformed_signal(SignalKind.X_ROBOTS_TAG, kind, problem)]
        sigs, tdm, _ = header_signals(lines, conservative)
        return [*sigs, *([tdm] if tdm else [])]
    if kind == "html-meta":
        facts, problem = evidence_facts(body)
        if problem:
            return [malformed_signal(SignalKind.META_ROBOTS, kind, problem)]
        return html_signals(facts, conservative)
    return []


def malformed_signal(signal: SignalKind, kind: str, problem: str) -> Signal:
    """A stored artefact that cannot be read (imported junk): a statement of nothing that says so."""
    return Signal.noted(
        signal,
        "resource",
        f"{kind} evidence",
        f"stored {kind} evidence unreadable, ignored: {problem}",
        lint=("malformed_evidence",),
    )


def _robots_statements(robots: RobotsTxt, conservative: bool) -> list[Signal]:
    """Each group's rules, Content-Signal and Content-Usage lines, for the group's agents."""
    out: list[Signal] = []
    for group in robots.groups:
        agents = tuple(a for a in group.agents if a) or ("*",)
        out += [rule_signal(rule, agents) for rule in group.rules]
        for rec in group.extensions("content-signal"):
            out += content_signal_signals(rec.value, f"line {rec.line}", agents)
        for rec in group.extensions("content-usage"):
            value = rec.value.strip()
            path, pref = value.partition(" ")[::2] if value.startswith("/") else ("/", value)
            out += aipref_signals(
                pref.strip(),
                SignalKind.CONTENT_USAGE_ROBOTS,
                f"line {rec.line}",
                conservative,
                agents,
                "path-pattern",
                path,
            )
    for owner, rec in robots.records("content-signal"):
        if owner is None:  # a Content-Signal line outside any group
            out += content_signal_signals(rec.value, f"line {rec.line}", ("*",), confidence=Confidence.LOW)
    return out
