"""`provenance decide` for a whole store: each decision computed once per group, joined in DuckDB.

A document's decision depends on its origin's robots.txt sighting (as of the document's time),
whether that sighting is stale, which rule of each of the policy's rule sets its path hits, and
its modality; everything else in the decision is shared. So DuckDB keys every document by those
facts (`scanner.store.bulk_decisions`), `decide()` runs once per distinct key on a representative
document, and DuckDB writes the per-document rows. Documents whose decision depends on more
(their own headers or meta, TDMRep / ai.txt / RSL files, a blocklist hit, path-scoped
Content-Usage rules, URLs that need normalising) take the one-by-one path, with the same
`EvidenceIndex` and `decide()` that `check` and `status` use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from scanner.decide import Artefact, Decision, Evidence, Policy, _robots, decide, decision_id, licence_urls
from scanner.evidence import EvidenceIndex
from scanner.signals.from_robots import PARSED, UNREACHABLE, robots_outcome
from scanner.signals.robots import like_pattern
from scanner.store import Store, bulk_decisions

_VERDICTS = ("allowed", "reserved", "unknown")


def decide_all(
    store: Store,
    pol: Policy,
    *,
    as_of: datetime | None,
    run_id: str,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 5000,
) -> dict[str, int]:
    index = EvidenceIndex.load(store, as_of=as_of)
    now = datetime.now(UTC)
    sightings, robots, rules = _robots_tables(index, pol)
    keys = bulk_decisions.key_documents(
        store,
        robots,
        rules,
        python_origins=sorted({o for o, kind in index.by_origin if kind != "robots.txt"}),
        python_urls=sorted(index.resource_urls),
        python_domains=sorted(index.blocklist),
        as_of=as_of,
    )
    try:
        outcomes = _outcomes(keys, sightings, pol)
        meta = {
            "policy": pol.name,
            "version": pol.version,
            "usage": pol.usage,
            "as_of": as_of.isoformat() if as_of else "",
            "as_of_ts": as_of,
            "now": now,
            "run_id": run_id,
        }
        new, counts = bulk_decisions.write_decisions(store, outcomes, meta)
        bulk = sum(counts.values())
        if progress:
            progress(bulk, 0)
        rest = bulk_decisions.python_documents(store)
    finally:
        bulk_decisions.drop(store)
    for verdict in _VERDICTS:
        counts.setdefault(verdict, 0)
    new += _one_by_one(store, rest, index, pol, as_of, run_id, now, counts, progress, batch)
    return {"documents": bulk + len(rest), "bulk_documents": bulk, "new_decisions": new, **counts}


def _robots_tables(index: EvidenceIndex, pol: Policy) -> tuple[list[dict], pa.Table, pa.Table]:
    """Every robots.txt sighting numbered, and the LIKE rules of the policy's rule sets for each
    parsed one the bulk path can take. A sighting is not `simple` when the decision depends on
    more than its rules (Content-Usage path scopes, RSL licences) or when another sighting of the
    origin has the same time (then the one-by-one order decides)."""
    sightings: list[dict] = []
    cols: dict[str, list] = {k: [] for k in ("obs", "origin", "observed_at", "parsed", "unreachable", "simple")}
    rule_cols: dict[str, list] = {k: [] for k in ("obs", "ruleset", "priority", "pattern", "prefix")}
    patterns: dict[str, list[tuple[int, int, str, str]]] = {}  # per file: origins often share one
    for (origin, kind), rows in index.by_origin.items():
        if kind != "robots.txt":
            continue
        times = [r["observed_at"] for r in rows]
        tied = len(set(times)) != len(times)
        for row in rows:
            obs = len(sightings)
            sightings.append(row)
            outcome = robots_outcome(row["http_status"])
            simple = not tied
            if outcome == PARSED:
                parsed = _robots(row["body"], row["evidence_sha256"])
                if parsed.records("content-usage") or (
                    index.has_rsl and licence_urls(row["body"], row["evidence_sha256"])
                ):
                    simple = False
                else:
                    sha = row["evidence_sha256"]
                    if sha not in patterns:
                        patterns[sha] = [
                            (ruleset, priority, *like_pattern(rule))
                            for ruleset, (_, rs) in enumerate(parsed.partition(pol.agents))
                            for priority, rule in enumerate(rs.ordered)
                        ]
                    for ruleset, priority, pattern, prefix in patterns[sha]:
                        for k, v in zip(rule_cols, (obs, ruleset, priority, pattern, prefix), strict=True):
                            rule_cols[k].append(v)
            for k, v in zip(
                cols, (obs, origin, row["observed_at"], outcome == PARSED, outcome == UNREACHABLE, simple), strict=True
            ):
                cols[k].append(v)
    robots = pa.table(
        {
            "obs": pa.array(cols["obs"], pa.int64()),
            "origin": pa.array(cols["origin"], pa.string()),
            "observed_at": pa.array(cols["observed_at"], pa.timestamp("us", "UTC")),
            "parsed": pa.array(cols["parsed"], pa.bool_()),
            "unreachable": pa.array(cols["unreachable"], pa.bool_()),
            "simple": pa.array(cols["simple"], pa.bool_()),
        }
    )
    rules = pa.table(
        {
            "obs": pa.array(rule_cols["obs"], pa.int64()),
            "ruleset": pa.array(rule_cols["ruleset"], pa.int32()),
            "priority": pa.array(rule_cols["priority"], pa.int32()),
            "pattern": pa.array(rule_cols["pattern"], pa.string()),
            "prefix": pa.array(rule_cols["prefix"], pa.string()),
        }
    )
    return sightings, robots, rules


def _outcomes(keys: pa.Table, sightings: list[dict], pol: Policy) -> pa.Table:
    """`decide()` once per key, on the key's representative document."""
    out: dict[str, list] = {k: [] for k in ("key", "outcome", "verdict", "reasons", "evidence_sha256", "id_tail")}
    for k in keys.to_pylist():
        row = sightings[k["obs"]] if k["obs"] is not None else None
        robots = (
            Artefact(
                "robots.txt", row["url"], row["body"], row["evidence_sha256"], row["observed_at"], row["http_status"]
            )
            if row
            else None
        )
        evidence = Evidence(robots=robots, reference_time=k["ref"])
        d = decide(k["url"], evidence, pol, modality=k["modality"])
        outcome, reasons = outcome_of(d)
        out["key"].append(k["key"])
        out["outcome"].append(outcome)
        out["verdict"].append(d.verdict)
        out["reasons"].append(reasons)
        out["evidence_sha256"].append(list(d.evidence_sha256))
        out["id_tail"].append("\x1f".join([*([robots.sha256] if robots else []), "None"]))
    return pa.table(
        {
            "key": pa.array(out["key"], pa.string()),
            "outcome": pa.array(out["outcome"], pa.string()),
            "verdict": pa.array(out["verdict"], pa.string()),
            "reasons": pa.array(out["reasons"], pa.string()),
            "evidence_sha256": pa.array(out["evidence_sha256"], pa.list_(pa.string())),
            "id_tail": pa.array(out["id_tail"], pa.string()),
        }
    )


def outcome_of(d: Decision) -> tuple[str, str]:
    """(outcome id, reasons JSON): the decision without its URL, shared by every document decided
    alike and stored once."""
    reasons = json.dumps({f: v for f, v in d.as_dict().items() if f != "url"})
    return hashlib.sha256(reasons.encode()).hexdigest()[:32], reasons


def _one_by_one(
    store: Store,
    docs: list[dict],
    index: EvidenceIndex,
    pol: Policy,
    as_of: datetime | None,
    run_id: str,
    now: datetime,
    counts: dict[str, int],
    progress: Callable[[int, int], None] | None,
    batch: int,
) -> int:
    rows: list[dict] = []
    outcomes: dict[str, dict] = {}
    new = 0
    for doc in docs:
        when = as_of or doc["fetched_at"]
        evidence = index.evidence_for(
            doc["url"],
            when,
            reference=doc["fetched_at"] or as_of,
            origin=doc["origin"],
            domain=doc["registrable_domain"],
        )
        d = decide(doc["url"], evidence, pol, modality=doc["modality"] or "text")
        counts[d.verdict] += 1
        outcome, reasons = outcome_of(d)
        outcomes.setdefault(
            outcome,
            {"outcome": outcome, "verdict": d.verdict, "reasons": reasons, "evidence_sha256": list(d.evidence_sha256)},
        )
        rows.append(
            {
                "decision_id": decision_id(doc["doc_id"], pol, as_of, evidence),
                "doc_id": doc["doc_id"],
                "url": doc["url"],
                "policy": pol.name,
                "policy_version": pol.version,
                "usage": pol.usage,
                "as_of": as_of,
                "verdict": d.verdict,
                "outcome": outcome,
                "decided_at": now,
                "run_id": run_id,
            }
        )
        if len(rows) >= batch:
            new += _write(store, rows, outcomes, progress)
            rows, outcomes = [], {}
    return new + _write(store, rows, outcomes, progress)


def _write(store: Store, rows: list[dict], outcomes: dict[str, dict], progress) -> int:
    with store.transaction():
        store.insert("decision_outcomes", list(outcomes.values()))
        new = store.insert("decisions", rows)
    if progress and rows:
        progress(len(rows), 0)
    return new
