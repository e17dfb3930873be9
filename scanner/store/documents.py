"""Typed documents to the Arrow rows of the `documents` and `texts` tables (and the schemas of the
corpus evidence), beside the SQL that writes them: one schema for the local writer and the Ray
shards, so a shard's Parquet has the same types whatever its first batch held."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from scanner.corpus.records import Document

_TS = pa.timestamp("us", tz="UTC")

DOCUMENTS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("origin", pa.string()),
        ("host", pa.string()),
        ("registrable_domain", pa.string()),
        ("fetched_at", _TS),
        ("content_sha256", pa.string()),
        ("raw_bytes", pa.int64()),
        ("text_sha256", pa.string()),
        ("token_count", pa.int64()),
        ("modality", pa.string()),
        ("content_type", pa.string()),
        ("language", pa.string()),
        ("http_status", pa.int32()),
        ("record_locator", pa.string()),
        ("duration_seconds", pa.float64()),
        ("run_id", pa.string()),
    ]
)

TEXTS_SCHEMA = pa.schema([("text_sha256", pa.string()), ("text", pa.string())])

EVIDENCE_SCHEMA = pa.schema([("sha256", pa.string()), ("size", pa.int64()), ("body", pa.binary())])

OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("obs_id", pa.string()),
        ("evidence_sha256", pa.string()),
        ("kind", pa.string()),
        ("url", pa.string()),
        ("origin", pa.string()),
        ("observed_at", _TS),
        ("http_status", pa.int32()),
        ("headers", pa.string()),
        ("via", pa.string()),
        ("locator", pa.string()),
        ("run_id", pa.string()),
    ]
)


def documents_table(docs: Sequence[Document], run_id: str | None) -> pa.Table:
    """The documents' rows, every column typed (a batch of all-NULL dates stays a timestamp)."""
    columns = {
        f.name: pa.array([getattr(d, f.name) for d in docs], f.type) for f in DOCUMENTS_SCHEMA if f.name != "run_id"
    }
    columns["run_id"] = pa.array([run_id] * len(docs), pa.string())
    return pa.table(columns, schema=DOCUMENTS_SCHEMA)


def texts_table(docs: Sequence[Document]) -> pa.Table:
    """The extracted texts of the documents that have one, keyed by their sha256."""
    kept = [d for d in docs if d.text is not None]
    return pa.table(
        {"text_sha256": [d.text_sha256 for d in kept], "text": [d.text for d in kept]}, schema=TEXTS_SCHEMA
    )
