"""Reading the store while a long stage writes it: real processes on one real DuckDB file.

A writer opened with `hold_lock=False` (what `ingest`, `decide` and `dedup` use) holds the file
only while a batch commits; between commits `query`, `status`, `check`, `report`, `info`, a
plain DuckDB client and the service's /reload open it. A writer paused between two commits makes
this deterministic: nothing here depends on timing.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from scanner.store import Store
from tests._cli import run


def _pages_jsonl(ext: Path, target: Path, copies: int = 1) -> int:
    """Real pages (the article benchmark) as JSONL records with HTML, so ingest extracts text."""
    bench = ext / "article-extraction-benchmark"
    truth = json.loads(gzip.decompress((bench / "ground-truth.json.gz").read_bytes()))
    n = 0
    with target.open("w") as fh:
        for copy in range(copies):
            for key in sorted(truth):
                html = gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
                fh.write(json.dumps({"url": f"{truth[key]['url']}#{copy}", "html": html}) + "\n")
                n += 1
    return n


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"writer ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)


_PAUSING_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from scanner import api
    from scanner.corpus.ingest import EVERY_BATCH
    from scanner.store import Store

    store_path, corpus, flag = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    commits = []

    def after_commit(records, payload_bytes=0):
        commits.append(records)
        if len(commits) == 2:  # two batches committed: pause until the test says go
            (flag.parent / "paused").write_text("2")
            while not flag.exists():
                time.sleep(0.05)

    with Store.open(store_path, hold_lock=False) as st:
        api.declare_adhoc_source(st, "pages")
        api.ingest(st, [(corpus, "pages", api.FieldMap())], progress=after_commit, batch_size=5, commit=EVERY_BATCH)
    print(len(commits))
    """
)


@pytest.fixture
def paused_writer(tmp_path: Path, ext: Path):
    corpus = tmp_path / "pages.jsonl"
    total = _pages_jsonl(ext, corpus)
    store = tmp_path / "provenance.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSING_WRITER, str(store), str(corpus), str(tmp_path / "go")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(tmp_path / "paused", proc)
        yield tmp_path, proc, total
    finally:
        (tmp_path / "go").write_text("go")
        proc.wait(timeout=600)


def test_every_reader_works_between_a_writers_commits(paused_writer) -> None:
    cwd, writer, total = paused_writer
    assert writer.poll() is None  # still mid-run, paused between two commits
    q = run("query", "select count(*) as n from documents", "--json", cwd=cwd)
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout)["rows"] == [{"n": 10}]  # exactly the two committed batches
    for args in (
        ("status", "www.nytimes.com", "--json"),
        ("check", "https://www.nytimes.com/2019/", "--json"),
        ("report", "--json"),
        ("info", "--json"),
    ):
        proc = run(*args, cwd=cwd)
        assert proc.returncode == 0, (args, proc.stderr)
    con = duckdb.connect(str(cwd / "provenance.duckdb"), read_only=True)  # a plain DuckDB client
    assert con.execute("select count(*) from documents").fetchall() == [(10,)]
    con.close()
    assert writer.poll() is None
    (cwd / "go").write_text("go")
    _out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err
    with Store.open(cwd / "provenance.duckdb", read_only=True) as st:
        assert st.count("documents") == total


def test_the_service_reloads_while_a_writer_runs(paused_writer) -> None:
    cwd, writer, _ = paused_writer
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--port", str(port), "--store", "provenance.duckdb"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = None
        while health is None:
            assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
            try:
                health = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).status
            except OSError:
                time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/reload", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            assert resp.status == 200
        assert writer.poll() is None  # the writer was mid-run the whole time
    finally:
        serve.terminate()
        serve.wait(timeout=30)


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from scanner.store import Store

    st = Store.open(sys.argv[1])  # holds the lock for its whole life, as a writer used to
    Path(sys.argv[2]).write_text("ready")
    while not Path(sys.argv[3]).exists():
        time.sleep(0.05)
    st.close()
    """
)


def test_a_reader_waits_for_the_lock_and_says_clearly_when_it_gives_up(tmp_path: Path) -> None:
    store = tmp_path / "provenance.duckdb"
    Store.open(store).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store), str(tmp_path / "ready"), str(tmp_path / "go")]
    )
    try:
        _wait_for(tmp_path / "ready", holder)
        proc = run("query", "select 1", cwd=tmp_path, env={"PROVENANCE_LOCK_WAIT": "0.3"})
        assert proc.returncode == 2
        assert "another process holds the store's lock" in proc.stderr
        assert "gave up after 0.3 s" in proc.stderr and "PROVENANCE_LOCK_WAIT" in proc.stderr
        assert "Traceback" not in proc.stderr
        waiting = subprocess.Popen(
            [sys.executable, "-m", "scanner", "query", "select 42 as x", "--json"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PROVENANCE_LOCK_WAIT": "120"},
        )
        (tmp_path / "go").write_text("go")  # the holder lets go: the waiting reader gets in
        out, err = waiting.communicate(timeout=300)
        assert waiting.returncode == 0, err
        assert json.loads(out)["rows"] == [{"x": 42}]
    finally:
        (tmp_path / "go").write_text("go")
        holder.wait(timeout=60)


def test_cli_ingest_leaves_the_store_readable_while_it_runs(tmp_path: Path, ext: Path) -> None:
    """The user's path: `provenance ingest` in one process, `provenance query` in another."""
    _pages_jsonl(ext, tmp_path / "pages.jsonl")
    writer = subprocess.Popen(
        [sys.executable, "-m", "scanner", "ingest", "pages.jsonl", "--batch-size", "4", "--workers", "1", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = []
    while writer.poll() is None:
        if not (tmp_path / "provenance.duckdb").exists():
            time.sleep(0.05)
            continue
        q = run("query", "select count(*) as n from documents", "--json", cwd=tmp_path)
        assert q.returncode == 0, q.stderr  # never "Could not set lock on file"
        reads.append(json.loads(q.stdout)["rows"][0]["n"])
    _out, err = writer.communicate()
    assert writer.returncode == 0, err
    assert reads == sorted(reads) and all(n <= 181 for n in reads)


def test_decide_and_dedup_give_the_same_rows_when_releasing_the_lock(tmp_path: Path, demo_file: Path) -> None:
    from scanner import api
    from scanner.dedup.clusters import dedup

    rows = {}
    for hold in (True, False):
        path = tmp_path / f"hold-{hold}.duckdb"
        path.write_bytes(demo_file.read_bytes())
        with Store.open(path, hold_lock=hold) as st:
            st.query("DELETE FROM decision_rows")
            st.query("DELETE FROM decision_sets")
            st.query("DELETE FROM dup_clusters")
            st.query("DELETE FROM dedup_signatures")
            api.decide_documents(st, "any-ai-trainer")
            dedup(st, threshold=0.8)
            rows[hold] = (
                st.query("SELECT doc_id, verdict FROM document_verdicts ORDER BY 1, 2").to_pylist(),
                st.query("SELECT method, doc_id, cluster_id FROM dup_clusters ORDER BY 1, 2").to_pylist(),
                st.count("dedup_signatures"),
            )
    assert rows[True] == rows[False]
    assert rows[False][0] and rows[False][1] and rows[False][2]
