"""Ingest on real corpus files: WARC and JSONL, idempotence, resume after a kill, bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from scanner import api
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import ingest_file
from scanner.store import Store


def _state(store: Store) -> dict:
    return {
        "documents": store.query(
            "SELECT doc_id, url, content_sha256, raw_bytes, token_count, text_sha256 FROM documents ORDER BY doc_id"
        ).to_pylist(),
        "texts": store.count("texts"),
        "evidence": store.count("evidence"),
        "observations": store.count("observations"),
    }


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
from scanner.corpus.ingest import EVERY_BATCH, ingest_file
from scanner.store import Store
batches = 0
def progress(n, nbytes=0):
    global batches
    batches += 1
    if batches == 3:
        os._exit(9)          # killed right after the third batch committed
store = Store.open({store!r})
ingest_file(store, Path({path!r}), "news", batch_size=4, progress=progress, commit=EVERY_BATCH)
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
            "unsupported corpus format (expected .warc[.gz|.lz4], .arc[.gz], .jsonl[.gz|.zst], .parquet, "
            "or a dataset folder)",
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


_SIGKILLED_INGEST = """
import sys, time
from pathlib import Path
from scanner.corpus.ingest import EVERY_BATCH, ingest_file
from scanner.store import Store

def progress(records, payload_bytes=0):
    print("batch", flush=True)   # the parent kills us with SIGKILL after a few of these
    time.sleep(0.2)

store = Store.open({store!r})
ingest_file(store, Path({path!r}), "news", batch_size=3, progress=progress, commit=EVERY_BATCH)
print("finished", flush=True)
"""


def test_kill_minus_9_mid_file_then_resume_equals_a_clean_ingest(tmp_path: Path, sample: Path) -> None:
    import os
    import signal

    path = sample / "news-crawl.jsonl.gz"
    killed = tmp_path / "killed.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-c", _SIGKILLED_INGEST.format(store=str(killed), path=str(path))],
        stdout=subprocess.PIPE,
        text=True,
    )
    for _ in range(3):
        assert child.stdout.readline().strip() == "batch"
    os.kill(child.pid, signal.SIGKILL)  # a real kill -9, wherever the child is
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with Store.open(killed) as store:
        committed = store.count("documents")
        assert 9 <= committed < 30 and committed % 3 == 0  # whole batches only
        ingest_file(store, path, "news", batch_size=3)
        resumed = _state(store)
    with Store.open(tmp_path / "clean.duckdb") as store:
        ingest_file(store, path, "news", batch_size=7)
        assert _state(store) == resumed  # row for row


def test_two_worker_processes_give_the_same_store(tmp_path: Path, sample: Path) -> None:
    jobs = [
        (sample / "news-crawl.jsonl.gz", "news", FieldMap()),
        (sample / "cc-main-2020-34.warc.gz", "cc", FieldMap()),
    ]
    states = []
    for workers in (1, 2):
        with Store.open(tmp_path / f"w{workers}.duckdb") as store:
            api.ingest(store, jobs, workers=workers)
            states.append(_state(store))
    assert states[0] == states[1] and len(states[0]["documents"]) == 46
