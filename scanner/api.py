"""The library API behind every face (CLI, HTTP service, notebooks): one code path per job."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scanner.corpus.ingest import FileReport, ingest_file
from scanner.corpus.jsonl import FieldMap
from scanner.errors import InputError
from scanner.manifest import Manifest
from scanner.store import Store

UNDECLARED = "undeclared"


def declare(store: Store, manifest: Manifest) -> dict[str, int]:
    """Write the manifest's datasets and blocklists; editing the manifest updates them."""
    sources = [
        {
            "source_id": ds.source_id,
            "name": ds.name,
            "version": ds.version,
            "url": ds.url,
            "category": ds.category,
            "modalities": list(ds.modalities),
            "licence": ds.licence,
            "collected_from": ds.collected_from,
            "collected_to": ds.collected_to,
            "publicly_known": ds.publicly_known,
            "manifest": str(manifest.path),
        }
        for ds in manifest.datasets
    ]
    blocked = [
        {"registrable_domain": d, "list_name": bl.name, "reason": bl.reason}
        for bl in manifest.blocklists
        for d in bl.domains
    ]
    with store.transaction():
        return {
            "sources": store.insert("sources", sources, replace=True),
            "blocklist": store.insert("blocklist", blocked, replace=True),
        }


def declare_adhoc_source(store: Store, name: str) -> str:
    """A source for files ingested without a manifest; the summary lists it as undeclared."""
    store.insert(
        "sources",
        [
            {
                "source_id": name,
                "name": name,
                "version": None,
                "url": None,
                "category": UNDECLARED,
                "modalities": ["text"],
                "licence": None,
                "collected_from": None,
                "collected_to": None,
                "publicly_known": None,
                "manifest": None,
            }
        ],
    )
    return name


@dataclass
class IngestReport:
    run_id: str
    files: list[FileReport] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # files that could not be read

    @property
    def bad_records(self) -> list[dict[str, str]]:
        return [{"file": f.path, "where": b.locator, "reason": b.reason} for f in self.files for b in f.bad]

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "files": [
                {
                    "path": f.path,
                    "source": f.source_id,
                    "records": f.records,
                    "resumed_at": f.resumed_at,
                    "documents_new": f.documents_new,
                    "evidence_new": f.evidence_new,
                    "already_done": f.already_done,
                    "bad_records": len(f.bad),
                }
                for f in self.files
            ],
            "failed_files": self.failed,
            "bad_records": self.bad_records,
        }


def ingest(
    store: Store,
    jobs: Sequence[tuple[Path, str, FieldMap]],
    *,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest (path, source_id, field map) jobs under one run record.

    A file that cannot be read is reported and skipped; it never aborts the others.
    """
    run_id = store.start_run("ingest", {"files": [str(p) for p, _, _ in jobs]})
    report = IngestReport(run_id)
    status = "failed"
    try:
        for path, source_id, fields in jobs:
            try:
                report.files.append(
                    ingest_file(store, path, source_id, fields=fields, run_id=run_id, progress=progress)
                )
            except InputError as exc:
                report.failed.append({"file": str(path), "reason": exc.problem})
        status = "ok" if not report.failed else "partial"
    finally:
        store.finish_run(
            run_id,
            status,
            {
                "documents_new": sum(f.documents_new for f in report.files),
                "records": sum(f.records for f in report.files),
            },
            report.failed + report.bad_records,
        )
    return report


def manifest_jobs(manifest: Manifest, only: Sequence[str] = ()) -> list[tuple[Path, str, FieldMap]]:
    jobs = []
    for ds in manifest.datasets:
        if only and ds.name not in only and ds.source_id not in only:
            continue
        jobs += [(p, ds.source_id, ds.fields) for p in ds.paths]
    return jobs
