"""Typed records that corpus readers produce and ingest turns into store rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime

from scanner import ids


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One item read from a corpus file, before text extraction.

    `payload` is the body as the corpus holds it (HTML, text, image bytes); `text` is set when
    the corpus already carries extracted text (JSONL/Parquet datasets).
    """

    locator: str  # file#offset or file:line: where a person finds it again
    url: str | None
    fetched_at: datetime | None
    payload: bytes
    content_type: str | None = None
    http_status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    record_id: str | None = None
    kind: str = "document"  # document | robots.txt (robots captures inside a crawl)
    duration_seconds: float | None = None  # audio/video playing time, from a `duration` field


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be read; ingest reports it and goes on."""

    locator: str
    reason: str


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    source_id: str
    url: str | None
    origin: str | None
    host: str | None
    registrable_domain: str | None
    fetched_at: datetime | None
    content_sha256: str
    raw_bytes: int
    text_sha256: str | None
    token_count: int | None
    modality: str
    content_type: str | None
    language: str | None
    http_status: int | None
    record_locator: str
    duration_seconds: float | None = None  # audio/video playing time (field or media header)
    text: str | None = field(default=None, repr=False)


# Columns of the documents table, in order (the Document fields but its text, then the run).
DOCUMENT_COLUMNS = (*(f.name for f in fields(Document) if f.name != "text"), "run_id")


def document_row(**values) -> dict:
    """A documents-table row: every column present, None unless given (imports, tests, benchmarks)."""
    unknown = set(values) - set(DOCUMENT_COLUMNS)
    if unknown:
        raise ValueError(f"not document columns: {sorted(unknown)}")
    return dict.fromkeys(DOCUMENT_COLUMNS) | {"modality": "text", "raw_bytes": 0} | values


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def document_id(source_id: str, url: str | None, fetched_at: datetime | None, content_sha: str) -> str:
    """Stable across runs and machines: the same record in the same source is the same document."""
    return ids.document_id(source_id, url, fetched_at.isoformat() if fetched_at else "", content_sha)


def whitespace_tokens(text: str | None) -> int | None:
    """The documented token count: runs of non-whitespace (str.split())."""
    return None if text is None else len(text.split())


def modality_of(content_type: str | None) -> str:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct.startswith("image/"):
        return "image"
    if ct.startswith("audio/"):
        return "audio"
    if ct.startswith("video/"):
        return "video"
    if not ct or ct.startswith("text/") or ct in _TEXT_TYPES:
        return "text"
    return "other"


_TEXT_TYPES = {"application/xhtml+xml", "application/xml", "application/json", "application/pdf"}
