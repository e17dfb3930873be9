"""Ingest on real corpus files: WARC and JSONL, idempotence, resume after a kill, bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from scanner import api
from scanner.corpus.ingest import ingest_file
from scanner.corpus.jsonl import FieldMap
from scanner.corpus.warc import read_warc
from scanner.store import Store


def _state(store: Store) -> dict:
    return {
        "documents": store.query(
            "SELECT doc_id, url, content_sha256, raw_bytes, token_count, text_sha256 FROM documents "
            "ORDER BY doc_id"
        ).to_pylist(),
        "texts": store.count("texts"),
        "evidence": store.count("evidence"),
        "observations": store.count("observations"),
    }


def test_warc_records_match_the_reference_listing(ext: Path) -> None:
    warc = ext / "warc-samples/resiliparse/warcfile.warc.gz"
    reference = json.loads((ext / "warc-samples/reference_index.json").read_text())
    expected = [
        (r["offset"], r["target_uri"])
        for r in reference["files"]["resiliparse/warcfile.warc.gz"]["records"]
        if r["warc_type"] in ("response", "resource")
    ]
    got = [(int(r.locator.split("#")[1]), r.url) for r in read_warc(warc)]
    assert got == expected
    assert len(got) == 16


def test_ingest_is_idempotent(tmp_path: Path, sample: Path) -> None:
    path = sample / "news-crawl.jsonl.gz"
    with Store.open(tmp_path / "s.duckdb") as store:
        first = ingest_file(store, path, "news")
        before = _state(store)
        again = ingest_file(store, path, "news")
        assert first.documents_new == 30 and first.records == 30
        assert again.already_done and again.documents_new == 0
        assert _state(store) == before
        # every HTML page got text from trafilatura, with a whitespace token count
        rows = store.query("SELECT token_count FROM documents").column(0).to_pylist()
        assert all(n and n > 50 for n in rows)


_KILLED_INGEST = """
import os, sys
from pathlib import Path
from scanner.corpus.ingest import ingest_file
from scanner.store import Store
batches = 0
def progress(n):
    global batches
    batches += 1
    if batches == 3:
        os._exit(9)          # killed right after the third batch committed
store = Store.open({store!r})
ingest_file(store, Path({path!r}), "news", batch_size=4, progress=progress)
"""


def test_killed_ingest_resumes_to_the_same_store_as_a_clean_run(tmp_path: Path, sample: Path) -> None:
    path = sample / "news-crawl.jsonl.gz"
    killed = tmp_path / "killed.duckdb"
    script = _KILLED_INGEST.format(store=str(killed), path=str(path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr

    with Store.open(killed) as store:
        assert store.count("documents") == 12  # three whole batches, nothing of the fourth
        resumed = ingest_file(store, path, "news", batch_size=4)
        assert resumed.resumed_at == 12 and resumed.records == 18
        after_resume = _state(store)

    with Store.open(tmp_path / "clean.duckdb") as store:
        ingest_file(store, path, "news", batch_size=4)
        assert _state(store) == after_resume


def test_bad_records_are_reported_and_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "mixed.jsonl.gz"
    lines = [
        json.dumps({"url": "https://a.example/1", "text": "one two three", "date": "2024-05-01"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"url": "https://a.example/2", "title": "no text here"}),
        json.dumps({"url": "https://a.example/3", "text": "x", "date": "yesterday"}),
        json.dumps({"url": "https://b.example/4", "text": "four five", "timestamp": 1714521600}),
    ]
    corpus.write_bytes(gzip.compress("\n".join(lines).encode()))
    with Store.open(tmp_path / "b.duckdb") as store:
        report = ingest_file(store, corpus, "mixed")
        assert report.documents_new == 2
        assert [(b.locator, b.reason.split(":")[0]) for b in report.bad] == [
            ("mixed.jsonl.gz:2", "invalid JSON"),
            ("mixed.jsonl.gz:3", "expected a JSON object, got list"),
            ("mixed.jsonl.gz:4", "no text field (looked for text, content, raw_content, html)"),
            ("mixed.jsonl.gz:5", "bad date"),
        ]
        dates = store.query("SELECT url, fetched_at FROM documents ORDER BY url").to_pylist()
        assert [d["fetched_at"].isoformat() for d in dates] == [
            "2024-05-01T00:00:00+00:00",
            "2024-05-01T00:00:00+00:00",
        ]


def test_unreadable_file_does_not_abort_the_others(tmp_path: Path, sample: Path) -> None:
    missing = tmp_path / "gone.warc.gz"
    unsupported = tmp_path / "data.csv"
    unsupported.write_text("a,b\n")
    with Store.open(tmp_path / "u.duckdb") as store:
        report = api.ingest(
            store,
            [
                (missing, "x", FieldMap()),
                (unsupported, "x", FieldMap()),
                (sample / "article-extracts.jsonl.gz", "x", FieldMap()),
            ],
        )
        assert [f["reason"].split(":")[0] for f in report.failed] == [
            "cannot read",
            "unsupported corpus format (expected .warc[.gz] or .jsonl[.gz])",
        ]
        assert report.files[0].documents_new == 12
        run = store.query("SELECT status, errors FROM runs").to_pylist()[0]
        assert run["status"] == "partial" and "gone.warc.gz" in run["errors"]


def test_field_mapping_reads_nested_layouts(tmp_path: Path) -> None:
    corpus = tmp_path / "dolma.jsonl"
    corpus.write_text(
        json.dumps(
            {
                "id": "d1",
                "body": "some text here",
                "metadata": {"url": "https://c.example/x"},
                "added": "2023-01-02T03:04:05Z",
            }
        )
        + "\n"
    )
    with Store.open(tmp_path / "f.duckdb") as store:
        ingest_file(store, corpus, "dolma", fields=FieldMap(text=("body",)))
        row = store.query("SELECT url, registrable_domain, token_count FROM documents").to_pylist()[0]
    assert row == {"url": "https://c.example/x", "registrable_domain": "c.example", "token_count": 3}
