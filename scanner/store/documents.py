"""Typed documents to the Arrow rows of the `documents` and `texts` tables (and the schemas of the
corpus evidence), beside the SQL that writes them: one schema for the local writer and the Ray
shards, so a shard's Parquet has the same types whatever its first batch held."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from scanner.corpus.records import Document

_TS = pa.timestamp("us", tz="UTC")


def _schema(columns: str, types: dict[str, pa.DataType]) -> pa.Schema:
    """The columns in table order, strings unless `types` names another type."""
    return pa.schema([(c, types.get(c, pa.string())) for c in columns.split()])


DOCUMENTS_SCHEMA = _schema(
    "doc_id source_id url origin host registrable_domain fetched_at content_sha256 raw_bytes text_sha256 "
    "token_count modality content_type language http_status record_locator duration_seconds run_id",
    {
        "fetched_at": _TS,
        "raw_bytes": pa.int64(),
        "token_count": pa.int64(),
        "http_status": pa.int32(),
        "duration_seconds": pa.float64(),
    },
)
TEXTS_SCHEMA = _schema("text_sha256 text", {})
EVIDENCE_SCHEMA = _schema("sha256 size body", {"size": pa.int64(), "body": pa.binary()})
OBSERVATIONS_SCHEMA = _schema(
    "obs_id evidence_sha256 kind url origin observed_at http_status headers via locator run_id",
    {"observed_at": _TS, "http_status": pa.int32()},
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
