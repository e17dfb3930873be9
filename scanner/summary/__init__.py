"""The EU public summary of training content: build from the store and manifest, version, diff,
render (Markdown, JSON, HTML)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from scanner.corpus.records import sha256_hex
from scanner.manifest import Manifest
from scanner.store import Store
from scanner.summary.model import build_summary
from scanner.summary.render import to_html, to_json, to_markdown

RENDERERS = {"md": to_markdown, "json": to_json, "html": to_html}
SCHEMA = Path(__file__).with_name("summary.schema.json")

__all__ = ["RENDERERS", "SCHEMA", "build_summary", "diff_summaries", "publish_summary"]


def _content_key(summary: dict) -> str:
    """What counts as a change: everything but the version, the dates and the header."""
    body = {k: v for k, v in summary.items() if k not in ("version", "generated_at")}
    body["sections"] = [s for s in summary["sections"] if s["id"] != "0"]
    return sha256_hex(json.dumps(body, sort_keys=True, default=str))


def publish_summary(
    store: Store,
    manifest: Manifest,
    *,
    policy: str = "any-ai-trainer",
    exclude_reserved: bool = True,
    cluster_reserved: bool = False,
    now: datetime | None = None,
) -> tuple[dict, bool]:
    """Build the summary; store it as a new version when its content changed.

    Returns (summary, is_new_version). Re-running on an unchanged store keeps the version.
    """
    previous = store.summaries()
    draft = build_summary(
        store,
        manifest,
        policy=policy,
        exclude_reserved=exclude_reserved,
        cluster_reserved=cluster_reserved,
        version=(previous[-1]["version"] + 1) if previous else 1,
        previous=[{"version": p["version"], "generated_at": p["generated_at"].isoformat()} for p in previous],
        generated_at=now,
    )
    key = _content_key(draft)
    if previous and previous[-1]["content_sha256"] == key:
        return json.loads(previous[-1]["document"]), False
    store.add_summary(
        draft["version"],
        datetime.fromisoformat(draft["generated_at"]),
        str(manifest.path),
        key,
        json.dumps(draft, default=str),
    )
    return draft, True


def diff_summaries(old: dict, new: dict) -> dict:
    """What changed between two versions: domains in and out of the 2.3 list, size bands,
    protocols checked, attestations, any other field value."""

    def fields(s: dict) -> dict[str, dict]:
        return {f["id"]: f for sec in s["sections"] for f in sec["fields"]}

    a, b = fields(old), fields(new)
    out: dict = {"from_version": old["version"], "to_version": new["version"], "changed_fields": []}
    da = set((a.get("2.3.h") or {}).get("value", {}).get("domains", []) or [])
    db = set((b.get("2.3.h") or {}).get("value", {}).get("domains", []) or [])
    out["domains_added"], out["domains_removed"] = sorted(db - da), sorted(da - db)

    def bands(f: dict | None) -> dict:
        return {r["modality"]: r["training_data_size"] for r in (f or {}).get("value") or []}

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
