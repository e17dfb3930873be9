"""Stores with known facts for the summary tests: crawled documents whose robots.txt evidence is
fresh, stale (months older than the fetch) or absent, built through the real evidence import and
the real decision pass."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scanner import api
from scanner.corpus.records import document_row
from scanner.evidence import import_evidence
from scanner.manifest import load_manifest
from scanner.store import Store

# The crawler and its dataset, crawl@1 (category 2.3): every summary test's manifest has them.
CRAWLER = """
[crawler]
name = "Test crawler"
product_token = "TestBot"
user_agent = "TestBot/1.0"
purpose = "testing"

[[datasets]]
name = "crawl"
version = "1"
category = "2.3"
modality = ["text"]
"""

MANIFEST = """
[provider]
name = "Test Provider"
contact = "legal@test.invalid"
authorised_representative = "not applicable"
sme = false

[[models]]
name = "m"
version = "1"
eu_market_date = 2026-09-01
base_model = "not applicable"
"""
MANIFEST += CRAWLER
MANIFEST += """collection_period = {{ start = 2025-03-01, end = 2025-03-31 }}

[[datasets]]
name = "public"
version = "1"
url = "https://data.invalid/public"
category = "2.1"
modality = ["text"]
subset = "English pages only"
{extra}
"""

ANSWERED = """
[attestations]
public_datasets_used = "yes"
commercial_licences = "no"
private_third_party_datasets = "no"
crawlers_used = "yes"
user_data_model_interactions = "no"
user_data_other_services = "no"
synthetic_data = "no"
other_sources = "no"
code_of_practice_signatory = "yes"

[summary]
text_content_types = "News articles."
languages = "English."
continuous_training = "The model is not trained on new data after this date."
crawled_content_description = "News sites."
crawler_behaviour = "It does not solve CAPTCHAs or log in."
illegal_content_measures = "Blocklists."
"""

FETCH = datetime(2025, 3, 10, tzinfo=UTC)


def write_manifest(tmp_path: Path, extra: str = "", name: str = "m.toml"):
    f = tmp_path / name
    f.write_text(MANIFEST.format(extra=extra))
    return load_manifest(f)


def doc(i: int, host: str, source: str, size: int, tokens: int, fetched=FETCH, domain: str | None = None) -> dict:
    return document_row(
        doc_id=f"{source}{i:08d}",
        source_id=source,
        url=f"https://{host}/{i}",
        origin=f"https://{host}",
        host=host,
        registrable_domain=domain or host.removeprefix("www."),
        fetched_at=fetched,
        content_sha256=f"{i:064x}",
        raw_bytes=size,
        token_count=tokens,
        content_type="text/html",
        http_status=200,
    )


def decided_store(tmp_path: Path, manifest, only: str | None = None) -> Store:
    """crawl@1: 3 docs on fresh.example (robots seen on the fetch day), 4 on stale.example (robots
    seen 140 days earlier), 2 on reserved.example (GPTBot disallowed, fresh), 5 on none.example (no
    evidence: unknown). public@1: 1 huge doc without a fetch date."""
    store = Store.open(tmp_path / "s.duckdb")
    api.declare(store, manifest)
    rows = [doc(k, "www.fresh.example", "crawl@1", 1000, 100) for k in range(3)]
    rows += [doc(10 + k, "www.stale.example", "crawl@1", 2000, 100) for k in range(4)]
    rows += [doc(20 + k, "reserved.example", "crawl@1", 500, 100) for k in range(2)]
    rows += [doc(30 + k, "none.example", "crawl@1", 300, 100) for k in range(5)]
    rows += [doc(90, "huge.example", "public@1", 10**6, 10**4, fetched=None)]
    store.write_documents([r for r in rows if only is None or r["host"] == only])
    allow = tmp_path / "allow.txt"
    allow.write_text("User-agent: *\nAllow: /\n")
    deny = tmp_path / "deny.txt"
    deny.write_text("User-agent: GPTBot\nDisallow: /\n")
    import_evidence(
        store, allow, url="https://www.fresh.example/robots.txt", observed_at=datetime(2025, 3, 9, 23, tzinfo=UTC)
    )
    import_evidence(
        store, allow, url="https://www.stale.example/robots.txt", observed_at=datetime(2024, 10, 21, tzinfo=UTC)
    )
    import_evidence(
        store, deny, url="https://reserved.example/robots.txt", observed_at=datetime(2025, 3, 9, 23, tzinfo=UTC)
    )
    api.extract_signals(store)
    api.decide_documents(store, "any-ai-trainer")
    return store
