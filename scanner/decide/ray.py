"""`provenance decide` on Ray: documents partitioned by origin, each partition decided by one task.

A decision reads only its document, its origin's files, its URL's own evidence, RSL documents
and the blocklist, so the store splits by origin with nothing lost. The coordinator exports each
partition to Parquet in a staging folder beside the store (`scanner.store.partitions`); a task
loads one partition into an in-memory store and runs the same `decide_all` as one machine does
(so the rows are the same), then writes its decision rows (doc_id, outcome) and their outcomes to
Parquet. Workers never open the `.duckdb` file. The coordinator appends each finished shard to the
run's decision set in its own transaction (no scan of the stored rows), after checking its row
counts and sha256 against what the task reported, and settles the run once at the end with one
anti-join against the earlier sets (`bulk_decisions.settle_run`): a killed run keeps the shards
it merged, the next run settles them, and a re-run adds only what is missing.
"""

from __future__ import annotations

import glob
import math
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from scanner.decide.bulk import VERDICTS, PhaseClock, decide_all, run_meta
from scanner.decide.policy import Policy
from scanner.decide.rules import compile_missing
from scanner.dedup.ray_engine import start, verified, write_shard
from scanner.errors import ScannerError
from scanner.evidence import ORIGIN_KINDS, RESOURCE_KINDS
from scanner.store import Store, bulk_decisions, partitions
from scanner.urls import split_url

PARTITION_DOCS = 100_000  # documents per partition at least, past two partitions per CPU
SHARED_KINDS = ("rsl",)  # read by any document (robots.txt `License:` lines, pages' licence links)


def decide_partition(
    inputs: dict[str, list[str]],
    documents: int,
    out: dict[str, str],
    pol: Policy,
    as_of: datetime | None,
    run_id: str,
    now: datetime,
) -> dict[str, Any]:
    """One Ray task: a partition's Parquet files to its decision rows and outcomes in Parquet."""
    with Store.open(":memory:") as mem:
        for table in partitions.TABLES:
            partitions.load(mem, table, inputs.get(table, []))
        for table in partitions.SHARED:
            partitions.load(mem, table, inputs.get(f"shared/{table}", []))
        if mem.count("documents") != documents:
            raise ScannerError(f"{out['rows']}: {mem.count('documents')} documents read, {documents} exported")
        counts = decide_all(mem, pol, as_of=as_of, run_id=run_id, now=now)
        tables = {"rows": partitions.decided_rows(mem), "outcomes": partitions.decided_outcomes(mem)}
    shard: dict[str, Any] = {k: counts[k] for k in ("documents", "bulk_documents", *VERDICTS)}
    for name, table in tables.items():
        shard[name] = write_shard(table, out[name])
    return shard


def decide_on_ray(
    store: Store,
    pol: Policy,
    *,
    as_of: datetime | None,
    run_id: str,
    address: str | None = None,
    workers: int | None = None,
    staging: Path | None = None,
    partition_count: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Decide every document with a URL on a Ray cluster; the same counts as `decide_all`."""
    ray = start(address, workers)
    clock = PhaseClock()
    scratch = None
    if staging is None and store.path == ":memory:":
        scratch = staging = Path(tempfile.mkdtemp(prefix="provenance-staging-"))
    run = (staging or Path(f"{store.path}.staging")) / "decide"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    pending: list[Any] = []
    try:
        n = partition_count or _partition_count(ray, store)
        compile_missing(store)  # the tasks get each robots.txt's compiled rules with it
        with store.pinned():  # the export's temporary tables live on one connection
            sizes = partitions.export(store, run, n, _placed(store), ORIGIN_KINDS, RESOURCE_KINDS, SHARED_KINDS)
        clock.lap("export")
        now = datetime.now(UTC)
        meta = run_meta(pol, as_of, now, run_id)
        shared = {f"shared/{t}": [str(run / "shared" / f"{t}.parquet")] for t in partitions.SHARED}
        task = ray.remote(decide_partition)
        for part, documents in sizes.items():
            inputs = {t: sorted(glob.glob(str(run / t / f"part={part}" / "*.parquet"))) for t in partitions.TABLES}
            out = {name: str(run / f"{name}-{part:05d}.parquet") for name in ("rows", "outcomes")}
            pending.append(task.remote({**inputs, **shared}, documents, out, pol, as_of, run_id, now))
        totals: dict[str, int] = dict.fromkeys(("documents", "bulk_documents", "new_decisions", *VERDICTS), 0)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            shard = ray.get(done[0])
            _merge(store, shard, meta)
            for k in ("documents", "bulk_documents", *VERDICTS):
                totals[k] += shard[k]
            if progress:
                progress(shard["documents"], 0)
        clock.lap("decide_and_merge")
        totals["new_decisions"] = bulk_decisions.settle_run(store, meta)
        clock.lap("settle")
    finally:
        for ref in pending:  # a shard failed to merge: stop the rest before their folder goes
            ray.cancel(ref)
        shutil.rmtree(scratch or run, ignore_errors=True)
    return {**totals, "partitions": len(sizes), "seconds": clock.laps, "cpu_seconds": clock.cpu}


def _partition_count(ray: Any, store: Store) -> int:
    """Two partitions per CPU of the cluster (a slow one does not hold the run), more when
    partitions would pass PARTITION_DOCS documents."""
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(2 * cpus, math.ceil(store.count("documents") / PARTITION_DOCS))


def _placed(store: Store) -> pa.Table:
    """(doc_id, origin) of the documents stored without origin or domain, from their URL: the
    origin `EvidenceIndex.evidence_for` judges them by, so they go where that origin's files go."""
    ids: list[str] = []
    origins: list[str | None] = []
    for batch in partitions.documents_to_place(store):
        for doc_id, url in zip(batch.column("doc_id").to_pylist(), batch.column("url").to_pylist(), strict=True):
            parts = split_url(url)
            ids.append(doc_id)
            origins.append(parts.origin if parts else None)
    return pa.table({"doc_id": pa.array(ids, pa.string()), "origin": pa.array(origins, pa.string())})


def _merge(store: Store, shard: dict[str, Any], meta: dict[str, Any]) -> int:
    """A finished shard into the run's set, once its bytes and rows are what the task reported."""
    tables = {name: verified(shard[name]).read() for name in ("rows", "outcomes")}
    return bulk_decisions.append_run_rows(store, tables["rows"], tables["outcomes"], meta)
