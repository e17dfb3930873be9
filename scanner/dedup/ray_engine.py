"""MinHash signatures on Ray: the step that is three quarters of dedup, spread over a cluster.

The coordinator exports the texts still lacking a signature to Parquet shards in a staging folder
(workers never open the `.duckdb` file), each Ray task turns one shard into a shard of signatures
with the same `signatures()` the local path uses (so the result is bit-identical), and the
coordinator merges each finished shard into the store in its own transaction after checking its
row count and sha256 against what the task reported. A killed run leaves its merged shards in the
store; the next run exports only the documents still missing, so it resumes where it stopped.
The band join and the components then run in DuckDB as on one machine
(`scanner.dedup.clusters`), in flat memory.

On a real cluster the staging folder must be on storage every node sees (`--staging`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.dedup.minhash import SignatureParams, signatures
from scanner.errors import ScannerError
from scanner.store import Store, reports

SHARD_ROWS = 10_000


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


def sign_shard(texts_path: str, out_path: str, params: SignatureParams) -> dict[str, Any]:
    """One Ray task: a shard of (doc_id, text) to a shard of (doc_id, params, signature)."""
    from scanner.dedup.clusters import signature_rows

    table = pq.read_table(texts_path)
    sigs = signatures(table.column("text"), params)
    out = signature_rows(table.column("doc_id"), sigs, params.key)
    pq.write_table(out, out_path)
    return {"path": out_path, "rows": out.num_rows, "sha256": _sha256(out_path)}


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def signatures_on_ray(
    store: Store,
    params: SignatureParams,
    *,
    address: str | None = None,
    workers: int | None = None,
    staging: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute and merge the missing signatures under `params` (num_perm, seed, words, profile,
    key); returns how many were computed."""
    ray = start(address, workers)
    folder = staging or Path(f"{store.path}.staging")
    run = folder / f"dedup-{params.key.replace('/', '_')}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    task = ray.remote(sign_shard)
    pending, manifest = [], {}
    for i, batch in enumerate(reports.signatures_missing(store, params.key, SHARD_ROWS)):
        texts = run / f"texts-{i:05d}.parquet"
        pq.write_table(pa.Table.from_batches([batch]), texts)
        manifest[str(texts)] = batch.num_rows
        pending.append(task.remote(str(texts), str(run / f"signatures-{i:05d}.parquet"), params))
    computed = 0
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        shard = ray.get(done[0])
        computed += _merge(store, shard)
        if progress:
            progress(shard["rows"], 0)
    (run / "manifest.json").write_text(json.dumps({"texts": manifest, "computed": computed}))
    shutil.rmtree(run, ignore_errors=True)
    return computed


def _merge(store: Store, shard: dict[str, Any]) -> int:
    """A finished shard into the store, once its bytes and rows are what the task reported."""
    if _sha256(shard["path"]) != shard["sha256"]:
        raise ScannerError(f"{shard['path']}: shard changed after its task wrote it (sha256 mismatch)")
    table = pq.read_table(shard["path"])
    if table.num_rows != shard["rows"]:
        raise ScannerError(f"{shard['path']}: {table.num_rows} rows, the task reported {shard['rows']}")
    with store.transaction():
        store.write_dedup_signatures(table)
    return table.num_rows
