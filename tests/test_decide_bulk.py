"""Bulk decisions equal one-by-one decisions, on real robots.txt files and many paths."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scanner import api
from scanner.corpus.records import document_row, sha256_hex
from scanner.decide import decide, make_policy
from scanner.evidence import EvidenceIndex, Observation, write_observations
from scanner.store import Store

PATHS = [
    "/",
    "/robots.txt",
    "/news/2024/a.html",
    "/search?q=x",
    "/wp-admin/",
    "/private/x",
    "/img/a.jpg",
    "/a%3Fb",
    "/caf%C3%A9/menu",
    "/cgi-bin/x.pl",
]


def test_bulk_decide_equals_deciding_each_document(ext: Path, tmp_path: Path) -> None:
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in list(tar)[:400] if m.isfile()]
    bodies.append(b"User-agent: *\nContent-Usage: /a/ train-ai=n\nAllow: /\n")  # path-scoped: not shaped
    seen = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(tmp_path / "b.duckdb") as store:
        write_observations(
            store,
            [
                (b, Observation(sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", seen, "import", 200))
                for i, b in enumerate(bodies)
            ],
        )
        docs = []
        for i in range(len(bodies)):
            for j, path in enumerate(PATHS):
                n = i * len(PATHS) + j
                fetched = seen + timedelta(hours=1 if j % 2 else 48)  # fresh and stale evidence
                docs.append(
                    document_row(
                        doc_id=f"{n:032x}",
                        source_id="s",
                        url=f"https://s{i}.example{path}",
                        origin=f"https://s{i}.example",
                        host=f"s{i}.example",
                        registrable_domain=f"s{i}.example",
                        fetched_at=fetched,
                        content_sha256=f"{n:064x}",
                        raw_bytes=1,
                        token_count=1,
                        http_status=200,
                    )
                )
        store.insert("documents", docs)
        stats = api.decide_documents(store, "any-ai-trainer")
        stored = {r["doc_id"]: r for r in store.query("SELECT doc_id, verdict, reasons FROM decisions").to_pylist()}
        index = EvidenceIndex.load(store)
    policy = make_policy("any-ai-trainer")
    for doc in docs:
        one = decide(doc["url"], index.evidence_for(doc["url"], doc["fetched_at"], reference=doc["fetched_at"]), policy)
        row = stored[doc["doc_id"]]
        assert row["verdict"] == one.verdict and row["reasons"] == json.dumps(one.as_dict()), doc["url"]
    assert stats["reserved"] > 0 and stats["allowed"] > 0
    # most documents took the SQL path; %-escaped paths and the Content-Usage file did not
    assert stats["documents"] == len(docs) and stats["bulk_documents"] >= 0.7 * len(docs)
