"""The library API behind every face (CLI, HTTP service, notebooks): one code path per job."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scanner.agents import default_registry
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import FileReport, ingest_file
from scanner.errors import InputError, ScannerError
from scanner.manifest import Manifest
from scanner.signals.robots import RFC9309, Dialect, Explanation, Lint, agent_typos, parse_robots
from scanner.store import Store
from scanner.urls import split_url

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
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Ingest (path, source_id, field map) jobs under one run record.

    `workers` > 1 extracts text in that many processes. A file that cannot be read is reported
    and skipped; it never aborts the others.
    """
    run_id = store.start_run("ingest", {"files": [str(p) for p, _, _ in jobs], "workers": workers})
    report = IngestReport(run_id)
    status = "failed"
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1 else None
    )
    try:
        for path, source_id, fields in jobs:
            try:
                report.files.append(
                    ingest_file(
                        store, path, source_id, fields=fields, run_id=run_id, progress=progress, pool=pool
                    )
                )
            except InputError as exc:
                report.failed.append({"file": str(path), "reason": exc.problem})
        status = "ok" if not report.failed else "partial"
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
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


def _extraction_pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from a clean server process that has imported the extraction code once:
    no fork of this process (DuckDB runs threads) and no re-import per worker."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scanner.corpus.ingest"])
    return ProcessPoolExecutor(workers, mp_context=context)


def manifest_jobs(manifest: Manifest, only: Sequence[str] = ()) -> list[tuple[Path, str, FieldMap]]:
    jobs = []
    for ds in manifest.datasets:
        if only and ds.name not in only and ds.source_id not in only:
            continue
        jobs += [(p, ds.source_id, ds.fields) for p in ds.paths]
    return jobs


@dataclass(frozen=True)
class RobotsVerdict:
    """A robots.txt verdict with the evidence it came from."""

    url: str
    agent: str
    explanation: Explanation
    evidence: str  # "file:<path>" or "store:<sha256>"
    observed_at: datetime | None
    lint: tuple[Lint, ...]

    @property
    def allowed(self) -> bool:
        return self.explanation.allowed

    def as_dict(self) -> dict:
        e = self.explanation
        rule = e.rule
        return {
            "url": self.url,
            "agent": self.agent,
            "token": e.agent,
            "verdict": "allowed" if e.allowed else "disallowed",
            "reason": e.reason,
            "explanation": e.describe(),
            "path": e.path,
            "group_agents": list(e.group_agents),
            "group_lines": [ln for g in e.groups for ln in g.agent_lines],
            "used_fallback": e.used_fallback,
            "rule": None
            if rule is None
            else {
                "directive": rule.directive,
                "pattern": rule.value,
                "normalised": rule.pattern,
                "line": rule.line,
            },
            "evidence": self.evidence,
            "observed_at": self.observed_at,
            "lint": [{"code": x.code, "line": x.line, "message": x.message} for x in self.lint],
        }


def robots_check(
    url: str,
    agent: str,
    *,
    robots: Path | None = None,
    store: Store | None = None,
    as_of: datetime | None = None,
    dialect: Dialect = RFC9309,
) -> RobotsVerdict:
    """robots.txt verdict for one URL and agent, from a file or from the newest stored evidence."""
    parts = split_url(url)
    if parts is None:
        raise ScannerError(f"{url!r} is not an http(s) URL with a host")
    if robots is not None:
        try:
            body = robots.read_bytes()
        except OSError as exc:
            raise InputError(str(robots), f"cannot read: {exc.strerror or exc}") from exc
        evidence, observed = f"file:{robots}", None
    elif store is not None:
        seen = store.evidence_as_of(parts.origin, "robots.txt", as_of)
        if seen is None:
            when = f" at or before {as_of.isoformat()}" if as_of else ""
            raise ScannerError(f"no robots.txt evidence for {parts.origin}{when} in {store.path}")
        body, evidence, observed = seen["body"], f"store:{seen['evidence_sha256']}", seen["observed_at"]
    else:
        raise ScannerError("give --robots FILE or a store with robots.txt evidence")
    parsed = parse_robots(body, dialect)
    lint = parsed.lint + tuple(agent_typos(parsed, default_registry().tokens()))
    return RobotsVerdict(url, agent, parsed.explain(url, agent), evidence, observed, lint)
