"""`provenance ingest --engine ray`: one Ray task per corpus file, merged into the store per file.

A task reads its file, builds the same documents and evidence as the local path (`build_batch`,
so ids stay deterministic and the rows are the same), and writes them as Parquet shards of
documents, texts, evidence and observations into a staging folder beside the store; workers
never open the `.duckdb` file. The coordinator merges each finished shard in its own transaction
(after checking the rows and sha256 the task reported) together with the file's checkpoint, with
the store's idempotent writers, in the order of the files (tasks finish in any order; a record
found in two files keeps the first file's locator, as on one machine): a killed run keeps the
files it merged and the next run skips them, as the local engine skips finished files. A file
left half done by the local engine is resumed by its task after the records already committed.

On a real cluster the staging folder must be on storage every node sees, and the corpus files
must be readable by every node at the same paths.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.corpus.extract import Extractor
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import FileReport, _batches, build_batch, content_sha256, reader_for
from scanner.corpus.progress import Tracker
from scanner.decide.rules import compile_missing
from scanner.dedup.ray_engine import shard_entry, start, verified
from scanner.errors import InputError
from scanner.evidence import observation_rows
from scanner.store import Store
from scanner.store.documents import EVIDENCE_SCHEMA, OBSERVATIONS_SCHEMA, documents_table, texts_table

SHARD_TABLES = ("texts", "documents", "evidence", "observations")
_MERGE_ROWS = 65_536  # rows per write while merging a shard: memory stays flat for a large file


@dataclass(frozen=True)
class Job:
    """One input file of the run, in the order the user gave it."""

    index: int
    path: Path
    source_id: str
    fields: FieldMap


def ingest_shard(
    path: str, source_id: str, fields: FieldMap, extractor: Extractor, skip: int, batch_size: int, folder: str
) -> dict[str, Any]:
    """One Ray task: a corpus file (after its first `skip` records) to Parquet shards and counts.

    A file that fails part way (a cut gzip stream) hands back what it read before, as the local
    engine commits the batches before the failure, with the reason."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = FileReport(path=path, source_id=source_id, resumed_at=skip)
    writers: dict[str, pq.ParquetWriter] = {}
    rows = dict.fromkeys(SHARD_TABLES, 0)
    position, payload, failed = skip, 0, None
    try:
        for items, at in _batches(reader_for(Path(path), fields), skip, batch_size):
            built = build_batch(items, source_id, extractor)
            blobs, sightings = observation_rows(built.evidence, None)
            tables = {
                "texts": texts_table(built.documents),
                "documents": documents_table(built.documents, None),
                "evidence": pa.Table.from_pylist(blobs, EVIDENCE_SCHEMA),
                "observations": pa.Table.from_pylist(sightings, OBSERVATIONS_SCHEMA),
            }
            for name, table in tables.items():
                if table.num_rows:
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
                    writers[name].write_table(table)
                    rows[name] += table.num_rows
            report.count(built)
            payload, position = payload + built.payload_bytes, at
    except InputError as exc:
        failed = exc.problem
    finally:
        for writer in writers.values():
            writer.close()
    tables = {name: shard_entry(str(out / f"{name}.parquet"), rows[name]) for name in writers}
    return {"report": report, "position": position, "payload_bytes": payload, "failed": failed, "tables": tables}


def ingest_on_ray(
    store: Store,
    jobs: Sequence[tuple[Path, str, FieldMap]],
    *,
    run_id: str,
    extractor: Extractor,
    batch_size: int,
    address: str | None = None,
    workers: int | None = None,
    staging: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    tracker: Tracker | None = None,
    sizes: Mapping[Path, int] | None = None,
) -> tuple[list[FileReport], list[dict[str, str]]]:
    """Ingest the jobs on a Ray cluster; returns the file reports (in job order) and the files
    that could not be read, as the local engine does (a file that fails part way keeps the rows
    read before, and is listed as failed, not as a report). `sizes`: bytes per path, for the tracker."""
    ray = start(address, workers)
    run = (staging or Path(f"{store.path}.staging")) / "ingest"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    task = ray.remote(ingest_shard)
    reports: dict[int, FileReport] = {}
    failed: list[tuple[int, dict[str, str]]] = []
    pending: dict[Any, tuple[Job, str]] = {}
    try:
        for job in (Job(i, p, s, f) for i, (p, s, f) in enumerate(jobs)):
            try:
                reader_for(job.path, job.fields)  # an unsupported name fails here, as locally
                fsha = content_sha256(job.path)
            except InputError as exc:
                failed.append((job.index, {"file": str(job.path), "reason": exc.problem}))
                continue
            done, finished = store.checkpoint(fsha, job.source_id)
            if finished:
                reports[job.index] = FileReport(path=str(job.path), source_id=job.source_id, already_done=True)
                continue
            folder = str(run / f"{job.index:05d}")
            ref = task.remote(str(job.path), job.source_id, job.fields, extractor, done, batch_size, folder)
            pending[ref] = (job, fsha)
        for ref in list(pending):  # merged in job order: the first file's copy of a record wins, as locally
            job, fsha = pending.pop(ref)
            shard = ray.get(ref)
            report = _merge(store, shard, fsha, run_id)
            if shard["failed"] is None:
                reports[job.index] = report
            else:
                failed.append((job.index, {"file": str(job.path), "reason": shard["failed"]}))
            if tracker is not None:
                tracker.begin_file(job.path, (sizes or {}).get(job.path, 0))
                tracker.advance(report.records, shard["payload_bytes"])
                tracker.end_file()
            if progress:
                progress(report.records, shard["payload_bytes"])
        if any(r.evidence_new for r in reports.values()):
            compile_missing(store)  # the new robots.txt files' rules, once for the run (decide reads them)
    finally:
        for ref in pending:  # interrupted, or a shard failed to merge: stop the rest first
            ray.cancel(ref)
        shutil.rmtree(run, ignore_errors=True)
    return [reports[i] for i in sorted(reports)], [f for _, f in sorted(failed, key=lambda x: x[0])]


def _merge(store: Store, shard: dict[str, Any], fsha: str, run_id: str) -> FileReport:
    """A finished shard and its file's checkpoint, in one transaction: all of it or none."""
    report: FileReport = shard["report"]
    files = {name: verified(entry) for name, entry in shard["tables"].items()}
    write = {
        "texts": store.write_texts,
        "documents": store.write_documents,
        "evidence": store.write_evidence,
        "observations": store.write_observations,
    }
    with store.transaction():
        for name in SHARD_TABLES:
            for batch in files[name].iter_batches(_MERGE_ROWS) if name in files else ():
                n = write[name](_with_run(batch, run_id))
                report.documents_new += n if name == "documents" else 0
                report.evidence_new += n if name == "evidence" else 0
        finished = shard["failed"] is None
        store.set_checkpoint(fsha, report.source_id, report.path, shard["position"], finished=finished)
    return report


def _with_run(batch: pa.RecordBatch, run_id: str) -> pa.Table:
    """The merging run's id on the rows that carry one (documents, observations)."""
    table = pa.Table.from_batches([batch])
    at = table.schema.get_field_index("run_id")
    return table if at < 0 else table.set_column(at, "run_id", pa.array([run_id] * table.num_rows, pa.string()))


