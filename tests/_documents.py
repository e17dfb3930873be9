"""Crawled documents for decision tests and benches: the n-th document, fetched from `host` at
`path`, with its origin and registrable domain stored as ingest would store them."""

from __future__ import annotations

from datetime import datetime

from scanner.corpus.records import document_row, sha256_hex


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


def with_text(n: int, text: str) -> tuple[dict, dict]:
    """Row `n` of a dedup corpus and its text row: the document keyed by the text's sha256, on
    one of 40 hosts, its token count the text's words."""
    sha = sha256_hex(text)
    doc = document_row(
        doc_id=f"{n:032x}", source_id="s", url=f"https://s{n % 40}.example/{n}", content_sha256=sha,
        raw_bytes=len(text), http_status=200, text_sha256=sha, token_count=len(text.split()),
    )  # fmt: skip
    return doc, {"text_sha256": sha, "text": text}
