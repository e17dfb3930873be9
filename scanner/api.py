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
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import FileReport, ingest_file
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
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1 else None
    try:
        for path, source_id, fields in jobs:
            try:
                report.files.append(
                    ingest_file(store, path, source_id, fields=fields, run_id=run_id, progress=progress, pool=pool)
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


# -- the user's SQL and exports -----------------------------------------------------------------
def query_table(store: Store, sql: str) -> tuple[Any, frozenset[str]]:
    """The user's SQL on a store opened with `sandbox=True`: an Arrow table, and the names of its
    JSON-typed columns (the faces print those as JSON, not as strings)."""
    import pyarrow as pa

    from scanner.store import exports

    result = exports.user_query(store, sql)
    return pa.Table.from_batches(list(result.batches), schema=result.schema), result.json_columns


def export_query(store: Store, sql: str, output: Path) -> dict[str, Any]:
    """The user's SQL (sandboxed store) streamed into a .parquet, .csv or .jsonl file by our code."""
    from scanner.export import write_batches
    from scanner.store import exports

    result = exports.user_query(store, sql)
    return write_batches(output, result.schema, result.batches, json_columns=result.json_columns).as_dict()


def export_corpus(
    store: Store,
    output: Path,
    verdicts: Sequence[str],
    *,
    policy: str = "any-ai-trainer",
    representatives: bool = False,
) -> dict[str, Any]:
    """The kept (or dropped) corpus: each document with one of `verdicts` under `policy` (as judged
    at its fetch time by `decide`), its text and provenance (doc id, URL, source, verdict, reasons,
    cluster); `representatives`: one document per duplicate cluster."""
    from scanner.export import Format, write_batches
    from scanner.store import exports

    bad = [v for v in verdicts if v not in exports.VERDICTS]
    if bad or not verdicts:
        raise ScannerError(f"--verdict {','.join(bad) or '(none)'}: use {', '.join(exports.VERDICTS)}")
    _policy(policy, None, None)  # a known policy name, or a clear error
    coverage = exports.corpus_coverage(store, policy)
    if coverage["decided"] == 0:
        raise ScannerError(
            f"no decisions under policy {policy} in {store.path}: run `provenance decide --policy {policy}`"
        )
    result = exports.corpus(store, list(dict.fromkeys(verdicts)), policy, representatives)
    written = write_batches(
        output,
        result.schema,
        result.batches,
        json_columns=result.json_columns,
        allowed=(Format.PARQUET, Format.JSONL),
    )
    return written.as_dict() | {"policy": policy, "verdicts": list(verdicts), **coverage}


def verify_store(store: Store) -> dict[str, int]:
    """Read every block of every table (DuckDB checks each block's checksum): rows per table, or
    a StoreError naming the damaged table. Truncation is found earlier, by `Store.open`."""
    from scanner.store.integrity import full_scan

    return full_scan(store)
