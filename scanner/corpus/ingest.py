"""Ingest: corpus files -> documents, texts and the evidence they carry, in resumable batches.

Records are built in batches; built batches wait in memory until they hold `COMMIT_BUDGET`'s
bytes or records, or its seconds have passed, and then commit in one transaction together with
the file's checkpoint (the records consumed up to the last of them), so a killed run resumes
after the last committed batch and a finished file is never read twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from scanner.corpus import jsonl, warc
from scanner.corpus.columnar import read_dataset_dir, read_parquet
from scanner.corpus.extract import Extractor, decode_text, extract_main_text, is_html, read_page
from scanner.corpus.fields import FieldMap
from scanner.corpus.media import media_duration
from scanner.corpus.problems import BadRecords
from scanner.corpus.progress import Tracker, record_offset
from scanner.corpus.records import (
    BadRecord,
    Document,
    RawRecord,
    document_id,
    modality_of,
    sha256_hex,
)
from scanner.corpus.text_stats import count_tokens, detect_language
from scanner.errors import InputError
from scanner.evidence import Observation, compile_rules, observation_rows
from scanner.evidence_model import EvidenceKind
from scanner.signals.html import facts_to_evidence, read_html
from scanner.store import Store
from scanner.urls import split_url

_NO_DATE = datetime(1970, 1, 1, tzinfo=UTC)  # a record without a date: seen "at some time"
Progress = Callable[[int, int], None]  # (records, payload bytes) committed since the last call


@dataclass(frozen=True)
class CommitBudget:
    """When built batches go to the store: once those waiting hold `held_bytes` (texts and
    evidence bodies) or `records` records, or once `seconds` have passed since the last commit
    and `commit_share` of the time since is no more than that commit took, whichever comes
    first; a file's last batches always commit at its end."""

    held_bytes: int
    records: int
    seconds: float
    commit_share: float = 1.0

    def due(self, held_bytes: int, records: int, since: float, last_commit: float = 0.0) -> bool:
        """`since`: seconds since the last commit ended; `last_commit`: seconds it took."""
        waited = since >= self.seconds and since * self.commit_share >= last_commit
        return held_bytes >= self.held_bytes or records >= self.records or waited


# A commit of a store opened lock-free reopens the DuckDB file and checkpoints it on close, and
# that cost grows with the store (~84 CPU-ms at 100k documents, issue #21): one commit per batch
# of 256 records made ingest slower the larger the store. Batches are grouped instead. The bytes
# and records cap what waits in memory (16 MB of text is ~5k documents of 3 KB; 16k records of
# short texts hold ~20 MB of Python objects). The seconds cap what a crash or a signal loses and
# how far behind ingest readers of the store (`query`, `status`) see it; and as a commit costs
# more the larger the store, a commit waits at least 10 times as long as the last one took, so
# commits stay a tenth of an ingest's time at most (at 150 documents/s, as the CLI's extraction
# and language detection go on one core, 2 s would be a commit per batch and a half).
COMMIT_BUDGET = CommitBudget(held_bytes=16 << 20, records=16_384, seconds=2.0, commit_share=0.1)
EVERY_BATCH = CommitBudget(held_bytes=0, records=0, seconds=0.0)  # a commit per batch (tests)


@dataclass
class FileReport:
    path: str
    source_id: str
    records: int = 0  # records consumed in this run
    resumed_at: int = 0  # records skipped because an earlier run committed them
    documents_new: int = 0
    evidence_new: int = 0
    already_done: bool = False
    bad: BadRecords = field(default_factory=BadRecords)  # the first ones in full, then counts
    documents: int = 0  # documents read in this run (new or already stored)
    undated: int = 0  # documents without a usable date: fetched_at is NULL
    limited: bool = False  # stopped at --limit: the next run resumes the file

    def count(self, built: _Built) -> None:
        """What a built batch adds to the file's accounting (records, bad records, documents)."""
        self.records += built.records
        self.bad += built.bad
        self.documents += len(built.documents)
        self.undated += sum(1 for d in built.documents if d.fetched_at is None)


def reader_for(path: Path, fields: FieldMap) -> Iterator[RawRecord | BadRecord | None]:
    """The reader for a corpus path, chosen by name (or a dataset folder)."""
    name = path.name.lower()
    if path.is_dir():
        return read_dataset_dir(path, fields)
    if name.endswith(warc.WARC_SUFFIXES + warc.ARC_SUFFIXES):
        return warc.read_warc(path)
    if name.endswith(jsonl.SUFFIXES):
        return jsonl.read_jsonl(path, fields)
    if name.endswith(".parquet"):
        return read_parquet(path, fields)
    raise InputError(
        str(path),
        "unsupported corpus format (expected .warc[.gz|.lz4], .arc[.gz], "
        ".jsonl[.gz|.zst], .parquet, or a dataset folder)",
    )


def content_sha256(path: Path) -> str:
    """Identity of a corpus input by content: a file's bytes, or a folder's shards and bytes."""
    h = hashlib.sha256()
    try:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if path.is_dir():
                h.update(str(f.relative_to(path)).encode() + b"\0")
            with f.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    return h.hexdigest()


_UNREAD = object()


def to_document(rec: RawRecord, source_id: str, html_text: str | object | None = _UNREAD) -> Document:
    """Pure: one raw record -> one document with its text, sizes and keys.

    `html_text`: the page's main text when the caller already extracted it (one parse per page).
    """
    parts = split_url(rec.url) if rec.url else None
    content_sha = sha256_hex(rec.payload)
    text = rec.text
    if text is None and modality_of(rec.content_type) == "text":
        if not is_html(rec.content_type, rec.payload):
            text = decode_text(rec.payload)
        else:
            text = extract_main_text(rec.payload) if html_text is _UNREAD else cast(str | None, html_text)
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
        token_count=count_tokens(text),
        modality=modality_of(rec.content_type),
        content_type=rec.content_type,
        language=detect_language(text) if modality_of(rec.content_type) == "text" else None,
        http_status=rec.http_status,
        record_locator=rec.locator,
        duration_seconds=_duration(rec),
        text=text,
    )


def _duration(rec: RawRecord) -> float | None:
    """Audio/video playing time: the corpus's `duration` field, else the media's own header."""
    if modality_of(rec.content_type) not in ("audio", "video"):
        return None
    if rec.duration_seconds is not None:
        return float(rec.duration_seconds)
    return media_duration(rec.payload, rec.content_type)


# Response headers that can carry a reservation of rights or a licence (spec §6.3, §7, §10, §12).
RIGHTS_HEADERS = ("x-robots-tag", "tdm-reservation", "tdm-policy", "content-usage", "link", "content-signal")


def headers_observation(rec: RawRecord) -> tuple[bytes, Observation] | None:
    """The rights-relevant response headers of a crawled record, as evidence seen at crawl time.

    Stored as canonical JSON, so the same header set on a thousand pages is one blob.
    """
    kept = [(k.lower(), v) for k, v in rec.headers if k.lower() in RIGHTS_HEADERS]
    links = [v for k, v in kept if k == "link"]
    if links and not any("license" in v.lower() for v in links):
        kept = [(k, v) for k, v in kept if k != "link"]  # only licence links are rights evidence
    if not kept or rec.url is None or rec.fetched_at is None:
        return None
    return _observation(rec, "headers", json.dumps(sorted(kept), separators=(",", ":")).encode())


def html_meta_observation(rec: RawRecord) -> tuple[bytes, Observation] | None:
    """The page's robots/TDMRep meta tags and licence markup, as evidence seen at fetch time."""
    if rec.text is not None or rec.url is None or not is_html(rec.content_type, rec.payload):
        return None
    body = facts_to_evidence(read_html(rec.payload))
    return None if body is None else _observation(rec, "html-meta", body)


def robots_observation(rec: RawRecord) -> tuple[bytes, Observation] | None:
    """A robots.txt capture inside a crawl is historical evidence for its origin."""
    if rec.url is None or rec.fetched_at is None:
        return None
    body, obs = _observation(rec, EvidenceKind.ROBOTS_TXT, rec.payload, rec.headers)
    if rec.record_id:  # the chain of custody names the WARC record, not only its offset
        obs = replace(obs, locator=f"{rec.locator} record={rec.record_id}")
    return body, obs


def _observation(rec: RawRecord, kind: str, body: bytes, headers: tuple = ()) -> tuple[bytes, Observation]:
    """Evidence found inside a corpus record, observed at the record's date."""
    assert rec.url is not None  # the callers keep records without a URL out
    obs = Observation(
        evidence_sha256=sha256_hex(body),
        kind=kind,
        url=rec.url,
        observed_at=rec.fetched_at or _NO_DATE,
        via="corpus-record",
        http_status=rec.http_status,
        headers=headers,
        locator=rec.locator,
    )
    return body, obs


Item = RawRecord | BadRecord | None
_CHUNK = 16  # records per task sent to a worker process


@dataclass
class _Built:
    """What one batch of records became: pure values, so a worker process can build it."""

    records: int
    payload_bytes: int
    documents: list[Document] = field(default_factory=list)
    evidence: list[tuple[bytes, Observation]] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    offset: int | None = None  # byte offset of the last record in its file, when the locator has one

    @property
    def held_bytes(self) -> int:
        """What the batch holds until it commits: its texts (characters) and evidence bodies."""
        return sum(len(d.text) for d in self.documents if d.text is not None) + sum(len(b) for b, _ in self.evidence)


OnRecord = Callable[[int, int, int | None], None]  # (records, payload bytes, file offset)


def build_batch(
    items: list[Item],
    source_id: str,
    extractor: Extractor = Extractor.TRAFILATURA,
    on_record: OnRecord | None = None,
) -> _Built:
    """Records -> documents (text extraction happens here), robots.txt evidence, bad records.

    Each HTML page is parsed once, for its text and its rights meta tags (extract.read_page).
    """
    built = _Built(len(items), sum(len(i.payload) for i in items if isinstance(i, RawRecord)))
    for item in items:
        if item is not None:
            built.offset = record_offset(item.locator)
        if item is None:
            pass  # consumed, no document (a WARC request record, a blank line)
        elif isinstance(item, BadRecord):
            built.bad.append(item)
        elif item.kind == EvidenceKind.ROBOTS_TXT:
            ev = robots_observation(item)
            if ev:
                built.evidence.append(ev)
        else:
            _build_document(item, source_id, extractor, built)
        if on_record is not None:
            on_record(1, len(item.payload) if isinstance(item, RawRecord) else 0, built.offset)
    return built


def _build_document(item: RawRecord, source_id: str, extractor: Extractor, built: _Built) -> None:
    if item.text is None and is_html(item.content_type, item.payload):
        text, meta = read_page(item.payload, extractor, meta=item.url is not None)
        built.documents.append(to_document(item, source_id, html_text=text))
    else:
        meta = None
        built.documents.append(to_document(item, source_id))
    if item.headers and (ev := headers_observation(item)):
        built.evidence.append(ev)
    if meta is not None:
        built.evidence.append(_observation(item, "html-meta", meta))


def _write(
    store: Store, built: _Built, report: FileReport, fsha: str, done: int, run_id: str | None, finished: bool
) -> None:
    """Built batches (merged) and the file's checkpoint in one transaction: all of it or none."""
    blobs, sightings = observation_rows(built.evidence, run_id)
    with store.transaction():
        report.documents_new += store.write_corpus_documents(built.documents, run_id)
        report.evidence_new += store.write_evidence(blobs)
        store.write_observations(sightings)
        compile_rules(store, built.evidence)
        store.set_checkpoint(fsha, report.source_id, report.path, done, finished)
    report.count(built)


def _batches(
    records: Iterator[Item], skip: int, size: int, limit: int | None = None
) -> Iterator[tuple[list[Item], int]]:
    """(records, position after them), after skipping what an earlier run committed.

    With `limit`, stops after that many records (the rest is left for the next run).
    """
    batch: list[Item] = []
    position = 0
    taken = 0
    for position, item in enumerate(records, start=1):
        if position <= skip:
            continue
        if limit is not None and taken >= limit:
            position -= 1
            break
        batch.append(item)
        taken += 1
        if len(batch) >= size:
            yield batch, position
            batch = []
    if batch or position <= skip:
        yield batch, max(position, skip)


def ingest_file(
    store: Store,
    path: Path,
    source_id: str,
    *,
    fields: FieldMap = FieldMap(),
    batch_size: int = 256,
    run_id: str | None = None,
    progress: Progress | None = None,
    pool: Executor | None = None,
    tracker: Tracker | None = None,
    extractor: Extractor = Extractor.TRAFILATURA,
    limit: int | None = None,
    stop: Callable[[], None] | None = None,
    commit: CommitBudget = COMMIT_BUDGET,
) -> FileReport:
    """Ingest one corpus file or dataset folder, resuming after its last committed batch.

    With a process pool, batches are built (text extracted) in parallel while this process
    reads ahead and writes finished batches in file order, so checkpoints stay exact. Built
    batches commit together once they fill `commit` (`COMMIT_BUDGET`); `progress` is told after
    each commit. `tracker` is told of every record as it is built (not once per batch); `limit`
    stops after that many records without marking the file finished. The store may be opened
    with `hold_lock=False`: between commits this function holds no connection to it.
    `stop` is called where stopping holds nothing half done: between the records it builds
    itself and every `STOP_TICK` seconds while it waits for the workers' texts; it raises to
    stop (a SIGTERM then need not wait for a batch of extraction; built batches not yet
    committed are read again by the next run).
    """
    report = FileReport(path=str(path), source_id=source_id)
    records = reader_for(path, fields)  # fails early on an unsupported name
    fsha = content_sha256(path)
    done, finished = store.checkpoint(fsha, source_id)
    if finished:
        report.already_done = True
        return report
    on_record = _and_stop(tracker.advance if tracker is not None else None, stop)
    report.resumed_at = done
    pending: deque[tuple[list[Future[_Built]], int]] = deque()
    workers = getattr(pool, "_max_workers", 1) if pool else 0
    position = done

    group = _Group()  # built batches waiting for their commit, in file order

    def write(finished: bool = False) -> None:
        built = _merge(group.built)
        start = time.monotonic()
        _write(store, built, report, fsha, group.position, run_id, finished=finished)
        group.clear(took=time.monotonic() - start)
        if progress:
            progress(built.records, built.payload_bytes)

    def take_oldest() -> None:
        """The oldest batch into the group, and the group committed if that made it due."""
        futures, at = pending.popleft()
        group.add(_merge([_result(f, stop) for f in futures]), at)
        if commit.due(group.held_bytes, group.records, group.age(), group.last_commit):
            write()

    def backlog() -> bool:
        """Without a pool, take each batch at once; with one, keep ~8 tasks per worker in flight."""
        if pool is None:
            return bool(pending)
        return len(pending) > 1 and sum(len(f) for f, _ in pending) > 8 * workers

    consumed = 0
    for items, position in _batches(records, done, batch_size, limit):
        consumed += len(items)
        if pool:  # small chunks keep every worker busy even when a file is one batch
            step = max(1, min(_CHUNK, -(-len(items) // workers)))
            chunks = [items[i : i + step] for i in range(0, len(items), step)] or [[]]
            futures = [pool.submit(build_batch, c, source_id, extractor) for c in chunks]
            if tracker is not None:
                for f in futures:
                    f.add_done_callback(_tell(tracker))
            pending.append((futures, position))
        else:
            pending.append(([_done_future(build_batch(items, source_id, extractor, on_record))], position))
        while backlog():
            take_oldest()
    while pending:
        take_oldest()
    report.limited = limit is not None and consumed >= limit
    if group.built:  # the rest commits with the file's `finished` mark (one commit for a small file)
        write(finished=not report.limited)
    elif not report.limited:
        store.set_checkpoint(fsha, source_id, str(path), position, finished=True)
    return report


@dataclass
class _Group:
    """Built batches not committed yet: what they hold, and the position after the last."""

    built: list[_Built] = field(default_factory=list)
    position: int = 0
    records: int = 0
    held_bytes: int = 0
    since: float = field(default_factory=time.monotonic)  # the last commit's end (or the file's start)
    last_commit: float = 0.0  # seconds the last commit took

    def add(self, built: _Built, position: int) -> None:
        self.built.append(built)
        self.position = position
        self.records += built.records
        self.held_bytes += built.held_bytes

    def age(self) -> float:
        """Seconds since the last commit."""
        return time.monotonic() - self.since

    def clear(self, took: float) -> None:
        self.built, self.records, self.held_bytes = [], 0, 0
        self.since, self.last_commit = time.monotonic(), took


STOP_TICK = 1.0  # seconds between stop checks while waiting for a worker's texts


def _result(future: Future[_Built], stop: Callable[[], None] | None) -> _Built:
    """The future's result; `stop()` every STOP_TICK while it runs. Not a wait without timeout
    and a signal handler: a signal the kernel hands to another thread does not wake this one."""
    while stop is not None and not future.done():
        stop()
        wait([future], timeout=STOP_TICK)
    return future.result()


def _and_stop(on_record: OnRecord | None, stop: Callable[[], None] | None) -> OnRecord | None:
    """`on_record`, then `stop()`: records built in this process are a safe point each."""
    if stop is None:
        return on_record

    def both(records: int, payload_bytes: int, offset: int | None) -> None:
        if on_record is not None:
            on_record(records, payload_bytes, offset)
        stop()

    return both


def _tell(tracker: Tracker) -> Callable[[Future[_Built]], None]:
    def done(future: Future[_Built]) -> None:
        if not future.cancelled() and future.exception() is None:
            built = future.result()
            tracker.advance(built.records, built.payload_bytes, built.offset)

    return done


def _merge(parts: list[_Built]) -> _Built:
    merged = _Built(sum(p.records for p in parts), sum(p.payload_bytes for p in parts))
    for p in parts:
        merged.documents += p.documents
        merged.evidence += p.evidence
        merged.bad += p.bad
    return merged


def _done_future(value: _Built) -> Future[_Built]:
    future: Future[_Built] = Future()
    future.set_result(value)
    return future
