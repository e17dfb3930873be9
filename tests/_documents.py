"""Crawled documents for decision tests and benches: the n-th document, fetched from `host` at
`path`, with its origin and registrable domain stored as ingest would store them."""

from __future__ import annotations

from datetime import datetime

from scanner.corpus.records import document_row


def crawled(n: int, host: str, path: str, fetched: datetime | None, **more: object) -> dict:
    """Row `n` (doc id and content hash from `n`); `more` overrides sizes, source, content type."""
    return document_row(
        **{
            "doc_id": f"{n:032x}",
            "source_id": "s",
            "url": f"https://{host}{path}",
            "origin": f"https://{host}",
            "host": host,
            "registrable_domain": host,
            "fetched_at": fetched,
            "content_sha256": f"{n:064x}",
            "raw_bytes": 1,
            "token_count": 1,
            "http_status": 200,
            **more,
        }
    )
