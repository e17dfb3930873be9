"""A site's history as evidence shows it: every sighting of its robots.txt (and TDMRep, ai.txt) in
time order, when the file changed, how the rules for one agent changed, and each date the verdict
flipped. Each sighting is judged as of its own time, by the same decision path as `status`.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from scanner.decide import Policy, Verdict, decide
from scanner.errors import ScannerError
from scanner.evidence import ORIGIN_KINDS, EvidenceIndex, EvidenceKind, served_outcome
from scanner.signals.fetch_outcome import PARSED, fetch_outcome
from scanner.signals.robots import parse_robots, product_token
from scanner.store import Store
from scanner.urls import split_url


def agent_rules(body: bytes, agent: str) -> list[str]:
    """The rules that apply to an agent, as written (its own group, else `*`)."""
    rules = parse_robots(body).ruleset(product_token(agent) or agent.lower())
    where = " (from the * group)" if rules.fallback else ""
    return [f"{r.directive.capitalize()}: {r.value}{where}" for g in rules.groups for r in g.rules]


def _origin(url: str) -> str:
    parts = split_url(url)
    if parts is None:
        raise ScannerError(f"{url!r} is not an http(s) URL with a host")
    return parts.origin


def build_history(store: Store, urls: tuple[str, ...], agent: str | None, policy: Policy) -> dict[str, Any]:
    """The history of the first of `urls` whose origin has sightings (a bare domain's home pages)."""
    from scanner.store import reports

    chosen, rows = urls[0], []
    for url in urls:
        rows = reports.origin_sightings(store, _origin(url), ORIGIN_KINDS)
        if rows:
            chosen = url
            break
    origin = _origin(chosen)
    index = EvidenceIndex.load(store, origins=[origin], urls=[chosen])
    who = agent or "*"
    sightings, flips = [], []
    last_sha: dict[str, str] = {}
    last_rules: list[str] | None = None
    last_verdict = None
    for row in rows:
        when = row["observed_at"]
        decision = decide(chosen, index.evidence_for(chosen, when, reference=when), policy)
        kind = row["kind"]
        changed = kind in last_sha and last_sha[kind] != row["evidence_sha256"]
        first = kind not in last_sha
        last_sha[kind] = row["evidence_sha256"]
        entry = {
            "observed_at": when,
            "kind": kind,
            "url": row["url"],
            "via": row["via"],
            "http_status": row["http_status"],
            "sha256": row["evidence_sha256"],
            "outcome": served_outcome(kind, row["http_status"], row["body"]),
            "first": first,
            "changed": changed,
            "verdict": decision.verdict,
            "reason": decision.reasons[0].detail if decision.reasons else None,
            "rules_added": [],
            "rules_removed": [],
        }
        if kind == EvidenceKind.ROBOTS_TXT and fetch_outcome(row["http_status"]) == PARSED and not entry["outcome"]:
            rules = agent_rules(row["body"], who)
            if last_rules is not None and rules != last_rules:
                entry["rules_added"] = [r for r in rules if r not in last_rules]
                entry["rules_removed"] = [r for r in last_rules if r not in rules]
            last_rules = rules
        if last_verdict is not None and decision.verdict != last_verdict:
            entry["flip"] = {"from": last_verdict, "to": decision.verdict}
            flips.append({"date": when, "from": last_verdict, "to": decision.verdict, "sha256": entry["sha256"]})
        last_verdict = decision.verdict
        sightings.append(entry)
    return {
        "target": urls[0],
        "url": chosen,
        "origin": origin,
        "origins_tried": list(urls[: urls.index(chosen) + 1]) if rows else list(urls),
        "agent": agent,
        "rules_for": who,
        "policy": policy.name,
        "policy_version": policy.version,
        "sightings": sightings,
        "changes": sum(1 for s in sightings if s["changed"]),
        "flips": flips,
    }


def _d(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def to_text(doc: dict) -> str:
    lines = [
        f"History of {doc['origin']} for {doc['rules_for']} (policy {doc['policy']} v{doc['policy_version']}): "
        f"{len(doc['sightings'])} sightings, {doc['changes']} changes, {len(doc['flips'])} verdict flips"
    ]
    for s in doc["sightings"]:
        mark = "new file" if s["changed"] else ("first" if s["first"] else "same")
        lines.append(
            f"{_d(s['observed_at'])}  {s['kind']:<11} HTTP {s['http_status']}  {s['via']:<13} "
            f"{s['sha256'][:12]}  {mark:<8}  {s['verdict']}"
            + (f"  ({s['outcome']})" if s.get("outcome") else "")
            + (f"  FLIP {s['flip']['from']} -> {s['flip']['to']}" if s.get("flip") else "")
        )
        lines += [f"    + {r}" for r in s["rules_added"]] + [f"    - {r}" for r in s["rules_removed"]]
    for f in doc["flips"]:
        lines.append(f"flip on {_d(f['date'])}: {f['from']} -> {f['to']}")
    return "\n".join(lines) + "\n"


_COLOUR = {Verdict.ALLOWED: "#1a7f37", Verdict.RESERVED: "#cf222e", Verdict.UNKNOWN: "#9a6700"}


def to_html(doc: dict) -> str:
    """A self-contained timeline page (no script): one row per sighting, flips highlighted."""
    e = html.escape
    rows = []
    for s in doc["sightings"]:
        diff = "".join(f'<div class="add">+ {e(r)}</div>' for r in s["rules_added"])
        diff += "".join(f'<div class="del">- {e(r)}</div>' for r in s["rules_removed"])
        flip = f'<span class="flip">flip: {e(s["flip"]["from"])} → {e(s["flip"]["to"])}</span>' if s.get("flip") else ""
        mark = "file changed" if s["changed"] else ("first sighting" if s["first"] else "unchanged")
        mark += f", {s['outcome']}" if s.get("outcome") else ""
        rows.append(
            f'<li class="{"flipped" if s.get("flip") else ""}"><time>{e(_d(s["observed_at"]))}</time> '
            f'<span class="verdict" style="background:{_COLOUR.get(s["verdict"], "#555")}">{e(s["verdict"])}</span> '
            f"{flip}<div>{e(s['kind'])} HTTP {e(str(s['http_status']))} via {e(s['via'])}, "
            f"sha256 <code>{e(s['sha256'][:16])}</code>, {e(mark)}</div>"
            f'<div class="why">{e(s["reason"] or "")}</div>{diff}</li>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>History of {e(doc["origin"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; }}
ol {{ list-style: none; border-left: 3px solid #ccc; padding-left: 1.5em; }}
li {{ margin: 0 0 1em; position: relative; }}
li::before {{ content: ""; position: absolute; left: -2.05em; top: .35em; width: .8em; height: .8em;
  border-radius: 50%; background: #888; }}
li.flipped::before {{ background: #cf222e; }}
.verdict {{ color: #fff; padding: 0 .4em; border-radius: .3em; }}
.flip {{ font-weight: bold; color: #cf222e; }}
.add {{ color: #1a7f37; font-family: monospace; }} .del {{ color: #cf222e; font-family: monospace; }}
.why {{ color: #555; }}
</style></head><body>
<h1 id="title">History of {e(doc["origin"])}</h1>
<p>Rules for <code>{e(doc["rules_for"])}</code>; verdicts under policy <code>{e(doc["policy"])}</code>
version {e(doc["policy_version"])}. {len(doc["sightings"])} sightings, {doc["changes"]} changes of the file,
{len(doc["flips"])} verdict flips.</p>
<ol id="timeline">
{chr(10).join(rows)}
</ol></body></html>
"""
