"""Ingest: corpus files -> documents, texts and the evidence they carry, in resumable batches.

Each batch commits together with the file's checkpoint (records consumed so far), so a killed
run resumes after the last committed batch and a finished file is never read twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from scanner.corpus.extract import decode_text, extract_main_text, is_html
from scanner.corpus.jsonl import FieldMap, read_jsonl
from scanner.corpus.records import (
    BadRecord,
    Document,
    RawRecord,
    document_id,
    modality_of,
    sha256_hex,
    whitespace_tokens,
)
from scanner.corpus.warc import read_warc
from scanner.errors import InputError
from scanner.evidence import Observation, observation_rows
from scanner.store import Store
from scanner.urls import split_url

Progress = Callable[[int], None]


@dataclass
class FileReport:
    path: str
    source_id: str
    records: int = 0  # records consumed in this run
    resumed_at: int = 0  # records skipped because an earlier run committed them
    documents_new: int = 0
    evidence_new: int = 0
    already_done: bool = False
    bad: list[BadRecord] = field(default_factory=list)


def reader_for(path: Path, fields: FieldMap) -> Iterator[RawRecord | BadRecord]:
    name = path.name.lower()
    if name.endswith((".warc", ".warc.gz")):
        return read_warc(path)
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        return read_jsonl(path, fields)
    raise InputError(str(path), "unsupported corpus format (expected .warc[.gz] or .jsonl[.gz])")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    return h.hexdigest()


def to_document(rec: RawRecord, source_id: str) -> Document:
    """Pure: one raw record -> one document with its text, sizes and keys."""
    parts = split_url(rec.url) if rec.url else None
    content_sha = sha256_hex(rec.payload)
    text = rec.text
    if text is None and modality_of(rec.content_type) == "text":
        text = (
            extract_main_text(rec.payload)
            if is_html(rec.content_type, rec.payload)
            else (decode_text(rec.payload))
        )
    return Document(
        doc_id=document_id(source_id, rec.url, rec.fetched_at, content_sha),
        source_id=source_id,
        url=rec.url,
        origin=parts.origin if parts else None,
        host=parts.host if parts else None,
        registrable_domain=parts.registrable_domain if parts else None,
        fetched_at=rec.fetched_at,
        content_sha256=content_sha,
        raw_bytes=len(rec.payload),
        text_sha256=sha256_hex(text) if text is not None else None,
        token_count=whitespace_tokens(text),
        modality=modality_of(rec.content_type),
        content_type=rec.content_type,
        language=None,
        http_status=rec.http_status,
        record_locator=rec.locator,
        text=text,
    )


def robots_observation(rec: RawRecord) -> tuple[bytes, Observation] | None:
    """A robots.txt capture inside a crawl is historical evidence for its origin."""
    if rec.url is None or rec.fetched_at is None:
        return None
    obs = Observation(
        evidence_sha256=sha256_hex(rec.payload),
        kind="robots.txt",
        url=rec.url,
        observed_at=rec.fetched_at,
        via="corpus-record",
        http_status=rec.http_status,
        headers=rec.headers,
        locator=rec.locator,
    )
    return rec.payload, obs


_DOC_COLUMNS = tuple(f.name for f in fields(Document) if f.name != "text")


class _Batch:
    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.evidence: list[tuple[bytes, Observation]] = []
        self.records = 0

    def __len__(self) -> int:
        return self.records


def _flush(
    store: Store, batch: _Batch, report: FileReport, fsha: str, done: int, run_id: str | None, finished: bool
) -> None:
    docs = [{k: getattr(d, k) for k in _DOC_COLUMNS} | {"run_id": run_id} for d in batch.documents]
    texts = [{"text_sha256": d.text_sha256, "text": d.text} for d in batch.documents if d.text is not None]
    blobs, sightings = observation_rows(batch.evidence, run_id)
    with store.transaction():
        report.documents_new += store.insert("documents", docs)
        store.insert("texts", texts)
        report.evidence_new += store.insert("evidence", blobs)
        store.insert("observations", sightings)
        store.set_checkpoint(fsha, report.source_id, report.path, done, finished)


def ingest_file(
    store: Store,
    path: Path,
    source_id: str,
    *,
    fields: FieldMap = FieldMap(),
    batch_size: int = 256,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> FileReport:
    report = FileReport(path=str(path), source_id=source_id)
    records = reader_for(path, fields)  # fails early on an unsupported name
    fsha = file_sha256(path)
    done, finished = store.checkpoint(fsha, source_id)
    if finished:
        report.already_done = True
        return report
    report.resumed_at = done
    batch = _Batch()
    position = 0
    for position, item in enumerate(records, start=1):
        if position <= done:
            continue
        batch.records += 1
        if isinstance(item, BadRecord):
            report.bad.append(item)
        elif item.kind == "robots.txt":
            ev = robots_observation(item)
            if ev:
                batch.evidence.append(ev)
        else:
            batch.documents.append(to_document(item, source_id))
        if len(batch) >= batch_size:
            _flush(store, batch, report, fsha, position, run_id, finished=False)
            report.records += batch.records
            if progress:
                progress(batch.records)
            batch = _Batch()
    _flush(store, batch, report, fsha, max(position, done), run_id, finished=True)
    report.records += batch.records
    if progress:
        progress(batch.records)
    return report
