"""The library API behind every face (CLI, HTTP service, notebooks): one code path per job."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.agents import default_registry
from scanner.corpus.discover import Discovery, Found, discover
from scanner.corpus.extract import Extractor
from scanner.corpus.fields import FieldMap
from scanner.corpus.gaps import schema_notes
from scanner.corpus.ingest import FileReport, ingest_file
from scanner.corpus.progress import Tracker
from scanner.corpus.records import sha256_hex
from scanner.decide import Artefact, Decision, Evidence, Policy, decide, make_policy
from scanner.errors import InputError, ScannerError
from scanner.evidence import EvidenceIndex, write_observations
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
    unknown: list[str] = field(default_factory=list)  # files of no supported format, skipped
    schema_notes: list[str] = field(default_factory=list)  # columns of a surprising type, read anyway

    @property
    def bad_records(self) -> list[dict[str, str]]:
        return [{"file": f.path, "where": b.locator, "reason": b.reason} for f in self.files for b in f.bad]

    def totals(self) -> dict[str, int]:
        """What the counts mean: records read become documents, new or already stored."""
        documents = sum(f.documents for f in self.files)
        new = sum(f.documents_new for f in self.files)
        bad = sum(len(f.bad) for f in self.files)
        records = sum(f.records for f in self.files)
        return {
            "files": len(self.files),
            "files_already_done": sum(f.already_done for f in self.files),
            "files_failed": len(self.failed),
            "files_unknown": len(self.unknown),
            "records": records,
            "documents": documents,
            "documents_new": new,
            "documents_already_stored": documents - new,
            "other_records": records - documents - bad,  # robots.txt captures, requests, blank lines
            "bad_records": bad,
            "evidence_new": sum(f.evidence_new for f in self.files),
            "undated_documents": sum(f.undated for f in self.files),
        }

    def warnings(self) -> list[str]:
        """Data gaps a user should know of: empty files, documents without a date, skipped files."""
        notes = []
        for f in self.files:
            if not f.already_done and f.records == 0 and f.resumed_at == 0:
                notes.append(f"{f.path}: empty (0 records)")
            if f.undated:
                notes.append(
                    f"{f.path}: {f.undated} of {f.documents} documents have no usable date (missing or "
                    "malformed, e.g. a WARC-Date such as 2008-10-294T...): fetched_at is NULL, so they are "
                    "judged by the newest evidence rather than the evidence at their fetch time"
                )
        notes += [f"{p}: not a supported corpus format, skipped" for p in self.unknown]
        return notes + self.schema_notes

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
            "unknown_files": self.unknown,
            "totals": self.totals(),
            "warnings": self.warnings(),
        }


def ingest(
    store: Store,
    jobs: Sequence[tuple[Path, str, FieldMap]],
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    tracker: Tracker | None = None,
    extractor: str | Extractor = Extractor.TRAFILATURA,
    limit: int | None = None,
    batch_size: int = 256,
    unknown: Sequence[Path] = (),
    failed: Sequence[dict[str, str]] = (),
) -> IngestReport:
    """Ingest (path, source_id, field map) jobs under one run record.

    `workers` > 1 extracts text in that many processes. A file that cannot be read is reported
    and skipped; it never aborts the others. `tracker` follows progress record by record (its
    sizes are set here); `limit` ingests a sample of that many records over all files.
    `unknown` and `failed` (from `plan_ingest`) are carried into the report.
    """
    extractor = _extractor(extractor)
    run_id = store.start_run(
        "ingest", {"files": [str(p) for p, _, _ in jobs], "workers": workers, "extractor": str(extractor)}
    )
    report = IngestReport(run_id, failed=list(failed), unknown=[str(p) for p in unknown])
    status = "failed"
    pool = _extraction_pool(workers) if workers > 1 else None
    sizes = {p: _size_of(p) for p, _, _ in jobs}
    if tracker is not None:
        tracker.total_bytes, tracker.files_total = sum(sizes.values()), len(jobs)
    left = limit
    try:
        for path, source_id, fields in jobs:
            if left is not None and left <= 0:
                break
            if tracker is not None:
                tracker.begin_file(path, sizes[path])
            report.schema_notes += [f"{path}: {n}" for n in schema_notes(path, fields)]
            try:
                done = ingest_file(
                    store,
                    path,
                    source_id,
                    fields=fields,
                    run_id=run_id,
                    progress=progress,
                    pool=pool,
                    tracker=tracker,
                    extractor=extractor,
                    limit=left,
                    batch_size=batch_size,
                )
                report.files.append(done)
                if left is not None:
                    left -= done.records
            except InputError as exc:
                report.failed.append({"file": str(path), "reason": exc.problem})
            finally:
                if tracker is not None:
                    tracker.end_file()
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


def _extractor(name: str | Extractor) -> Extractor:
    try:
        found = Extractor(name)
    except ValueError:
        raise ScannerError(f"--extractor {name!r}: use {' or '.join(e.value for e in Extractor)}") from None
    if found is Extractor.RESILIPARSE:
        try:
            import resiliparse.extract.html2text  # noqa: F401
        except ImportError:
            raise ScannerError(
                "--extractor resiliparse needs the resiliparse package: pip install 'provenance-scanner[fast]'"
            ) from None
    return found


def _size_of(path: Path) -> int:
    try:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class IngestPlan:
    """What an ingest will read, before it reads: `--dry-run` prints it, `ingest` runs it."""

    jobs: list[tuple[Path, str, FieldMap]]
    found: dict[Path, Found]  # format and size of each job's path, when discovered
    unknown: list[Path]  # files of no supported format: listed and skipped
    failed: list[dict[str, str]]  # targets that name nothing (a glob without matches)

    def as_dict(self) -> dict:
        return {
            "files": [
                {
                    "path": str(p),
                    "source": sid,
                    "format": str(self.found[p].format) if p in self.found else None,
                    "bytes": self.found[p].size if p in self.found else None,
                    "fields": {k: list(getattr(fm, k)) for k in ("text", "html", "url", "date", "id")},
                }
                for p, sid, fm in self.jobs
            ],
            "total_bytes": sum(self.found[p].size for p, _, _ in self.jobs if p in self.found),
            "unknown_files": [str(p) for p in self.unknown],
            "failed": self.failed,
        }


def field_map(base: FieldMap = FieldMap(), **keys: str | None) -> FieldMap:
    """A field map with some facts read from one named field (dotted path): `--text-key` etc."""
    return replace(base, **{k: (v,) for k, v in keys.items() if v})


def plan_ingest(targets: Sequence[tuple[str | Path, str, FieldMap]]) -> IngestPlan:
    """Expand (target, source_id, field map): folders recursively, globs by us, files as given.

    A manifest's missing path stays a job (ingest reports it as failed); a glob that matches
    nothing is reported as failed here.
    """
    jobs: list[tuple[Path, str, FieldMap]] = []
    found: dict[Path, Found] = {}
    unknown: list[Path] = []
    failed: list[dict[str, str]] = []
    for target, sid, fm in targets:
        try:
            d: Discovery = discover([target])
        except InputError as exc:
            if any(c in str(target) for c in "*?["):
                failed.append({"file": str(target), "reason": exc.problem})
            else:
                jobs.append((Path(target), sid, fm))
            continue
        for f in d.found:
            found[f.path] = f
            jobs.append((f.path, sid, fm))
        unknown += [p for p in d.unknown if p not in unknown]
    return IngestPlan(jobs, found, unknown, failed)


def _extraction_pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from a clean server process that has imported the extraction code once:
    no fork of this process (DuckDB runs threads) and no re-import per worker."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scanner.corpus.ingest", "trafilatura", "lxml.html"])
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


# -- decisions -------------------------------------------------------------------------------------
def check(
    url: str,
    agent: str | None = None,
    *,
    store: Store | None = None,
    as_of: datetime | None = None,
    policy: str | Policy = "any-ai-trainer",
    own_token: str | None = None,
    modality: str = "text",
    robots: Path | None = None,
) -> Decision:
    """May this URL be used for AI training? The one decision path of audit, status and hook.

    Evidence is the newest seen at or before `as_of` for the URL's origin and the resource
    (`store`), or a robots.txt file given directly (`robots`).
    """
    parts = split_url(url)
    if parts is None:
        raise ScannerError(f"{url!r} is not an http(s) URL with a host")
    pol = policy if isinstance(policy, Policy) else _policy(policy, agent, own_token)
    if robots is not None:
        try:
            body = robots.read_bytes()
        except OSError as exc:
            raise InputError(str(robots), f"cannot read: {exc.strerror or exc}") from exc
        evidence = Evidence(robots=Artefact("robots.txt", str(robots), body, sha256_hex(body), None))
    elif store is not None:
        index = EvidenceIndex.load(store, origins=[parts.origin], urls=[url], as_of=as_of)
        evidence = index.evidence_for(url, as_of)
    else:
        raise ScannerError("give a store with evidence, or a robots.txt file")
    return decide(url, evidence, pol, modality=modality)


def _policy(name: str, agent: str | None, own_token: str | None) -> Policy:
    try:
        return make_policy(name, own_token=own_token, agent=agent)
    except ValueError as exc:
        raise ScannerError(str(exc)) from exc


def decide_documents(
    store: Store,
    policy: str | Policy = "any-ai-trainer",
    *,
    as_of: datetime | None = None,
    own_token: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 5000,
) -> dict[str, Any]:
    """A decision per document, written in bulk. Without `as_of`, each document is judged by the
    evidence seen at or before its own fetch time (the status when it was collected)."""
    from scanner.decide_bulk import decide_all

    pol = policy if isinstance(policy, Policy) else _policy(policy, None, own_token)
    run_id = store.start_run("decide", {"policy": pol.name, "as_of": as_of})
    counts = decide_all(store, pol, as_of=as_of, run_id=run_id, progress=progress, batch=batch)
    stats = {"policy": pol.name, "policy_version": pol.version, **counts}
    store.finish_run(run_id, "ok", stats, [])
    return stats


def status(
    target: str,
    agent: str | None = None,
    *,
    store: Store,
    as_of: datetime | None = None,
    policy: str = "any-ai-trainer",
    own_token: str | None = None,
) -> dict[str, Any]:
    """`check` plus the evidence it rests on, with the robots.txt text: the legal team's view."""
    url = target if "://" in target else f"https://{target.strip('/')}/"
    if split_url(url) is None:
        raise ScannerError(f"{target!r} is neither an http(s) URL nor a domain")
    decision = check(url, agent, store=store, as_of=as_of, policy=policy, own_token=own_token)
    parts = split_url(url)
    index = EvidenceIndex.load(store, origins=[parts.origin], urls=[url], as_of=as_of)
    ev = index.evidence_for(url, as_of)
    evidence = []
    for art in (ev.robots, ev.tdmrep, ev.ai_txt, *ev.rsl, *ev.resource):
        if art is None:
            continue
        evidence.append(
            {
                "kind": art.kind,
                "url": art.url,
                "observed_at": art.observed_at,
                "http_status": art.http_status,
                "sha256": art.sha256,
                "text": art.body.decode("utf-8", "replace"),
            }
        )
    if not evidence:
        host = split_url(url).host
        other = (
            store.query("SELECT DISTINCT origin FROM observations WHERE origin LIKE ? ORDER BY 1", [f"%://{host}%"])
            .column(0)
            .to_pylist()
        )
        hint = f" (evidence exists for {', '.join(other)})" if other else ""
        decision = replace(decision, lint=(*decision.lint, "no_evidence_for_origin" + hint))
    return {"target": target, "as_of": as_of, "decision": decision.as_dict(), "evidence": evidence}


# -- live evidence --------------------------------------------------------------------------------
def extract_signals(store: Store, *, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Fill the `signals` table: every statement of every stored sighting not read yet (each
    with its evidence sha256, observation time and locator). Idempotent; resumes after a crash."""
    from scanner.signals.of_evidence import KINDS, evidence_signals
    from scanner.store import reports

    seen: dict[tuple, list] = {}  # statements per (kind, artefact, status): files repeat across origins
    sightings = statements = 0
    now = datetime.now(UTC)
    for batch in reports.observations_without_signals(store, KINDS, 2000):
        signal_rows, done = [], []
        for obs in batch.to_pylist():
            key = (obs["kind"], obs["evidence_sha256"], obs["http_status"])
            if key not in seen:
                try:
                    seen[key] = evidence_signals(obs["kind"], obs["body"], obs["http_status"])
                except ValueError as exc:  # stored headers are JSON we wrote: say which one is not
                    raise ScannerError(f"observation {obs['obs_id']} ({obs['kind']}): unreadable: {exc}") from exc
            found = seen[key]
            for i, sig in enumerate(found):
                signal_rows.append(
                    {
                        "signal_id": sha256_hex(f"{obs['obs_id']}/{i}".encode())[:32],
                        "obs_id": obs["obs_id"],
                        "evidence_sha256": obs["evidence_sha256"],
                        "signal": sig.signal,
                        "category": sig.category,
                        "statement": sig.statement,
                        "agents": list(sig.agents),
                        "scope": sig.scope,
                        "scope_value": sig.scope_value,
                        "locator": sig.locator,
                        "observed_at": obs["observed_at"],
                        "confidence": sig.confidence,
                        "lint": list(sig.lint),
                        "detail": sig.detail,
                    }
                )
            done.append({"obs_id": obs["obs_id"], "signals": len(found), "extracted_at": now})
        with store.transaction():
            statements += store.insert("signals", signal_rows)
            sightings += store.insert("signal_extractions", done)
        if progress:
            progress(len(done), 0)
    return {"sightings": sightings, "signals": statements}


def fetch_signals(
    store: Store,
    origins: Sequence[str] = (),
    *,
    config: Any = None,
    our_token: str = "ProvenanceScannerBot",
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fetch robots.txt, tdmrep.json, ai.txt and RSL licences per origin and store every response
    (or error) as evidence. Origins fetched within the last 24 h are skipped unless `refresh`."""
    from datetime import timedelta

    from crawlers.http import Client, FetchConfig
    from crawlers.origin import RobotsCache, fetch_origin
    from scanner.evidence import Observation
    from scanner.store import reports

    wanted = []
    for raw in origins or reports.document_origins(store):
        parts = split_url(raw if "://" in raw else f"https://{raw}")
        if parts is None:
            raise ScannerError(f"{raw!r} is not an http(s) origin or a host name")
        wanted.append(parts.origin)
    wanted = list(dict.fromkeys(wanted))
    skip = set() if refresh else reports.recently_fetched(store, datetime.now(UTC) - timedelta(hours=24))
    todo = [o for o in wanted if o not in skip]
    run_id = store.start_run("fetch-signals", {"origins": len(wanted), "refresh": refresh})
    client, cache = Client(config or FetchConfig()), RobotsCache()
    outcomes: dict[str, int] = {}
    try:
        for origin in todo:
            items = []
            for fetched in fetch_origin(client, origin, our_token, cache):
                r = fetched.result
                locator = json.dumps(
                    {
                        "final_url": r.final_url,
                        "chain": r.chain,
                        "error": r.error,
                        "truncated": r.truncated,
                        "attempts": r.attempts,
                        "outcome": fetched.outcome,
                    }
                )
                items.append(
                    (
                        r.body,
                        Observation(
                            sha256_hex(r.body),
                            fetched.kind,
                            r.url,
                            r.fetched_at,
                            "live-fetch",
                            r.status,
                            r.headers,
                            locator,
                        ),
                    )
                )
                if fetched.kind == "robots.txt":
                    outcomes[fetched.outcome] = outcomes.get(fetched.outcome, 0) + 1
            write_observations(store, items, run_id)
            if progress:
                progress(1, sum(len(b) for b, _ in items))
    finally:
        client.close()
    stats = {
        "origins": len(wanted),
        "fetched": len(todo),
        "skipped_fresh": len(wanted) - len(todo),
        "robots_outcomes": outcomes,
    }
    store.finish_run(run_id, "ok", stats, [])
    return stats
