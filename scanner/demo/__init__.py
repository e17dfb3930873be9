"""`provenance demo`: the main job end to end on the bundled real sample.

It grows stage by stage as the project grows; every step is the same library call a user makes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from scanner import api
from scanner.dedup.clusters import dedup
from scanner.evidence import import_evidence, parse_time
from scanner.manifest import load_manifest
from scanner.store import Store


def sample_dir() -> Path:
    return Path(str(files("scanner.demo") / "sample"))


@dataclass(frozen=True, slots=True)
class DemoResult:
    store_path: str
    ingest: api.IngestReport
    robots_imported: int
    decisions: dict
    counts: dict[str, int]
    summary_version: int | None  # None: a draft (only a final takes a version number)
    summary_files: list[str]
    dedup: dict = field(default_factory=dict)  # the dedup stage's counts (clusters, duplicates)


def run_demo(
    store: Store,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    out_dir: Path | None = None,
) -> DemoResult:
    sample = sample_dir()
    manifest = load_manifest(sample / "manifest.toml")
    api.declare(store, manifest)
    report = api.ingest(store, api.manifest_jobs(manifest), workers=workers, progress=progress)
    listing = json.loads((sample / "robots" / "index.json").read_text())
    for item in listing:
        import_evidence(
            store,
            sample / "robots" / item["file"],
            url=item["url"],
            observed_at=parse_time(item["observed_at"]),
            http_status=item["status"],
            run_id=report.run_id,
        )
    api.extract_signals(store)
    decisions = api.decide_documents(store, "any-ai-trainer")
    dedup_stats = dedup(store, threshold=0.8)
    result = api.summary(
        store,
        manifest,
        formats=("md", "json", "html"),
        output=(out_dir / "provenance-summary") if out_dir is not None else None,
    )
    version = result.document.get("version")
    return DemoResult(
        store.path, report, len(listing), decisions, store.counts(), version, result.written, dedup_stats
    )
