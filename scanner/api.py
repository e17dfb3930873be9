"""The library API behind every face (CLI, HTTP service, notebooks): one code path per job."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from scanner.agents import default_registry
from scanner.corpus.discover import Discovery, Found, discover
from scanner.corpus.extract import Extractor
from scanner.corpus.fields import FieldMap
from scanner.corpus.gaps import schema_notes
from scanner.corpus.ingest import COMMIT_BUDGET, CommitBudget, FileReport, ingest_file
from scanner.corpus.interrupt import signals_interrupt, stop_workers, worker_init
from scanner.corpus.problems import BadRecordLimit, capped_errors, reason_key
from scanner.corpus.progress import Tracker
from scanner.corpus.records import sha256_hex
from scanner.decide import POLICY_NAMES as POLICY_NAMES  # re-exported for the faces (`as`: on purpose)
from scanner.decide import Decision, Policy, decide, make_policy
from scanner.errors import InputError, Interrupted, ScannerError
from scanner.evidence import (
    EvidenceIndex,
    Observation,
    import_evidence,
    live_observation,
    served_outcome,
    write_observations,
)
from scanner.evidence import EvidenceKind as EvidenceKind
from scanner.evidence import parse_as_of as parse_as_of
from scanner.evidence import parse_time as parse_time
from scanner.evidence_model import Artefact, Evidence
from scanner.hook.checker import outcome_id as outcome_id  # the service's batch answers, by outcome
from scanner.hook.shapes import readdressed as readdressed  # an outcome's fields as one URL's decision
from scanner.manifest import Manifest, load_manifest
from scanner.signals.robots import RFC9309, Dialect, Explanation, Lint, agent_typos, parse_robots
from scanner.store import Store
from scanner.store.memory import BadMemorySetting, MemoryLimit
from scanner.store.memory import checked as checked_memory
from scanner.urls import require_url, split_url

if TYPE_CHECKING:
    from scanner.hook.checker import Checker as Checker  # for the service's annotations

UNDECLARED = "undeclared"


def declare(store: Store, manifest: Manifest) -> dict[str, int]:
    """Write the manifest's datasets and blocklists; editing the manifest updates them."""
    with store.transaction():
        return {
            "sources": store.write_sources(manifest.datasets, manifest.path),
            "blocklist": store.write_blocklist(manifest.blocklists),
        }


def declare_adhoc_source(store: Store, name: str) -> str:
    """A source for files ingested without a manifest; the summary lists it as undeclared."""
    store.add_undeclared_source(name, UNDECLARED)
    return name


@dataclass
class IngestReport:
    run_id: str
    files: list[FileReport] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # files that could not be read
    status: str = "running"  # ok | partial | failed | interrupted
    unknown: list[str] = field(default_factory=list)  # files of no supported format, skipped
    schema_notes: list[str] = field(default_factory=list)  # columns of a surprising type, read anyway

    @property
    def bad_records(self) -> list[dict[str, str]]:
        """The bad records kept in full (the first ones of each file)."""
        return [{"file": f.path, "where": b.locator, "reason": b.reason} for f in self.files for b in f.bad]

    def bad_total(self) -> int:
        return sum(len(f.bad) for f in self.files)

    def problems(self, limit: BadRecordLimit | None = None) -> list[str]:
        """Why this ingest is not a success (empty when it is): the exit-code rule of every face.

        A file that cannot be read, a file whose records are all bad, or more bad records than
        `limit` allows.
        """
        out = [f"{f['file']}: {f['reason']}" for f in self.failed]
        for f in self.files:
            if f.records and len(f.bad) == f.records:
                out.append(f"{f.path}: all {f.records} records are bad")
        bad, records = self.bad_total(), sum(f.records for f in self.files)
        if limit is not None and limit.exceeded(bad, records):
            out.append(f"{bad} bad records in {records} read, over --max-bad-records {limit.describe()}")
        return out

    def errors(self) -> list[dict]:
        """What the run record keeps: the first errors in full, then counts per reason."""
        reasons: Counter[str] = Counter(reason_key(f["reason"]) for f in self.failed)
        for f in self.files:
            reasons.update(f.bad.reasons)
        return capped_errors(self.failed + self.bad_records, reasons, len(self.failed) + self.bad_total())

    def totals(self) -> dict[str, int]:
        """What the counts mean: records read become documents, new or already stored."""
        documents = sum(f.documents for f in self.files)
        new = sum(f.documents_new for f in self.files)
        bad = self.bad_total()
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
            "status": self.status,
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
                    "bad_reasons": dict(f.bad.reasons),
                }
                for f in self.files
            ],
            "failed_files": self.failed,
            "bad_records": self.bad_records,
            "unknown_files": self.unknown,
            "totals": self.totals(),
            "warnings": self.warnings(),
        }


RESUME_HINT = "committed batches are kept; run the same command again to resume"


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
    engine: str = "local",
    address: str | None = None,
    commit: CommitBudget = COMMIT_BUDGET,
) -> IngestReport:
    """Ingest (path, source_id, field map) jobs under one run record.

    `workers` > 1 extracts text in that many processes. A file that cannot be read is reported
    and skipped; it never aborts the others. `tracker` follows progress record by record (its
    sizes are set here); `limit` ingests a sample of that many records over all files.
    `unknown` and `failed` (from `plan_ingest`) are carried into the report. SIGTERM/SIGINT stop
    the workers, mark the run `interrupted` and raise `Interrupted` (committed batches stay;
    re-running resumes). `engine="ray"`: one Ray task per file (`address`, or a local cluster of
    `workers` CPUs), the same rows (`scanner.corpus.ray_ingest`). `commit`: when the local engine's
    built batches commit (`scanner.corpus.ingest.COMMIT_BUDGET`); Ray commits once per file.
    """
    extractor = _extractor(extractor)
    require_engine(engine)
    if engine == "ray" and limit is not None:
        raise ScannerError("--limit samples with the local engine; drop it or use --engine local")
    args = {"files": [str(p) for p, _, _ in jobs], "workers": workers, "extractor": str(extractor)}
    run_id = store.start_run("ingest", args | ({"engine": engine} if engine != "local" else {}))
    report = IngestReport(run_id, failed=list(failed), unknown=[str(p) for p in unknown])
    report.status = "failed"
    sizes = {p: _size_of(p) for p, _, _ in jobs}
    if tracker is not None:
        tracker.total_bytes, tracker.files_total = sum(sizes.values()), len(jobs)
    left = limit
    pool = None
    with signals_interrupt() as stop:

        def checked(records: int, payload_bytes: int) -> None:
            """After each commit: report progress, then stop here if a signal asked."""
            if progress:
                progress(records, payload_bytes)
            stop.check()

        try:
            if engine == "ray":
                from scanner.corpus.ray_ingest import ingest_on_ray

                for path, _, fields in jobs:
                    report.schema_notes += [f"{path}: {n}" for n in schema_notes(path, fields)]
                files, failed_files = ingest_on_ray(
                    store, jobs, run_id=run_id, extractor=extractor, batch_size=batch_size, address=address,
                    workers=workers, progress=checked, tracker=tracker, sizes=sizes,
                )
                report.files += files
                report.failed += failed_files
            pool = _extraction_pool(workers) if workers > 1 and engine == "local" else None
            for path, source_id, fields in jobs if engine == "local" else ():
                stop.check()
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
                        progress=checked,
                        pool=pool,
                        tracker=tracker,
                        extractor=extractor,
                        limit=left,
                        batch_size=batch_size,
                        stop=stop.check,
                        commit=commit,
                    )
                    report.files.append(done)
                    if left is not None:
                        left -= done.records
                except InputError as exc:
                    report.failed.append({"file": str(path), "reason": exc.problem})
                finally:
                    if tracker is not None:
                        tracker.end_file()
            report.status = "ok" if not report.problems() else "partial"
        except Interrupted as exc:
            report.status = "interrupted"
            if pool is not None:
                stop_workers(pool)
                pool = None
            exc.message = f"interrupted by {signal.Signals(exc.signum).name}: {RESUME_HINT} (run {run_id})"
            exc.args = (exc.message,)
            raise
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            store.finish_run(
                run_id,
                report.status,
                {
                    "documents_new": sum(f.documents_new for f in report.files),
                    "records": sum(f.records for f in report.files),
                    "bad_records": report.bad_total(),
                },
                report.errors(),
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
    context.set_forkserver_preload(["scanner.corpus.deathsig", "scanner.corpus.ingest", "trafilatura", "lxml.html"])
    # the workers end with this process, whatever ends it (scanner.corpus.interrupt)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=worker_init, initargs=(os.getpid(),))


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
    parts = require_url(url)
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
    parts = require_url(url)
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


ENGINES = ("local", "ray")


def require_engine(engine: str) -> None:
    """A known engine, and for Ray the installed extra (a one-line error saying how to get it)."""
    if engine not in ENGINES:
        raise ScannerError(f"--engine {engine!r}: use {' or '.join(ENGINES)}")
    if engine == "ray":
        from scanner.dedup.ray_engine import require_ray

        require_ray()


def dedup(
    store: Store,
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    profile: str = "fast",
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Exact and near-duplicate clusters (`scanner.dedup.clusters`), in memory bounded by the
    store's DuckDB memory limit where it was opened with one (`memory_bound`); the stats name, per
    source, the share marked as copies. With `engine="ray"` the signatures are computed on a Ray
    cluster (`address`, or a local one)."""
    from scanner.dedup.clusters import dedup as run_dedup
    from scanner.dedup.minhash import PROFILES

    if not 0 < threshold <= 1:
        raise ScannerError(f"--threshold {threshold}: use a value in (0, 1]")
    if profile not in PROFILES:
        raise ScannerError(f"--profile {profile!r}: use {' or '.join(PROFILES)}")
    require_engine(engine)
    return run_dedup(
        store,
        threshold=threshold,
        num_perm=num_perm,
        profile=profile,
        engine=engine,
        address=address,
        workers=workers,
        progress=progress,
    )


def decide_documents(
    store: Store,
    policy: str | Policy = "any-ai-trainer",
    *,
    as_of: datetime | None = None,
    own_token: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 5000,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """A decision per document, written in bulk. Without `as_of`, each document is judged by the
    evidence seen at or before its own fetch time (the status when it was collected). With
    `engine="ray"` the documents are decided by origin partition on a Ray cluster (`address`, or
    a local one of `workers` CPUs), to the same rows."""
    from scanner.decide.bulk import decide_all

    require_engine(engine)
    pol = policy if isinstance(policy, Policy) else _policy(policy, None, own_token)
    run_id = store.start_run("decide", {"policy": pol.name, "as_of": as_of, "engine": engine})
    if engine == "ray":
        from scanner.decide.ray import decide_on_ray

        counts = decide_on_ray(
            store, pol, as_of=as_of, run_id=run_id, address=address, workers=workers, progress=progress
        )
    else:
        counts = decide_all(store, pol, as_of=as_of, run_id=run_id, progress=progress, batch=batch)
    stats = {"policy": pol.name, "policy_version": pol.version, **counts}
    store.finish_run(run_id, "ok", stats, [])
    return stats


@dataclass(frozen=True)
class Judgement:
    """One answer with what it rests on: the URL judged (a bare domain resolves to the first of
    its https/www/http home pages that has evidence), the `Evidence` and the `Policy` used."""

    target: str
    url: str
    tried: tuple[str, ...]  # the home pages looked at, in order (one for a full URL)
    decision: Decision
    evidence: Evidence
    policy: Policy
    as_of: datetime | None
    judged_at: datetime  # the moment staleness is measured against: as_of, else now


def home_pages(target: str) -> tuple[str, ...]:
    """What a bare domain means: https first, then the www. (or bare) sibling, then http."""
    if "://" in target:
        return (target,)
    host = target.strip().strip("/").lower()
    sibling = host[4:] if host.startswith("www.") else f"www.{host}"
    return tuple(f"{scheme}://{h}/" for scheme in ("https", "http") for h in (host, sibling))


class Question(TypedDict, total=False):
    """What `judge` and `status` are asked besides the target and agent: the moment judged
    (`as_of`, default now), the policy (default any-ai-trainer) and our own product token."""

    as_of: datetime | None
    policy: str
    own_token: str | None


def judge(target: str, agent: str | None = None, *, store: Store, **question: Unpack[Question]) -> Judgement:
    """The decision `status` and evidence packs give: one code path, so the pack re-derives it."""
    urls = home_pages(target)
    if any(split_url(u) is None for u in urls):
        raise ScannerError(f"{target!r} is neither an http(s) URL nor a domain")
    as_of = question.get("as_of")
    pol = _policy(question.get("policy", "any-ai-trainer"), agent, question.get("own_token"))
    origins = [require_url(u).origin for u in urls]
    index = EvidenceIndex.load(store, origins=origins, urls=list(urls), as_of=as_of)
    judged_at = as_of or datetime.now(UTC)
    tried: list[str] = []
    chosen = None
    for url in urls:
        tried.append(url)
        ev = replace(index.evidence_for(url, as_of), reference_time=judged_at)
        if chosen is None or _has_evidence(ev):
            chosen = (url, ev)
        if _has_evidence(ev):
            break
    assert chosen is not None  # `home_pages` gives at least one URL
    url, ev = chosen
    return Judgement(target, url, tuple(tried), decide(url, ev, pol), ev, pol, as_of, judged_at)


def _has_evidence(ev: Evidence) -> bool:
    return any(a is not None for a in (ev.robots, ev.tdmrep, ev.ai_txt)) or bool(ev.resource)


def artefacts_of(ev: Evidence) -> list[tuple[str, Artefact]]:
    """(role, artefact) in a fixed order: the pack's layout and the order status prints."""
    found = [("robots", ev.robots), ("tdmrep", ev.tdmrep), ("ai_txt", ev.ai_txt)]
    found += [("rsl", a) for a in ev.rsl] + [("resource", a) for a in ev.resource]
    return [(role, a) for role, a in found if a is not None]


def age_words(seen: datetime | None, moment: datetime) -> str | None:
    """How old evidence was at the judged moment: "3 months before 2025-12-31"."""
    if seen is None:
        return None
    days = (moment - seen).total_seconds() / 86400
    if days < 0:
        return f"seen after {moment.date().isoformat()}"
    if days < 1:
        amount = f"{round(days * 24)} hours"
    elif days < 60:
        amount = f"{round(days)} days"
    elif days < 730:
        amount = f"{round(days / 30.44)} months"
    else:
        amount = f"{days / 365.25:.1f} years"
    return f"{amount} before {moment.date().isoformat()}"


def status(target: str, agent: str | None = None, *, store: Store, **question: Unpack[Question]) -> dict[str, Any]:
    """`check` plus the evidence it rests on, with the robots.txt text: the legal team's view.

    Staleness and the evidence's age are measured against the moment judged: `as_of`, else now.
    """
    j = judge(target, agent, store=store, **question)
    as_of = j.as_of
    decision = j.decision
    warnings: list[str] = []
    evidence = []
    for _role, art in artefacts_of(j.evidence):
        age = age_words(art.observed_at, j.judged_at)
        evidence.append(
            {
                "kind": art.kind,
                "url": art.url,
                "observed_at": art.observed_at,
                "age": age,
                "http_status": art.http_status,
                "outcome": served_outcome(art.kind, art.http_status, art.body),
                "sha256": art.sha256,
                "text": art.body.decode("utf-8", "replace"),
            }
        )
        if evidence[-1]["outcome"]:
            warnings.append(
                f"{art.url} served an HTML or challenge page, not a robots.txt ({evidence[-1]['outcome']}): "
                "recorded as such, and the site's robots.txt is unknown"
            )
    if agent:
        warnings += unknown_agent_warnings(agent)
    origin = require_url(j.url).origin
    siblings = _sibling_origins(store, j.url, as_of)
    if not evidence:
        hint = f" (evidence exists for {', '.join(siblings)})" if siblings else ""
        decision = replace(decision, lint=(*decision.lint, "no_evidence_for_origin" + hint))
        warnings.append(f"no evidence for {origin}{' as of ' + as_of.isoformat() if as_of else ''}{hint}")
    elif siblings:
        warnings.append(
            f"evidence also exists for {', '.join(siblings)}: under RFC 9309 a robots.txt applies only "
            f"to its own scheme and host, so it does not decide {origin}"
        )
    if "://" not in target:
        warnings.append(f"{target} was read as {j.url} (looked at {', '.join(j.tried)})")
    return {
        "target": target,
        "url": j.url,
        "origin": origin,
        "origins_tried": list(j.tried),
        "as_of": as_of,
        "judged_at": j.judged_at,
        "decision": decision.as_dict() | {"lint": list(decision.lint)},
        "evidence": evidence,
        "warnings": warnings,
    }


def history(
    target: str,
    agent: str | None = None,
    *,
    store: Store,
    policy: str = "any-ai-trainer",
    own_token: str | None = None,
) -> dict[str, Any]:
    """Every sighting of a site's files in order, its changes, the agent's rule diffs and verdict
    flips (see scanner.history); a bare domain resolves as in `status`."""
    from scanner.history import build_history

    urls = home_pages(target)
    if any(split_url(u) is None for u in urls):
        raise ScannerError(f"{target!r} is neither an http(s) URL nor a domain")
    doc = build_history(store, urls, agent, _policy(policy, agent, own_token))
    doc["target"] = target
    doc["warnings"] = unknown_agent_warnings(agent) if agent else []
    if not doc["sightings"]:
        doc["warnings"].append(f"no robots.txt, TDMRep or ai.txt sightings for {', '.join(urls)}")
    return doc


def report(
    store: Store,
    by: str | Sequence[str] = "domain",
    *,
    policy: str = "any-ai-trainer",
    agent: str | None = None,
    as_of: datetime | None = None,
    own_token: str | None = None,
) -> dict[str, Any]:
    """Allowed / reserved / unknown documents per domain, source and/or month, under one policy (or
    one agent's view) and one as-of mode. Decisions missing for that policy and mode are made first
    (and stored), so a report never silently reads another policy's or moment's verdicts."""
    from scanner.store import reports

    keys = tuple(by.split(",")) if isinstance(by, str) else tuple(by)
    keys = tuple(k.strip() for k in keys if k.strip())
    bad = [k for k in keys if k not in reports.REPORT_KEYS]
    if bad or not keys or len(set(keys)) != len(keys):
        raise ScannerError(f"--by {','.join(keys)!r}: use domain, source and/or month (e.g. domain,month)")
    pol = _policy(policy, agent, own_token)
    decided = None
    if not reports.has_decisions(store, pol.name, as_of):
        decided = decide_documents(store, pol, as_of=as_of)
    rows = reports.reserved_share(store, pol.name, keys, as_of)
    totals = {k: sum(r[k] for r in rows) for k in ("documents", "allowed", "reserved", "unknown")}
    return {
        "by": list(keys),
        "policy": pol.name,
        "policy_version": pol.version,
        "as_of": as_of,
        "decided_now": decided,
        "totals": totals,
        "rows": rows,
    }


def origin_mismatch_warnings(store: Store, origin: str | None) -> list[str]:
    """Evidence stored for an origin with no documents while another scheme or host of the same
    domain has documents: correct under RFC 9309 (a robots.txt covers only its own scheme, host
    and port), but likely not what the importer meant."""
    from scanner.store import reports

    parts = split_url(origin + "/") if origin else None
    if parts is None or not parts.registrable_domain:
        return []
    docs = reports.documents_per_origin(store, parts.registrable_domain)
    others = {o: n for o, n in docs.items() if o != parts.origin}
    if docs.get(parts.origin) or not others:
        return []
    listed = ", ".join(f"{o} ({n} documents)" for o, n in others.items())
    return [
        f"no documents are from {parts.origin}, but {listed} are: under RFC 9309 a robots.txt applies "
        f"only to its own scheme and host, so this evidence does not decide them"
    ]


def _sibling_origins(store: Store, url: str, as_of: datetime | None) -> list[str]:
    """Other schemes and hosts of the same registrable domain that have origin evidence."""
    from scanner.store import reports

    parts = split_url(url)
    if parts is None or not parts.registrable_domain:
        return []
    return [o for o in reports.origins_with_evidence(store, parts.registrable_domain, as_of) if o != parts.origin]


def unknown_agent_warnings(agent: str) -> list[str]:
    """A product token the registry does not know, with the nearest ones it does."""
    import difflib

    from scanner.signals.robots import product_token

    token = (product_token(agent) or agent).lower()
    known = {t.lower(): t for t in default_registry().tokens()}
    if token in known or token == "*":
        return []
    near = difflib.get_close_matches(token, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(known[n] for n in near)}?" if near else ""
    return [f"agent {agent!r} is not in the agent registry{hint} (its own group is still looked for)"]


# -- live evidence --------------------------------------------------------------------------------
def extract_signals(store: Store, *, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Fill the `signals` table: every statement of every stored sighting not read yet (each
    with its evidence sha256, observation time and locator). Idempotent; resumes after a crash."""
    from scanner.signals.statements import KINDS, evidence_signals
    from scanner.store import reports

    seen: dict[tuple, list] = {}  # statements per (kind, artefact, status): files repeat across origins
    sightings = statements = 0
    now = datetime.now(UTC)
    for batch in reports.observations_without_signals(store, KINDS, 2000):
        read = []
        for obs in batch.to_pylist():
            key = (obs["kind"], obs["evidence_sha256"], obs["http_status"])
            if key not in seen:
                try:
                    seen[key] = evidence_signals(obs["kind"], obs["body"], obs["http_status"])
                except ValueError as exc:  # stored headers are JSON we wrote: say which one is not
                    raise ScannerError(f"observation {obs['obs_id']} ({obs['kind']}): unreadable: {exc}") from exc
            read.append(((obs["obs_id"], obs["evidence_sha256"], obs["observed_at"]), seen[key]))
        new_statements, new_read = store.write_signals(read, now)
        statements, sightings = statements + new_statements, sightings + new_read
        if progress:
            progress(len(read), 0)
    return {"sightings": sightings, "signals": statements}


def fetch_signals(
    store: Store,
    origins: Sequence[str] = (),
    *,
    config: Any = None,
    our_token: str | None = None,
    refresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
    progress_total: Callable[[int], None] | None = None,
    workers: int | None = None,
    batch_seconds: float = 2.0,
    batch_origins: int = 500,
) -> dict[str, Any]:
    """Fetch robots.txt, tdmrep.json, ai.txt and RSL licences per origin and store every response
    (or error) as evidence. Origins fetched within the last 24 h are skipped unless `refresh`.

    Many origins are fetched at once (crawlers/pool.py, `workers` requests in flight, one at a
    time per host); finished origins are written in batches, each in one short transaction, so
    the store is never locked while we wait on the network, and a killed run resumes with the
    origins it had not committed."""
    from datetime import timedelta

    from crawlers.http import PRODUCT_TOKEN, Client, FetchConfig
    from crawlers.origin import RobotsCache
    from crawlers.pool import DEFAULT_WORKERS, fetch_many
    from scanner.store import reports

    wanted = []
    for raw in origins or reports.document_origins(store):
        parts = split_url(raw if "://" in raw else f"https://{raw}")
        if parts is None:
            raise ScannerError(f"{raw!r} is not an http(s) origin or a host name")
        wanted.append(parts.origin)
    wanted = list(dict.fromkeys(wanted))
    try:
        client = Client(config or FetchConfig())
    except ValueError as exc:
        raise ScannerError(str(exc)) from exc
    skip = set() if refresh else reports.recently_fetched(store, datetime.now(UTC) - timedelta(hours=24))
    todo = [o for o in wanted if o not in skip]
    token = our_token or PRODUCT_TOKEN
    run_id = store.start_run("fetch-signals", {"origins": len(wanted), "refresh": refresh})
    if progress_total:
        progress_total(len(todo))
    outcomes: dict[str, int] = {}
    errors: list[dict[str, str]] = []
    pending: list[tuple[bytes, Any]] = []
    done, flushed, status = 0, time.monotonic(), "failed"

    def flush() -> None:
        nonlocal flushed
        if pending:
            write_observations(store, pending, run_id)  # the only moment the store is written
            pending.clear()
        flushed = time.monotonic()

    try:
        in_batch = 0
        for results in fetch_many(client, todo, token, workers=workers or DEFAULT_WORKERS, cache=RobotsCache()):
            for fetched in results:
                pending.append(live_observation(fetched, client.request_headers))
                if fetched.kind == "robots.txt":
                    outcomes[fetched.outcome] = outcomes.get(fetched.outcome, 0) + 1
                if fetched.result.error and fetched.result.status is None and len(errors) < 1000:
                    errors.append({"origin": fetched.origin, "where": fetched.kind, "reason": fetched.result.error})
            if results:
                done += 1
                in_batch += 1
                if progress:
                    progress(1, sum(len(r.result.body) for r in results))
            if in_batch >= batch_origins or (pending and time.monotonic() - flushed >= batch_seconds):
                flush()
                in_batch = 0
        flush()
        status = "ok"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        client.close()
        stats = {
            "origins": len(wanted),
            "fetched": done,
            "skipped_fresh": len(wanted) - len(todo),
            "robots_outcomes": outcomes,
            "fetch_errors": len(errors),
        }
        if status != "ok":
            with contextlib.suppress(Exception):
                flush()  # what was fetched completely is kept
        store.finish_run(run_id, status, stats, errors)
    return stats


# -- the public summaries (EU template, California AB 2013) ----------------------------------------
def summary(store: Store, manifest: Manifest, **kwargs: Any):
    """Build, gate, render and write a summary; the one path behind `provenance summary` and the
    demo. Keyword arguments: see scanner.summary.write.write_summary."""
    from scanner.summary.write import write_summary

    return write_summary(store, manifest, **kwargs)


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


# -- what the faces call: every command of the CLI and every route of the service ---------------
def open_store(path: str | Path, **options: Any) -> Store:
    """The store at `path` (options: read_only, hold_lock, sandbox, memory; see `Store.open`)."""
    return Store.open(path, **options)


MEMORY_OPTIONS = {"memory_limit": "--memory-limit", "temp_directory": "--temp-dir"}


def memory_bound(limit: str | None = None, temp_dir: str | Path | None = None) -> MemoryLimit | None:
    """DuckDB's memory limit (e.g. 4GB) and spill folder for a long writer (`open_store(memory=)`),
    checked before the store opens: a value DuckDB refuses is an error naming the option. None
    when neither is given (DuckDB's defaults: 80 % of RAM, `<store>.tmp`)."""
    memory = MemoryLimit(limit or None, str(Path(temp_dir).absolute()) if temp_dir else None)  # as the run records it
    if not memory:
        return None
    try:
        return checked_memory(memory)
    except BadMemorySetting as exc:
        raise ScannerError(f"{MEMORY_OPTIONS[exc.setting]} {exc.value!r}: {exc.reason}") from None


@dataclass(frozen=True)
class IngestJobs:
    """What an ingest command line asks for: the targets, and what to declare before reading."""

    targets: list[tuple[str | Path, str, FieldMap]]
    manifest: Manifest | None
    adhoc_source: str | None  # files given without a manifest dataset: declared as undeclared

    def declare(self, store: Store) -> None:
        if self.manifest:
            declare(store, self.manifest)
        if self.adhoc_source:
            declare_adhoc_source(store, self.adhoc_source)


def ingest_jobs(
    paths: Sequence[str], manifest: Path | None = None, source: str | None = None, **keys: str | None
) -> IngestJobs:
    """Files, folders or globs (of `source`, a manifest dataset or an undeclared source), or every
    dataset of the manifest (or only `source`); `keys` (text, url, date, id) override field maps."""
    m = load_manifest(manifest) if manifest else None
    if paths:
        if m and source:
            ds = m.dataset(source) if source in {d.name for d in m.datasets} else None
            if ds is None:
                raise ScannerError(f"--source {source!r} is not a dataset in {manifest}")
            fm = field_map(ds.fields, **keys)
            return IngestJobs([(p, ds.source_id, fm) for p in paths], m, None)
        sid = source or UNDECLARED
        return IngestJobs([(p, sid, field_map(FieldMap(), **keys)) for p in paths], m, sid)
    if m:
        jobs = manifest_jobs(m, [source] if source else ())
        return IngestJobs([(p, s, field_map(f, **keys)) for p, s, f in jobs], m, None)
    raise ScannerError("give corpus files, folders or globs, or --manifest to ingest its datasets")


def demo(store: Store, progress: Callable[[int, int], None] | None = None, out_dir: Path | None = None):
    """The main job end to end on the bundled sample (scanner.demo)."""
    from scanner.demo import run_demo

    return run_demo(store, progress=progress, out_dir=out_dir)


def largest_domains(store: Store, limit: int = 10) -> list[dict]:
    from scanner.store import reports

    return reports.largest_domains(store, limit)


def import_artefact(store: Store, path: Path, **options: Any) -> dict[str, Any]:
    """`evidence import`: one artefact as historical evidence (see `scanner.evidence.import_evidence`),
    with how it was served (`outcome`: an HTML page is `not-robots`) and origin mismatch warnings."""
    obs: Observation = import_evidence(store, path, **options)
    return asdict(obs) | {
        "obs_id": obs.obs_id,
        "origin": obs.origin,
        "outcome": served_outcome(obs.kind, obs.http_status, path.read_bytes()),
        "warnings": origin_mismatch_warnings(store, obs.origin),
    }


def import_many(store: Store, source: Path, **options: Any):
    """`evidence import-many`: an index, or a folder or tar of HOST/robots.txt (scanner.evidence_import)."""
    from scanner.evidence_import import import_many as run

    return run(store, source, **options)


def export_pack(store: Store, target: str, output: Path, **options: Any) -> dict[str, Any]:
    """`evidence-pack`: the decision, the raw evidence and its chain of custody as a zip."""
    from scanner.evidence_pack import export_pack as run

    return run(store, target, output, **options)


def verify_pack(pack: Path, *, key: Path | None = None):
    """`evidence verify`: re-check a pack offline (scanner.evidence_pack)."""
    from scanner.evidence_pack import verify_pack as run

    return run(pack, key=key)


def init_keys(prefix: Path):
    """`keys init`: an Ed25519 key pair for signing evidence packs (never overwrites)."""
    from scanner.signing import init_keys as run

    return run(prefix)


def render_history(doc: dict[str, Any], fmt: str) -> str:
    """A `history` document as text or an HTML timeline page."""
    from scanner.history import to_html, to_text

    return {"text": to_text, "html": to_html}[fmt](doc)


def robots_dialect(google: bool = False) -> Dialect:
    """How to read a robots.txt file: RFC 9309, or exactly as google/robotstxt does."""
    from scanner.signals.robots import GOOGLE

    return GOOGLE if google else RFC9309


def fetch_config(
    manifest: Path | None = None,
    *,
    allow_networks: Sequence[str] = (),
    proxy: str | None = None,
    host_interval: float = 1.0,
) -> tuple[Any, str]:
    """Our crawler's identity (the manifest's, else PRODUCT_TOKEN and DEFAULT_AGENT) and how it
    fetches: (FetchConfig, product token) for `fetch_signals`."""
    from crawlers.http import DEFAULT_AGENT, PRODUCT_TOKEN, FetchConfig

    crawler = load_manifest(manifest).crawler if manifest else None
    config = FetchConfig(
        user_agent=crawler.user_agent if crawler else DEFAULT_AGENT,
        allow_networks=tuple(allow_networks),
        proxy=proxy,
        host_interval=host_interval,
    )
    return config, crawler.product_token if crawler else PRODUCT_TOKEN


def hook_app(
    store: str | Path,
    *,
    policy: str = "any-ai-trainer",
    own_token: str | None = None,
    on_unknown: str = "keep",
    allowed_hosts: Sequence[str] = (),
    reload_token: str | None = None,
):
    """`serve`: the HTTP hook as an ASGI app over a snapshot of the store's evidence
    (`reload_token`: POST /reload then needs it as a Bearer token)."""
    from scanner.hook.checker import Checker as Checker  # for the service's annotations
    from scanner.hook.service import create_app, tune_gc

    checker = Checker(store, policy=policy, own_token=own_token, on_unknown=on_unknown)
    tune_gc()
    return create_app(checker, allowed_hosts=allowed_hosts, reload_token=reload_token or None)


def summary_formats(fmt: str) -> tuple[str, ...]:
    """`--format all` is every format but PDF (which needs a browser)."""
    from scanner.summary.write import FORMATS

    return tuple(f for f in FORMATS if f != "pdf") if fmt == "all" else (fmt,)


def summary_options(
    *,
    policy: str = "any-ai-trainer",
    keep_reserved: bool = False,
    cluster_reserved: bool = False,
    domains_after_processing: bool = False,
    icann_only: bool = False,
    tokenizer: Path | None = None,
):
    """The summary's choices from the command's flags (scanner.summary.SummaryOptions)."""
    from scanner.summary import DomainMeasure, SuffixSection, SummaryOptions

    return SummaryOptions(
        policy=policy,
        exclude_reserved=not keep_reserved,
        cluster_reserved=cluster_reserved,
        domain_measure=DomainMeasure.USED if domains_after_processing else DomainMeasure.SCRAPED,
        suffixes=SuffixSection.ICANN if icann_only else SuffixSection.PRIVATE,
        tokenizer_file=tokenizer,
    )


def info(store: Store, *, verify: bool = False) -> dict[str, Any]:
    """Schema version and row counts (`verify`: read every block, checksums)."""
    from scanner.version import __version__

    doc = {
        "store": str(store.path),
        "schema_version": store.schema_version,
        "tool_version": __version__,
        "counts": store.counts(),
    }
    if verify:
        doc["verified_rows"] = verify_store(store)
    return doc


def manifest_check(path: Path) -> dict[str, Any]:
    """A manifest validated, and what it declares."""
    m = load_manifest(path)
    return {
        "path": str(path),
        "provider": m.provider.name,
        "models": [f"{x.name} {x.version}" for x in m.models],
        "crawler": m.crawler.product_token if m.crawler else None,
        "datasets": [
            {"source": d.source_id, "category": d.category, "files": [str(p) for p in d.paths]} for d in m.datasets
        ],
        "blocklisted_domains": sum(len(b.domains) for b in m.blocklists),
        "attestations": m.attestations,
    }
