"""Ingest commits by size, not per batch (issue #21): on a real DuckDB file opened lock-free as the
CLI opens it, a 2,000-record corpus takes a commit or two instead of one per 256 records, the
store is row for row the one a commit per batch gives, and a SIGTERM part way through a group
followed by a rerun gives that same store.

The budgets here leave out the seconds bound (`seconds=inf`): how many commits a time bound gives
depends on the machine's speed, and these tests count commits."""

from __future__ import annotations

import json
import math
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from scanner import api
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import COMMIT_BUDGET, EVERY_BATCH, CommitBudget, ingest_file
from scanner.corpus.progress import Tracker
from scanner.errors import Interrupted
from scanner.store import Store

RECORDS = 2_000
UNTIMED = replace(COMMIT_BUDGET, seconds=math.inf)  # the default's bytes and records bounds


class CountingStore(Store):
    """A real store that counts its outermost transactions (each one a commit of the file)."""

    commits = 0

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        outer = not self._in_tx
        with super().transaction() as st:
            yield st
        if outer:
            self.commits += 1


def _corpus(path: Path) -> Path:
    """2,000 JSONL records: plain texts, one in ten an HTML page with a robots meta tag (evidence),
    from line 300 on one in five a copy of the record 300 lines before (the same document read
    again in a later batch) and a few bad lines."""
    lines = []
    for i in range(RECORDS):
        if i % 5 == 0 and i >= 300:
            lines.append(lines[i - 300])  # the same record 300 lines later: a later batch
        elif i % 401 == 7:
            lines.append("{not json")
        else:
            rec = {"url": f"https://s{i % 13}.example/p/{i}", "date": "2025-03-01T00:00:00Z"}
            if i % 10 == 3:
                rec["html"] = (
                    f'<html><head><meta name="robots" content="noai"></head><body><p>page {i} about '
                    f"{'word ' * (i % 40)}the news</p></body></html>"
                )
            else:
                rec["text"] = f"plain text number {i} " + "lorem ipsum " * (i % 50)
            lines.append(json.dumps(rec))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _corpus(tmp_path_factory.mktemp("corpus") / "c.jsonl")


def _state(store: Store) -> dict[str, list]:
    """Every row ingest writes (the run id aside: two runs differ in it)."""
    tables = {
        "documents": "SELECT * EXCLUDE (run_id) FROM documents ORDER BY doc_id",
        "texts": "SELECT * FROM texts ORDER BY text_sha256",
        "evidence": "SELECT * FROM evidence ORDER BY sha256",
        "observations": "SELECT * EXCLUDE (run_id) FROM observations ORDER BY obs_id",
        "robots_compiled": "SELECT sha256, rules_version FROM robots_compiled ORDER BY ALL",
        "checkpoints": "SELECT * EXCLUDE (updated_at) FROM ingest_checkpoints ORDER BY ALL",
    }
    return {name: store.query(sql).to_pylist() for name, sql in tables.items()}


def _ingest(path: Path, corpus: Path, commit: CommitBudget, batch_size: int = 256) -> tuple[int, dict[str, list]]:
    """(commits, rows) of one ingest of the corpus into a fresh lock-free store."""
    store = CountingStore.open(path, hold_lock=False)
    try:
        before = store.commits
        report = ingest_file(store, corpus, "src", batch_size=batch_size, commit=commit)
        assert report.records == RECORDS and not report.limited
        return store.commits - before, _state(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def per_batch(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, list]]:
    """The reference: a commit per batch of 256, as ingest did before."""
    return _ingest(tmp_path_factory.mktemp("ref") / "per-batch.duckdb", corpus, EVERY_BATCH)


def test_a_commit_per_batch_is_the_reference(per_batch: tuple[int, dict[str, list]]) -> None:
    commits, rows = per_batch
    assert commits == math.ceil(RECORDS / 256) + 1  # each batch, then the file's `finished` mark
    assert [(c["records_done"], c["finished"]) for c in rows["checkpoints"]] == [(RECORDS, True)]
    assert rows["evidence"] and rows["observations"] and len(rows["documents"]) > 1_500


@pytest.mark.parametrize(
    ("commit", "batch_size", "expected"),
    [
        (UNTIMED, 256, 1),  # the default's bounds: 2,000 short records are one commit
        (UNTIMED, 100, 1),
        (CommitBudget(held_bytes=1 << 40, records=1_000, seconds=math.inf), 256, 2),  # 1,024 + 976
        (CommitBudget(held_bytes=300_000, records=1 << 40, seconds=math.inf), 256, None),
    ],
    ids=["default", "default-batch-100", "records-1000", "bytes-300k"],
)
def test_grouped_commits_give_the_per_batch_store_row_for_row(
    tmp_path: Path,
    corpus: Path,
    per_batch: tuple[int, dict[str, list]],
    commit: CommitBudget,
    batch_size: int,
    expected: int | None,
) -> None:
    commits, rows = _ingest(tmp_path / "grouped.duckdb", corpus, commit, batch_size)
    if expected is not None:
        assert commits == expected
    else:  # the corpus holds ~1 MB of text: a few commits of 300 kB, never one per batch
        assert 2 <= commits < per_batch[0] // 2
    assert rows == per_batch[1]


def test_a_record_read_twice_keeps_its_first_locator(tmp_path: Path, corpus: Path) -> None:
    """Within one write the copies meet: the first line's locator is kept, as when the first copy
    committed in a batch of its own."""
    _, rows = _ingest(tmp_path / "grouped.duckdb", corpus, UNTIMED)
    by_url = {d["url"]: d["record_locator"] for d in rows["documents"]}
    lines = corpus.read_text().splitlines()
    assert lines[0] == lines[300] == lines[600]  # batches 1, 2 and 3 of 256
    assert by_url[json.loads(lines[0])["url"]] == "c.jsonl:1"
    copies = [d for d in rows["documents"] if int(d["record_locator"].rsplit(":")[1]) > 300]
    assert all(int(d["record_locator"].rsplit(":")[1]) % 5 != 1 for d in copies)  # no copy kept


class _SigtermAt(Tracker):
    """A tracker that sends this process SIGTERM when record `at` is built."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def advance(self, records: int, payload_bytes: int, offset: int | None = None) -> None:
        super().advance(records, payload_bytes, offset)
        if self.snapshot().records == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def test_a_sigterm_inside_a_group_then_a_rerun_gives_the_same_store(
    tmp_path: Path, corpus: Path, per_batch: tuple[int, dict[str, list]]
) -> None:
    """Commits every 512 records (two batches); SIGTERM at record 1,100, while the fifth batch is
    built: the groups up to 1,024 are committed and the rest is read again by the next run."""
    jobs = [(corpus, "src", FieldMap())]
    every_512 = CommitBudget(held_bytes=1 << 40, records=512, seconds=math.inf)
    with Store.open(tmp_path / "s.duckdb", hold_lock=False) as store:
        with pytest.raises(Interrupted):
            api.ingest(store, jobs, tracker=_SigtermAt(1_100), commit=every_512)
        (row,) = store.query("SELECT records_done, finished FROM ingest_checkpoints").to_pylist()
        assert row == {"records_done": 1_024, "finished": False}
        assert store.query("SELECT status FROM runs").column(0).to_pylist() == ["interrupted"]
        report = api.ingest(store, jobs)  # the default budget
        assert report.status == "ok" and report.files[0].resumed_at == 1_024
        assert report.files[0].records == RECORDS - 1_024
        assert _state(store) == per_batch[1]


def test_a_document_written_twice_in_one_write_keeps_its_first_locator(tmp_path: Path) -> None:
    """The store's side of it: a group of batches is one write, in which DuckDB's `DISTINCT ON`
    may keep any one of a key's rows (its documentation promises no order; the writer keeps the
    first itself). A record read again later in the group keeps its first locator."""
    from datetime import UTC, datetime

    from scanner.corpus.records import Document, document_id, sha256_hex

    when = datetime(2025, 1, 1, tzinfo=UTC)

    def doc(i: int, line: int) -> Document:
        text, url = f"text {i} " * 40, f"https://site{i % 100}.example/a/{i}"
        sha = sha256_hex(text)
        return Document(
            doc_id=document_id("src", url, when, sha), source_id="src", url=url, origin=None, host=None,
            registrable_domain=None, fetched_at=when, content_sha256=sha, raw_bytes=len(text), text_sha256=sha,
            token_count=80, modality="text", content_type="text/plain", language=None, http_status=None,
            record_locator=f"c.jsonl:{line}", text=text,
        )  # fmt: skip

    docs = [doc(i % 700, i + 1) for i in range(2_000)]  # each read two or three times
    with Store.open(tmp_path / "s.duckdb") as store:
        assert store.write_corpus_documents(docs, None) == len({d.doc_id for d in docs}) < len(docs)
        kept = store.query("SELECT record_locator FROM documents").column(0).to_pylist()
    first = {d.doc_id: d.record_locator for d in reversed(docs)}  # reversed: the first copy written last
    assert sorted(kept) == sorted(first.values())


def test_when_the_default_budget_commits() -> None:
    """Pure: by bytes or records at once; by time after 2 s, and never sooner than 10 times the
    last commit's own time (a commit into a large store costs more: commits stay a tenth)."""
    due = COMMIT_BUDGET.due
    assert due(16 << 20, 1, since=0.0) and due(1, 16_384, since=0.0)
    assert not due(1_000, 256, since=1.9, last_commit=0.05)
    assert due(1_000, 256, since=2.0, last_commit=0.05)
    assert not due(1_000, 256, since=5.0, last_commit=0.6) and due(1_000, 256, since=6.0, last_commit=0.6)
    assert EVERY_BATCH.due(0, 0, since=0.0, last_commit=10.0)
