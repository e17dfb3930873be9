"""MinHash signatures and band rows on Ray: the steps that are most of dedup, spread over a cluster.

The coordinator exports the texts still lacking a signature to Parquet shards in a staging folder
(workers never open the `.duckdb` file), each Ray task turns one shard into a shard of signatures
with the same `signatures()` the local path uses (so the result is bit-identical) and writes the
shard's (band, key, doc_id) rows into `PARTITIONS` Parquet partitions by band key. The coordinator
merges each finished signature shard into the store in its own transaction after checking its row
count and sha256 against what the task reported, and checks each partition file the same way.
Signatures already in the store (an earlier run, or a killed one: the next run exports only the
documents still missing, so it resumes where it stopped) are exported too, and tasks write their
band rows. Once every band row is written, one Ray task per partition groups it (`GROUP BY band,
key` in an in-memory DuckDB of its own, reading only that partition's Parquet) and writes its star
edges as a Parquet shard with its manifest entry; the coordinator checks each edge shard and
loads it, and the components follow as on one machine (`scanner.dedup.clusters`), so the clusters
are the same row for row.

On a real cluster the staging folder must be on storage every node sees (`--staging`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.dedup.lsh import band_rows
from scanner.dedup.minhash import SignatureParams, signatures
from scanner.errors import ScannerError
from scanner.store import Store, dedup_work, reports
from scanner.store.dedup_work import partition_star_edges

SHARD_ROWS = 10_000
PARTITIONS = 16  # band-row partitions, each grouped by DuckDB alone


def require_ray() -> Any:
    """Ray is an optional extra; say how to get it rather than fail on an import."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
    try:
        import ray
    except ImportError as exc:
        raise ScannerError("--engine ray needs Ray: pip install 'provenance-scanner[ray]'") from exc
    return ray


def start(address: str | None, workers: int | None) -> Any:
    """Join the cluster at `address`, or start a local one of `workers` CPUs on loopback."""
    ray = require_ray()
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers or os.cpu_count(),
                include_dashboard=False,
                log_to_driver=False,
                _node_ip_address="127.0.0.1",
            )
    return ray


def sign_shard(texts_path: str, out_path: str, params: SignatureParams, bands: tuple[int, int]) -> dict[str, Any]:
    """One Ray task: a shard of (doc_id, text) to a shard of (doc_id, params, signature), and its
    band rows into the hash partitions."""
    from scanner.dedup.clusters import signature_rows

    table = pq.read_table(texts_path)
    sigs = signatures(table.column("text"), params)
    entry = write_shard(signature_rows(table.column("doc_id"), sigs, params.key), out_path)
    return entry | {"partitions": _write_partitions(table.column("doc_id"), sigs, bands, Path(out_path))}


def band_shard(sigs_path: str, num_perm: int, bands: tuple[int, int]) -> dict[str, Any]:
    """One Ray task: stored signatures (of an earlier or killed run) to their band rows."""
    from scanner.dedup.clusters import signature_matrix

    table = pq.read_table(sigs_path)
    sigs = signature_matrix(table.column("signature"), num_perm)
    return {
        "path": None,
        "rows": 0,
        "partitions": _write_partitions(table.column("doc_id"), sigs, bands, Path(sigs_path)),
    }


def _write_partitions(doc_ids: pa.ChunkedArray, sigs: Any, bands: tuple[int, int], shard: Path) -> list[dict]:
    """(band, key, doc_id) rows of a shard, split by key into `PARTITIONS` Parquet files
    (`p007/<shard>.parquet`): all rows of one band key land in one partition, so each partition
    is grouped alone. Keys are mixed 64-bit hashes, so `key % PARTITIONS` spreads them evenly."""
    import numpy as np

    rows = band_rows(sigs, np.arange(len(sigs)), *bands)
    part = rows.column("key").to_numpy() % np.uint64(PARTITIONS)
    order = np.argsort(part, kind="stable")
    cuts = np.searchsorted(part[order], np.arange(PARTITIONS + 1, dtype=np.uint64))
    table = pa.table(
        {"band": rows.column("band"), "key": rows.column("key"), "doc_id": doc_ids.take(rows.column("doc"))}
    )
    written = []
    for k in range(PARTITIONS):
        if cuts[k] == cuts[k + 1]:
            continue
        path = shard.parent / f"p{k:03d}" / f"{shard.stem}.parquet"
        path.parent.mkdir(exist_ok=True)
        written.append(write_shard(table.take(order[cuts[k] : cuts[k + 1]]), str(path)))
    return written


def edge_shard(folder: str, out_path: str) -> dict[str, Any]:
    """One Ray task: a band-row partition (`p007/*.parquet`) to its star edges, as a Parquet shard
    and its manifest entry. DuckDB spills to the node's own temporary folder, not the staging one."""
    with tempfile.TemporaryDirectory(prefix="provenance-edges-") as spill:
        edges = partition_star_edges(str(Path(folder) / "*.parquet"), out_path, spill)
    return shard_entry(out_path, edges)


def write_shard(table: pa.Table, path: str) -> dict[str, Any]:
    """A task's output as Parquet, with its manifest entry (path, rows, sha256)."""
    pq.write_table(table, path)
    return shard_entry(path, table.num_rows)


def shard_entry(path: str, rows: int) -> dict[str, Any]:
    """The manifest entry of a shard file the task finished writing: what `verified` checks."""
    return {"path": path, "rows": rows, "sha256": _sha256(path)}


def verified(shard: dict[str, Any]) -> pq.ParquetFile:
    """A finished shard, once its bytes and row count are what the task reported."""
    if _sha256(shard["path"]) != shard["sha256"]:
        raise ScannerError(f"{shard['path']}: shard changed after its task wrote it (sha256 mismatch)")
    file = pq.ParquetFile(shard["path"])
    if file.metadata.num_rows != shard["rows"]:
        raise ScannerError(f"{shard['path']}: {file.metadata.num_rows} rows, the task reported {shard['rows']}")
    return file


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def bands_on_ray(
    store: Store,
    params: SignatureParams,
    bands: tuple[int, int],
    *,
    address: str | None = None,
    workers: int | None = None,
    staging: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Compute and merge the missing signatures under `params`, and have the tasks write the band
    rows of every signature into hash partitions, then have one task group each partition. Yields
    (signatures computed, the star-edge shards, each checked against its manifest); the staging
    folder is removed afterwards."""
    ray = start(address, workers)
    folder = staging or Path(f"{store.path}.staging")
    run = folder / f"dedup-{params.key.replace('/', '_')}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    try:
        sign, band = ray.remote(sign_shard), ray.remote(band_shard)
        pending, manifest = [], {}
        # signatures stored before this run (an earlier run, or a killed one): their band rows only
        for i, batch in enumerate(dedup_work.signature_stream(store, params.key, SHARD_ROWS)):
            stored = run / f"stored-{i:05d}.parquet"
            pq.write_table(pa.Table.from_batches([batch]), stored)
            pending.append(band.remote(str(stored), params.num_perm, bands))
        for i, batch in enumerate(reports.signatures_missing(store, params.key, SHARD_ROWS)):
            texts = run / f"texts-{i:05d}.parquet"
            pq.write_table(pa.Table.from_batches([batch]), texts)
            manifest[str(texts)] = batch.num_rows
            pending.append(sign.remote(str(texts), str(run / f"signatures-{i:05d}.parquet"), params, bands))
        computed, parts = 0, []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            shard = ray.get(done[0])
            if shard["path"]:
                computed += _merge(store, shard)
                if progress:
                    progress(shard["rows"], 0)
            for part in shard["partitions"]:
                verified(part)  # its bytes and rows are what the task reported
                parts.append(part["path"])
        folders = sorted({str(Path(p).parent) for p in parts})
        edges = _edges_on_ray(ray, folders)
        (run / "manifest.json").write_text(
            json.dumps({"texts": manifest, "computed": computed, "bands": parts, "edges": edges})
        )
        yield computed, [e["path"] for e in edges]
    finally:
        shutil.rmtree(run, ignore_errors=True)


def _edges_on_ray(ray: Any, folders: list[str]) -> list[dict[str, Any]]:
    """One task per band-row partition, all at once (every band row is written by now); each
    edge shard is checked against the manifest entry its task reported. In partition order."""
    task = ray.remote(edge_shard)
    refs = [task.remote(f, str(Path(f).with_name(f"edges-{Path(f).name}.parquet"))) for f in folders]
    try:
        edges = ray.get(refs)
    except BaseException:
        for ref in refs:  # interrupted, or a task failed: stop the rest before their folder goes
            ray.cancel(ref)
        raise
    for entry in edges:
        verified(entry)
    return list(edges)


def _merge(store: Store, shard: dict[str, Any]) -> int:
    """A finished shard of signatures into the store, in one transaction, once verified."""
    table = verified(shard).read()
    with store.transaction():
        store.write_dedup_signatures(table)
    return table.num_rows
