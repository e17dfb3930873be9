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

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import compress
from typing import Any

import pyarrow as pa

from scanner.decide.cache import parsed_robots
from scanner.decide.policy import Policy
from scanner.decide.rules import RULES_VERSION, compile_missing, decision_views
from scanner.decide.verdict import Decision, Verdict, decide
from scanner.evidence import EvidenceIndex, artefact_of
from scanner.evidence_model import Evidence, EvidenceKind
from scanner.ids import as_of_key, outcome_id
from scanner.signals.fetch_outcome import PARSED, UNREACHABLE, fetch_outcome
from scanner.signals.robots import RFC9309, RobotsTxt, query_token, url_path
from scanner.store import Store, bulk_decisions

# Rules with a literal prefix shorter than the SQL join bucket are LIKE-tested on every path of
# their origin; a file with more than this many is decided one by one (bounded cost per path).
MAX_UNBUCKETED = 256

VERDICTS = tuple(v.value for v in Verdict)  # plain strings: the counts are JSON keys
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)  # `valid_to` of an origin's newest sighting


def decide_all(
    store: Store,
    pol: Policy,
    *,
    as_of: datetime | None,
    run_id: str,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 5000,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Decide every document with a URL; returns counts and the seconds each phase took. The
    keyed documents are written in one transaction, the rest in batches: a crash keeps what was
    committed, a re-run adds the rest. `now` is the run's time (a Ray task is given its
    coordinator's)."""
    clock = PhaseClock()
    index = EvidenceIndex.load(store, as_of=as_of)
    now = now or datetime.now(UTC)
    clock.lap("evidence")
    compile_missing(store)  # a store written before its rules were compiled on write: once
    tables = _robots_tables(index)
    clock.lap("rules")
    # temp tables live on one connection: the bulk phase is one hold of the lock. Two threads let
    # Python work while DuckDB does: the decision views are read on a second connection while
    # DuckDB keys the documents (`_views`), and the first batch decided one by one is decided
    # while DuckDB writes the keyed rows (`_one_by_one`).
    with store.pinned(), ThreadPoolExecutor(2) as pool:
        views = pool.submit(_views, store, tables)
        keyed = _bulk(store, index, pol, tables, views.result, pool, as_of, run_id, now, clock)
        counts = keyed.counts
        for verdict in VERDICTS:
            counts.setdefault(verdict, 0)
        meta = run_meta(pol, as_of, now, run_id)

        def written() -> int:
            """The keyed rows' write, waited for once (then its phase ends)."""
            if "write" not in clock.laps:
                keyed.written.result()
                clock.lap("write")
                if progress:
                    progress(keyed.documents, 0)
            return keyed.written.result()

        with parsed_robots.overlay(views.result().parsed):
            new = _one_by_one(store, keyed.rest, index, pol, as_of, meta, counts, progress, batch, written)
        new += written()
        clock.lap("one_by_one")
    return {
        "documents": keyed.documents + len(keyed.rest),
        "bulk_documents": keyed.documents,
        "new_decisions": new,
        **counts,
        "seconds": clock.laps,
        "cpu_seconds": clock.cpu,
        "views": {"files": len(views.result().parsed), "thread_cpu_seconds": views.result().cpu_seconds},
    }


@dataclass(frozen=True)
class Views:
    """The decision views of the files a run may decide on, and the CPU seconds their reading took
    in its thread (counted in the phase it overlapped, `keys`)."""

    parsed: dict[str, RobotsTxt]
    cpu_seconds: float


def _views(store: Store, tables: RobotsTables) -> Views:
    """Every parsed file the sightings name, as decision views (`scanner.decide.rules.
    decision_json`), read from a second connection: a thread's Python work while DuckDB (which
    lets go of the GIL) keys the documents. A superset of what the keys need (they are not known
    yet), bounded by the evidence `EvidenceIndex` already holds."""
    cpu = time.thread_time()
    robots = tables.robots
    shas = sorted(set(compress(robots.column("sha").to_pylist(), robots.column("parsed").to_pylist())))
    with store.reader() as reader:
        parsed = decision_views(reader, shas)
    return Views(parsed, round(time.thread_time() - cpu, 3))


@dataclass(frozen=True)
class RobotsTables:
    """Every robots.txt sighting numbered and each origin's sighting intervals (`_robots_tables`)."""

    sightings: list[dict[str, Any]]
    robots: pa.Table


@dataclass(frozen=True)
class KeyedRun:
    """The bulk phase: its write (running: the decisions new to the store), counts per verdict,
    documents decided by key, and the documents left to decide one by one."""

    written: Future[int]
    counts: dict[str, int]
    documents: int
    rest: list[dict[str, Any]]


def _bulk(
    store: Store,
    index: EvidenceIndex,
    pol: Policy,
    tables: RobotsTables,
    views: Callable[[], Views],
    pool: ThreadPoolExecutor,
    as_of: datetime | None,
    run_id: str,
    now: datetime,
    clock: PhaseClock,
) -> KeyedRun:
    """The keyed documents: keys in SQL, outcomes in Python (on the decision views, `views()`
    waits for them), decisions written in one statement, in `pool` (the connection is the write's
    until it ends: the caller meanwhile decides in Python only)."""
    keys = bulk_decisions.key_documents(
        store,
        tables.robots,
        bulk_decisions.PolicyRules(
            RULES_VERSION, tuple(query_token(a, RFC9309) for a in pol.agents), index.has_rsl, MAX_UNBUCKETED
        ),
        python_origins=sorted({o for o, kind in index.by_origin if kind != EvidenceKind.ROBOTS_TXT}),
        python_urls=sorted(index.resource_urls),
        python_domains=sorted(index.blocklist),
        as_of=as_of,
    )
    clock.lap("keys")
    try:
        with parsed_robots.overlay(views().parsed):
            outcomes = _outcomes(keys, tables.sightings, pol)
        clock.lap("outcomes")
        rest = bulk_decisions.python_documents(store)
    except BaseException:
        bulk_decisions.drop(store)
        raise
    counts: dict[str, int] = {}
    verdicts = outcomes.column("verdict").to_pylist()
    for verdict, n in zip(verdicts, keys.column("documents").to_pylist(), strict=True):
        counts[verdict] = counts.get(verdict, 0) + n
    written = pool.submit(_write_keyed, store, outcomes, run_meta(pol, as_of, now, run_id))
    return KeyedRun(written, counts, sum(counts.values()), rest)


def _write_keyed(store: Store, outcomes: pa.Table, meta: dict[str, Any]) -> int:
    try:
        return bulk_decisions.write_decisions(store, outcomes, meta)
    finally:
        bulk_decisions.drop(store)


def run_meta(pol: Policy, as_of: datetime | None, now: datetime, run_id: str) -> dict[str, Any]:
    """What every decision of this run shares: its decision set."""
    return {
        "policy": pol.name,
        "version": pol.version,
        "usage": pol.usage,
        "as_of": as_of_key(as_of),
        "as_of_ts": as_of,
        "now": now,
        "run_id": run_id,
    }


class PhaseClock:
    """Seconds per phase, kept with the run's stats: where a slow decide spent its time. The
    process's CPU seconds too (DuckDB's threads included): on a shared machine they measure the
    work when the wall clock measures the neighbours."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._last = time.perf_counter()
        self._last_cpu = time.process_time()

    def lap(self, phase: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps[phase] = round(now - self._last, 3)
        self.cpu[phase] = round(cpu - self._last_cpu, 3)
        self._last, self._last_cpu = now, cpu


def _robots_tables(index: EvidenceIndex) -> RobotsTables:
    """Every robots.txt sighting numbered; for each origin the time intervals in which one
    sighting is the evidence (the newest so far, or RFC 9309's last good copy while the newest is
    unreachable), so SQL finds a document's sighting with one equi-join. `tied`: two sightings of
    the origin share a time (then the one-by-one order decides); `parsed`: the sighting is a
    parsed file, whose compiled rules decide (`scanner.decide.rules`)."""
    sightings: list[dict[str, Any]] = []
    columns = ("origin", "valid_from", "valid_to", "obs", "sha", "observed_at", "tied", "parsed")
    alike: dict[tuple[Any, ...], int] = {}  # (file, HTTP status, time) -> its first sighting: decided alike
    cols: dict[str, list[Any]] = {k: [] for k in columns}
    for (origin, kind), rows in index.by_origin.items():
        if kind != EvidenceKind.ROBOTS_TXT:
            continue
        times = [r["observed_at"] for r in rows]
        tied = len(set(times)) != len(times)
        first = len(sightings)
        last_good = None
        parsed: list[bool] = []
        for i, row in enumerate(rows):
            sightings.append(row)
            outcome = fetch_outcome(row["http_status"])
            parsed.append(outcome == PARSED)
            if outcome == PARSED:
                last_good = i
            chosen = last_good if outcome == UNREACHABLE and last_good is not None else i
            until = times[i + 1] if i + 1 < len(rows) else _END_OF_TIME
            sha = rows[chosen]["evidence_sha256"]
            obs = alike.setdefault((sha, rows[chosen]["http_status"], times[chosen]), first + chosen)
            values = (origin, times[i], until, obs, sha, times[chosen], tied, parsed[chosen])
            for k, v in zip(cols, values, strict=True):
                cols[k].append(v)
    stamp = pa.timestamp("us", "UTC")
    types = {"origin": pa.string(), "valid_from": stamp, "valid_to": stamp, "obs": pa.int64(), "sha": pa.string()}
    types |= {"observed_at": stamp, "tied": pa.bool_(), "parsed": pa.bool_()}
    robots = pa.table({k: pa.array(v, types[k]) for k, v in cols.items()})
    return RobotsTables(sightings, robots)


def _outcomes(keys: pa.Table, sightings: list[dict[str, Any]], pol: Policy) -> pa.Table:
    """`decide()` once per key, on the key's representative document."""
    out: dict[str, list[Any]] = {k: [] for k in ("key", "outcome", "verdict", "reasons", "evidence_sha256")}
    for k in keys.to_pylist():
        robots = artefact_of(sightings[k["obs"]]) if k["obs"] is not None else None
        if robots is not None and fetch_outcome(robots.http_status) == PARSED:
            _learn(parsed_robots(robots.body, robots.sha256), k["url"], k["rules"], pol)
        evidence = Evidence(robots=robots, reference_time=k["ref"])
        d = decide(k["url"], evidence, pol, modality=k["modality"])
        outcome = outcome_of(d)
        out["key"].append(k["key"])
        out["outcome"].append(outcome.id)
        out["verdict"].append(d.verdict)
        out["reasons"].append(outcome.reasons)
        out["evidence_sha256"].append(list(d.evidence_sha256))
    return _outcome_table(out)


def _learn(parsed: RobotsTxt, url: str, rules: str, pol: Policy) -> None:
    """Hand each of the policy's rule sets the rule SQL found for the key's path (`rules`: the
    key's "ruleset:priority" list, rule sets numbered as `partition` numbers them), so `decide()`
    matches no path and builds no matcher."""
    ranks = {int(n): int(rank) for n, rank in (hit.split(":") for hit in rules.split(",") if hit)}
    path = url_path(url, parsed.dialect.rfc_percent_encoding)
    for n, (_, ruleset) in enumerate(parsed.partition(pol.agents)):
        ruleset.learn(path, ranks.get(n))


def _outcome_table(cols: dict[str, list[Any]]) -> pa.Table:
    types = {"key": pa.int32(), "outcome": pa.string(), "verdict": pa.string(), "reasons": pa.string()}
    types["evidence_sha256"] = pa.list_(pa.string())
    return pa.table({k: pa.array(v, types[k]) for k, v in cols.items()})


@dataclass(frozen=True)
class Outcome:
    """A decision without its URL, shared by every document decided alike and stored once."""

    id: str  # `scanner.ids.outcome_id` of `reasons`
    reasons: str  # the decision's JSON view without the URL


def outcome_of(d: Decision) -> Outcome:
    reasons = json.dumps({f: v for f, v in d.as_dict().items() if f != "url"})
    return Outcome(outcome_id(reasons), reasons)


def _one_by_one(
    store: Store,
    docs: list[dict[str, Any]],
    index: EvidenceIndex,
    pol: Policy,
    as_of: datetime | None,
    meta: dict[str, Any],
    counts: dict[str, int],
    progress: Callable[[int, int], None] | None,
    batch: int,
    written: Callable[[], int],
) -> int:
    """The documents `decide()` takes one at a time, in batches; the first is decided while the
    keyed rows are being written (`written()` waits for that write: no batch is written before)."""
    new = 0
    for start in range(0, len(docs), batch):
        rows: dict[str, list[Any]] = {"doc_id": [], "outcome": []}
        outcomes: dict[str, list[Any]] = {k: [] for k in ("outcome", "verdict", "reasons", "evidence_sha256")}
        for doc in docs[start : start + batch]:
            evidence = index.document_evidence(doc, as_of)
            d = decide(doc["url"], evidence, pol, modality=doc["modality"] or "text")
            counts[d.verdict] += 1
            outcome = outcome_of(d)
            rows["doc_id"].append(doc["doc_id"])
            rows["outcome"].append(outcome.id)
            values = (outcome.id, d.verdict, outcome.reasons, list(d.evidence_sha256))
            for k, v in zip(outcomes, values, strict=True):
                outcomes[k].append(v)
        table = pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})
        written()
        new += bulk_decisions.write_document_decisions(store, table, _outcome_table(outcomes), meta)
        if progress:
            progress(len(rows["doc_id"]), 0)
    return new
