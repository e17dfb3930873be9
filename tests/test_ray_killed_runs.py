"""`provenance ingest|dedup --engine ray` killed with SIGKILL mid-run, as a CLI process with its
own local Ray cluster, then run again: the store ends row for row as a clean run leaves it,
nothing lost or stored twice, and the staging folder is gone.

The kill comes once the store shows some of the run merged (a finished file's checkpoint, or a
signature shard), polled from a read-only connection between the coordinator's commits; the
whole process session goes at once (the CLI, its Ray head and every worker), so nothing of the
killed run gets to clean up after itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from scanner import api
from scanner.store import Store
from tests._cli import REPO, run
from tests._documents import with_text

pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]'); the Ray engine is not tested")

SIZES = (30, 1500, 150, 150, 150, 150)  # records per file
FILES = len(SIZES)
INGEST_TABLES = {
    "documents": "SELECT * EXCLUDE (run_id) FROM documents ORDER BY doc_id",
    "texts": "SELECT * FROM texts ORDER BY text_sha256",
    "evidence": "SELECT * FROM evidence ORDER BY sha256",
    "observations": "SELECT * EXCLUDE (run_id) FROM observations ORDER BY obs_id",
    "checkpoints": "SELECT file_sha256, source_id, records_done, finished FROM ingest_checkpoints ORDER BY ALL",
}
DEDUP_TABLES = {
    "clusters": "SELECT * EXCLUDE (run_id) FROM dup_clusters ORDER BY ALL",
    "signatures": "SELECT doc_id, params, signature FROM dedup_signatures ORDER BY ALL",
}
GIVE_UP = 240.0  # seconds without the awaited state: the run is stuck, not slow; never a timing check


def _corpus(folder: Path) -> list[Path]:
    """JSONL files of plain texts and HTML pages with a robots meta tag (evidence), one record
    found in two files (one document, the first file's locator) and one bad line. The first file
    is small and the second large: files merge in their order, so once the first is merged the
    run stays part done until the large one's task ends, seconds later."""
    folder.mkdir()
    rnd = random.Random(3)
    words = [f"word{i}" for i in range(400)] + ["the", "of", "and", "to", "in", "is", "that", "it"]
    paths = []
    for f in range(FILES):
        lines = []
        for i in range(SIZES[f]):
            n = f * 1000 + i
            text = " ".join(rnd.choices(words, k=rnd.randint(20, 60)))
            rec = {"url": f"https://s{n % 9}.example/p/{n}", "date": "2025-03-01T00:00:00Z"}
            if i % 4 == 0:
                meta = f'<meta name="robots" content="{("noai", "noindex, nofollow", "all")[n % 3]}">'
                rec["html"] = f"<html><head>{meta}</head><body><p>{text}</p></body></html>"
            else:
                rec["text"] = text
            lines.append(json.dumps(rec))
        if f in (0, 3):
            same = {"url": "https://shared.example/same", "text": "in two files", "date": "2025-01-01"}
            lines.append(json.dumps(same))
        if f == 2:
            lines.append("{not json")
        path = folder / f"part-{f:02d}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def _rows(path: Path, tables: dict[str, str]) -> dict[str, list]:
    with Store.open(path, read_only=True) as store:
        return {name: store.query(sql).to_pylist() for name, sql in tables.items()}


def _count(path: Path, sql: str) -> int:
    """One number read from the store between the writer's commits (waiting for its lock)."""
    with Store.open(path, read_only=True, wait=GIVE_UP) as store:
        return int(store.query(sql).to_pylist()[0]["n"])


def _killed_once(args: list[str], store: Path, merged_sql: str, tmp_path: Path) -> int:
    """Start `provenance ARGS` in a session of its own, wait until `merged_sql` counts something
    merged, SIGKILL the whole session (CLI, Ray head, workers); returns what was merged then."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    with (tmp_path / "killed.stderr").open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scanner", *args], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
            stderr=stderr, start_new_session=True,
        )
    try:
        give_up = time.monotonic() + GIVE_UP
        staging = store.parent / f"{store.name}.staging"  # made once the store is open and migrated
        while not (staging.exists() and _merged_while_held(store, merged_sql, proc)):
            assert proc.poll() is None, f"ended before it was killed: {(tmp_path / 'killed.stderr').read_text()}"
            assert time.monotonic() < give_up, "nothing merged: the run is stuck"
            time.sleep(0.005)
    finally:
        _kill_session(proc)
    assert proc.wait() == -signal.SIGKILL
    return _count(store, merged_sql)


def _merged_while_held(store: Path, merged_sql: str, proc: subprocess.Popen) -> bool:
    """Try once to read the store between the writer's commits; if something is merged, kill the
    run while this read holds the file, so it cannot merge more before it dies. Tried every few
    ms, not with the store's backoff: a coordinator merging shards back to back leaves only short
    gaps, and a reader backing off up to 0.5 s saw every shard merged before its first read."""
    try:
        con = duckdb.connect(str(store), read_only=True)
    except duckdb.IOException:  # the writer holds it now
        return False
    try:
        if not con.execute(merged_sql).fetchall()[0][0]:
            return False
        _kill_session(proc)
        return True
    finally:
        con.close()


def _kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL to every process of the session the test started (by id), then wait until none is
    left, so no worker of the killed run writes on while the next one runs."""
    give_up = time.monotonic() + GIVE_UP
    while True:
        ps = subprocess.run(["ps", "-s", str(proc.pid), "-o", "pid=,stat="], capture_output=True, text=True)
        rows = (line.split() for line in ps.stdout.splitlines())
        alive = [int(pid) for pid, stat in rows if not stat.startswith("Z")]
        if not alive:
            return
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):  # gone since `ps` listed it
                os.kill(pid, signal.SIGKILL)
        proc.poll()  # reap the CLI itself
        assert time.monotonic() < give_up, f"processes {alive} of the killed run do not die"
        time.sleep(0.05)


def _staging_empty(store: Path) -> bool:
    staging = store.parent / f"{store.name}.staging"
    return not staging.exists() or not any(staging.iterdir())


def test_a_killed_ingest_on_ray_resumes_from_the_files_merged(tmp_path: Path) -> None:
    paths = _corpus(tmp_path / "corpus")
    files = [str(p) for p in paths]
    clean, resumed = tmp_path / "clean.duckdb", tmp_path / "resumed.duckdb"
    out = run("ingest", *files, "--source", "synthetic@1", "--store", str(clean), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr  # the local engine: the reference
    expected = _rows(clean, INGEST_TABLES)
    assert len(expected["evidence"]) > 0 and len(expected["checkpoints"]) == FILES

    ray_ingest = ["ingest", *files, "--source", "synthetic@1", "--engine", "ray", "--workers", "2"]
    finished = "SELECT count(*) AS n FROM ingest_checkpoints WHERE finished"
    merged = _killed_once([*ray_ingest, "--store", str(resumed)], resumed, finished, tmp_path)
    assert 0 < merged < FILES, "killed once some files, not all, were merged"
    staging = resumed.parent / f"{resumed.name}.staging"
    assert any(staging.glob("ingest/*/*.parquet"))  # the killed run's shards are left behind

    out = run(*ray_ingest, "--store", str(resumed), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert sum(f["already_done"] for f in report["files"]) == merged  # skipped, not read again
    assert _rows(resumed, INGEST_TABLES) == expected
    with Store.open(resumed, read_only=True) as store:
        runs = store.query("SELECT status FROM runs WHERE command = 'ingest' ORDER BY started_at").column(0).to_pylist()
    assert runs == ["interrupted", report["status"]]
    assert _staging_empty(resumed)


def _dedup_corpus(path: Path, n: int = 50_000) -> None:
    """Short documents of random words with planted near-duplicate families: five whole signature shards."""
    rnd = random.Random(5)
    vocab = [f"w{i}" for i in range(5000)]
    texts, docs, base = [], [], []
    for i in range(n):
        if base and rnd.random() < 0.2:
            words = rnd.choice(base).split()
            for _ in range(rnd.randint(0, 3)):
                words[rnd.randrange(len(words))] = rnd.choice(vocab)
        else:
            words = rnd.choices(vocab, k=rnd.randint(30, 50))
            base.append(" ".join(words))
        text = " ".join(words)
        doc, row = with_text(i, text)
        docs.append(doc)
        texts.append(row)
    with Store.open(path) as store:
        store.write_texts(texts)
        store.write_documents(docs)


def test_a_killed_dedup_on_ray_resumes_from_the_shards_merged(tmp_path: Path) -> None:
    from scanner.dedup.ray_engine import SHARD_ROWS

    clean, resumed = tmp_path / "clean.duckdb", tmp_path / "resumed.duckdb"
    _dedup_corpus(clean)
    resumed.write_bytes(clean.read_bytes())
    with Store.open(clean) as store:
        total = store.count("documents")
        local = api.dedup(store, threshold=0.7)  # the local engine: the reference
    expected = _rows(clean, DEDUP_TABLES)
    assert local["near_duplicates"] > 0 and total > 4 * SHARD_ROWS

    ray_dedup = ["dedup", "--threshold", "0.7", "--engine", "ray", "--workers", "2", "--store", str(resumed)]
    merged = _killed_once(ray_dedup, resumed, "SELECT count(*) AS n FROM dedup_signatures", tmp_path)
    assert 0 < merged < total and merged % SHARD_ROWS == 0  # whole shards only
    with Store.open(resumed, read_only=True) as store:
        assert store.count("dup_clusters") == 0  # killed before any cluster was written

    out = run(*ray_dedup, "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["signatures_computed"] == total - merged  # only what the killed run had not merged
    assert _rows(resumed, DEDUP_TABLES) == expected
    assert _staging_empty(resumed)
    beside = {p.name for p in tmp_path.glob("resumed.duckdb*")} - {"resumed.duckdb.staging"}
    assert beside == {"resumed.duckdb"}  # no work files (WAL, scratch) left beside it
