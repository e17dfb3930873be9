"""The EU public summary of training content and the California AB 2013 documentation: build from
the store and manifest, gate the final, version, diff, render (Markdown, JSON, HTML, PDF).

A draft is for the reviewer: DRAFT on every page, field ids and source notes shown, no version
number. A final is refused while anything is missing or contradicted; only a final is stored and
takes the next public version number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from scanner.corpus.records import sha256_hex
from scanner.decide import PolicyName
from scanner.errors import ScannerError
from scanner.manifest import Manifest
from scanner.store import Store
from scanner.summary.build import WHITESPACE_TOKENIZER, build_summary
from scanner.summary.domains import SuffixSection
from scanner.summary.facts import DomainMeasure, Facts, gather
from scanner.summary.gate import final_problems
from scanner.summary.render import to_html, to_json, to_markdown
from scanner.version import __version__

RENDERERS = {"md": to_markdown, "json": to_json, "html": to_html}
SCHEMA = Path(__file__).with_name("summary.schema.json")
TEMPLATES = ("eu", "ca-ab2013")

__all__ = [
    "RENDERERS",
    "SCHEMA",
    "TEMPLATES",
    "DomainMeasure",
    "SuffixSection",
    "SummaryOptions",
    "SummaryRefused",
    "build_summary",
    "diff_summaries",
    "publish_summary",
]


class SummaryRefused(ScannerError):
    """`--final` while the summary is not fit to file; lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"final summary refused, {len(problems)} problem(s) to fix first:\n{lines}")


@dataclass(frozen=True, slots=True)
class SummaryOptions:
    policy: str = PolicyName.ANY_AI_TRAINER
    exclude_reserved: bool = True
    cluster_reserved: bool = False
    domain_measure: DomainMeasure = DomainMeasure.SCRAPED
    suffixes: SuffixSection = SuffixSection.PRIVATE
    tokenizer_file: Path | None = None  # a Hugging Face tokenizer.json; None: the ingest's whitespace count


def _content_key(summary: dict) -> str:
    """What counts as a change: everything but the version, the dates and the header."""
    body = {k: v for k, v in summary.items() if k not in ("version", "generated_at", "status")}
    body["sections"] = [s for s in summary["sections"] if s["id"] != "0"]
    return sha256_hex(json.dumps(body, sort_keys=True, default=str))


def gather_facts(store: Store, manifest: Manifest, options: SummaryOptions) -> tuple[Facts, str]:
    """The facts and the name of what text tokens count (recounted with a named tokenizer, the
    run and its totals recorded in the store's runs table)."""
    exclude = "cluster" if options.exclude_reserved and options.cluster_reserved else options.exclude_reserved
    facts = gather(
        store,
        policy=options.policy,
        exclude=exclude,
        sme=manifest.provider.sme,
        domain_measure=options.domain_measure,
        suffixes=options.suffixes,
    )
    if options.tokenizer_file is None:
        return facts, WHITESPACE_TOKENIZER
    from scanner.summary.tokens import load_tokenizer, recount

    tok = load_tokenizer(options.tokenizer_file)
    run_id = store.start_run("summary-tokens", {"tokenizer": str(tok.path), "sha256": tok.sha256})
    counts = recount(store, tok, options.policy, exclude)
    rows = [
        {**r, "tokens": counts.get((r["source_id"], r["modality"]), 0)} if r["modality"] == "text" else r
        for r in facts.rows
    ]
    store.finish_run(
        run_id,
        "ok",
        {
            "tokenizer": tok.path.name,
            "sha256": tok.sha256,
            "tokens": sum(counts.values()),
            "documents_sources": len(counts),
        },
        [],
    )
    return replace(facts, rows=rows), tok.description


def _next_version(store: Store, manifest: Manifest) -> int:
    stored = [p["version"] for p in store.summaries()]
    earlier = [int(p.version) for p in manifest.publication.previous_versions if p.version.isdigit()]
    return max([0, *stored, *earlier]) + 1


def publish_summary(
    store: Store,
    manifest: Manifest,
    options: SummaryOptions = SummaryOptions(),
    *,
    template: str = "eu",
    final: bool = False,
    now: datetime | None = None,
) -> tuple[dict, bool]:
    """Build the summary. A draft is returned, never stored. A final is refused (SummaryRefused)
    while any problem holds; otherwise it is stored as a new version when its content changed.

    Returns (document, is_new_version).
    """
    if template not in TEMPLATES:
        raise ScannerError(f"--template {template!r}: use {' or '.join(TEMPLATES)}")
    now = now or datetime.now(UTC)
    facts, tokenizer = gather_facts(store, manifest, options)
    generator = f"provenance-scanner {__version__}"
    if template == "ca-ab2013":
        from scanner.summary.ab2013 import build_ab2013

        doc = build_ab2013(manifest, facts, status="final" if final else "draft", generated_at=now, generator=generator)
        problems = doc.pop("problems")
        if final and problems:
            raise SummaryRefused(problems)
        return doc, False
    draft = build_summary(manifest, facts, tokenizer=tokenizer, generated_at=now, generator=generator)
    problems = final_problems(draft, manifest, facts)
    if not final:
        draft["review"] = {"problems_before_final": problems}
        return draft, False
    if problems:
        raise SummaryRefused(problems)
    previous = [p for p in store.summaries() if json.loads(p["document"]).get("status") == "final"]
    stored = [{"version": p["version"], "date": p["generated_at"].date().isoformat()} for p in previous]
    doc = build_summary(
        manifest,
        facts,
        status="final",
        version=_next_version(store, manifest),
        stored_finals=stored,
        tokenizer=tokenizer,
        generated_at=now,
        generator=generator,
    )
    key = _content_key(doc)
    if previous and previous[-1]["content_sha256"] == key:
        return json.loads(previous[-1]["document"]), False
    store.add_summary(doc["version"], now, str(manifest.path), key, json.dumps(doc, default=str))
    return doc, True


def last_final(store: Store) -> dict | None:
    finals = [json.loads(p["document"]) for p in store.summaries()]
    finals = [d for d in finals if d.get("status") == "final"]
    return finals[-1] if finals else None


def diff_summaries(old: dict, new: dict) -> dict:
    """What changed between two summaries: domains in and out of the 2.3 list, size bands,
    attestations, any other field value."""

    def fields(s: dict) -> dict[str, dict]:
        return {f["id"]: f for sec in s["sections"] for f in sec["fields"]}

    a, b = fields(old), fields(new)
    out: dict = {"from_version": old.get("version"), "to_version": new.get("version"), "changed_fields": []}
    da = set((a.get("2.3.h") or {}).get("value", {}).get("domains", []) or [])
    db = set((b.get("2.3.h") or {}).get("value", {}).get("domains", []) or [])
    out["domains_added"], out["domains_removed"] = sorted(db - da), sorted(da - db)

    def bands(f: dict | None) -> dict:
        return {r["modality"]: r.get("training_data_size") for r in (f or {}).get("value") or []}

    out["band_changes"] = {
        m: [bands(a.get("1.3.a")).get(m), v]
        for m, v in bands(b.get("1.3.a")).items()
        if bands(a.get("1.3.a")).get(m) != v
    }
    for fid in sorted(set(a) | set(b)):
        if fid in ("0.a", "0.b"):
            continue
        if (a.get(fid) or {}).get("value") != (b.get(fid) or {}).get("value"):
            out["changed_fields"].append(fid)
    return out
