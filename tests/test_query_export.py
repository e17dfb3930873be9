"""`provenance query` is read-only and reaches no file or network; `provenance export` writes
results and the kept corpus; store damage and write failures are one line. Real processes, real
DuckDB files."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests._cli import run
from tests.conftest import copy_demo

REFUSED = "refused: queries are read-only"


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path) -> Path:
    copy_demo(demo_file, tmp_path)
    return tmp_path


def test_query_refuses_every_write_and_external_path(demo: Path) -> None:
    other = demo / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE keep AS SELECT range AS i FROM range(10)")
    victim = demo / "victim.txt"
    victim.write_text("precious")
    attempts = [
        (f"COPY documents TO '{victim}'", "victim.txt"),
        (f"COPY (SELECT 1) TO '{demo / 'new.parquet'}' (FORMAT parquet)", "new.parquet"),
        (f"EXPORT DATABASE '{demo / 'dump'}'", "dump"),
        (f"ATTACH '{other}' AS o (READ_WRITE)", "other.duckdb"),
        (f"ATTACH '{other}' AS o (READ_WRITE); DELETE FROM o.keep", "other.duckdb"),
        ("INSTALL httpfs", "extensions"),
        ("LOAD httpfs", "disabled"),
        ("SELECT * FROM read_parquet('https://example.com/a.parquet')", "https://example.com"),
        ("SELECT * FROM read_text('/etc/hostname')", "/etc/hostname"),
        ("SET enable_external_access = true", "locked"),
        ("SET lock_configuration = false", "locked"),
        ("DELETE FROM documents", "read-only"),
        ("CREATE VIEW v AS SELECT 1", "read-only"),
    ]
    for sql, needle in attempts:
        one_line_error(run("query", sql, cwd=demo), REFUSED, needle, "provenance export")
    assert victim.read_text() == "precious"
    assert not (demo / "new.parquet").exists() and not (demo / "dump").exists()
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM keep").fetchone()[0] == 10
    # plain SELECTs, views, CTEs, temp tables (in memory) keep working
    ok = run(
        "query",
        "WITH v AS (SELECT verdict, count(*) AS n FROM document_verdicts GROUP BY 1) SELECT sum(n) AS n FROM v",
        "--json",
        cwd=demo,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"] == [{"n": 58}]


def test_query_json_columns_are_json_and_tables_print_verbatim(demo: Path) -> None:
    proc = run(
        "query",
        "SELECT reasons, evidence_sha256, '{\"a\": 1}' AS text_not_json FROM document_verdicts "
        "WHERE verdict = 'reserved' ORDER BY doc_id LIMIT 1",
        "--json",
        cwd=demo,
    )
    row = json.loads(proc.stdout)["rows"][0]
    assert isinstance(row["reasons"], dict) and row["reasons"]["verdict"] == "reserved"  # JSON, not a string
    assert row["reasons"]["reasons"][0]["evidence_sha256"] in row["evidence_sha256"]
    assert row["text_not_json"] == '{"a": 1}'  # a VARCHAR stays a string
    data = "[bold red]boom[/] :smile: [link=https://x.example]y[/link]"
    proc = run("query", f"SELECT '{data}' AS s", cwd=demo)
    assert proc.returncode == 0, proc.stderr
    assert data in proc.stdout and "😄" not in proc.stdout


def test_export_sql_to_every_format(demo: Path) -> None:
    sql = "SELECT doc_id, url, verdict, reasons FROM document_verdicts ORDER BY doc_id"
    expected = json.loads(run("query", sql, "--json", cwd=demo).stdout)["rows"]
    for name in ("out.parquet", "out.csv", "out.jsonl"):
        proc = run("export", sql, "-o", name, "--json", cwd=demo)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["rows"] == 58
        assert oct((demo / name).stat().st_mode & 0o777) != oct(0o600)  # a normal file, not mkstemp's
    assert pq.read_table(demo / "out.parquet").column("doc_id").to_pylist() == [r["doc_id"] for r in expected]
    lines = [json.loads(x) for x in (demo / "out.jsonl").read_text().splitlines()]
    assert lines == expected  # JSON columns nested, as `query --json` prints them
    import csv

    with open(demo / "out.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [json.loads(r["reasons"]) for r in rows] == [r["reasons"] for r in expected]
    # the user's SQL is sandboxed in export too, and a failed export leaves no file
    one_line_error(run("export", f"COPY documents TO '{demo / 'x.csv'}'", "-o", "y.csv", cwd=demo), REFUSED)
    one_line_error(run("export", "SELECT [1, 2] AS l", "-o", "lists.csv", cwd=demo), "lists.csv", "csv")
    one_line_error(run("export", "SELECT 1", "-o", "out.xlsx", cwd=demo), "out.xlsx", ".parquet")
    assert sorted(p.name for p in demo.iterdir() if p.name.startswith((".", "x", "y", "lists"))) == []


def test_export_the_kept_corpus(demo: Path) -> None:
    verdicts = json.loads(
        run("query", "SELECT doc_id, verdict FROM document_verdicts WHERE as_of IS NULL", "--json", cwd=demo).stdout
    )["rows"]
    by_verdict: dict[str, set[str]] = {}
    for r in verdicts:
        by_verdict.setdefault(r["verdict"], set()).add(r["doc_id"])
    seen: set[str] = set()
    for verdict in ("allowed", "reserved", "unknown"):
        proc = run("export", "--verdict", verdict, "-o", f"{verdict}.parquet", "--json", cwd=demo)
        assert proc.returncode == 0, proc.stderr
        table = pq.read_table(demo / f"{verdict}.parquet")
        ids = set(table.column("doc_id").to_pylist())
        assert ids == by_verdict.get(verdict, set())
        assert set(table.column("verdict").to_pylist()) <= {verdict}
        for column in ("doc_id", "url", "source_id", "verdict", "reasons", "cluster_id", "text"):
            assert column in table.column_names
        seen |= ids
    assert len(seen) == 58  # every decided document in exactly one file
    proc = run("export", "--verdict", "allowed,unknown", "--cluster", "representative", "-o", "kept.jsonl", cwd=demo)
    assert proc.returncode == 0, proc.stderr
    kept = [json.loads(x) for x in (demo / "kept.jsonl").read_text().splitlines()]
    copies = json.loads(
        run("query", "SELECT DISTINCT doc_id FROM dup_clusters WHERE NOT is_representative", "--json", cwd=demo).stdout
    )["rows"]
    copies = {r["doc_id"] for r in copies}
    assert copies, "the demo store has duplicate clusters"
    assert {r["doc_id"] for r in kept} == (by_verdict["allowed"] | by_verdict.get("unknown", set())) - copies
    assert all(isinstance(r["reasons"], dict) and r["text"] for r in kept)
    one_line_error(run("export", "--verdict", "maybe", "-o", "k.parquet", cwd=demo), "--verdict maybe")
    one_line_error(run("export", "--verdict", "allowed", "-o", "k.csv", cwd=demo), "k.csv")
    one_line_error(run("export", "--verdict", "allowed", "--policy", "generic", "-o", "k.parquet", cwd=demo), "decide")
    one_line_error(run("export", "SELECT 1", "--verdict", "allowed", "-o", "k.parquet", cwd=demo), "not both")


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_write_failures_are_one_line(demo: Path, sample: Path, tmp_path: Path) -> None:
    full = _file_size_limit(200_000)
    one_line_error(run("demo", "--store", "new.duckdb", cwd=demo, preexec=full), "new.duckdb", "File too large")
    one_line_error(run("export", "--verdict", "allowed", "-o", "big.jsonl", cwd=demo, preexec=full), "big.jsonl")
    assert not (demo / "big.jsonl").exists()
    locked = demo / "locked"
    locked.mkdir()
    if os.geteuid() == 0:  # root writes into any mode: an immutable folder refuses it too
        if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a read-only folder here (chattr +i failed)")
    else:
        locked.chmod(0o555)
    try:
        for args in (
            ("evidence-pack", "www.nytimes.com", "-o", "locked/p.zip"),
            ("export", "SELECT 1", "-o", "locked/x.parquet"),
        ):
            one_line_error(run(*args, cwd=demo), "locked/", "cannot write")
        assert list(locked.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        else:
            locked.chmod(0o755)


def test_a_damaged_store_is_one_line(demo: Path) -> None:
    store = demo / "provenance.duckdb"
    size = store.stat().st_size
    for fraction in (0.25, 0.5, 0.99):
        cut = demo / f"cut{int(fraction * 100)}.duckdb"
        shutil.copyfile(store, cut)
        os.truncate(cut, int(size * fraction))
        for args in (("info",), ("query", "SELECT count(*) FROM documents"), ("status", "www.nytimes.com")):
            one_line_error(run(*args, "--store", cut.name, cwd=demo), cut.name, "truncated store")
    found = 0
    for seed in range(6):  # bit flips in the data: found when a block is read (info --verify reads all)
        flipped = demo / "flip.duckdb"
        shutil.copyfile(store, flipped)
        rng = random.Random(seed)
        with open(flipped, "r+b") as fh:
            for _ in range(50):
                pos = rng.randrange(3 * 4096, size)
                fh.seek(pos)
                byte = fh.read(1)[0]
                fh.seek(pos)
                fh.write(bytes([byte ^ 0x20]))
        proc = run("info", "--verify", "--store", flipped.name, cwd=demo)
        assert "Traceback" not in proc.stderr
        if proc.returncode:
            one_line_error(proc, "flip.duckdb")
            found += 1
    assert found >= 4
    ok = run("info", "--verify", "--json", cwd=demo)
    assert ok.returncode == 0 and json.loads(ok.stdout)["verified_rows"]["documents"] == 58


def test_a_store_duckdb_shrank_is_whole(tmp_path: Path) -> None:
    """DuckDB cuts free blocks off the end at a checkpoint while its header still counts them:
    that file is whole (the check counts blocks in use, not the header's block count)."""
    from scanner.store import Store

    path = tmp_path / "shrunk.duckdb"
    with Store.open(path):
        pass
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE big AS SELECT range::VARCHAR || repeat('x', 100) AS s FROM range(300000)")
        con.execute("CHECKPOINT")
        grown = path.stat().st_size
        con.execute("DROP TABLE big")
        con.execute("CHECKPOINT")
    assert path.stat().st_size < grown / 4
    proc = run("info", "--verify", "--json", "--store", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    os.truncate(path, path.stat().st_size - 4096)
    one_line_error(run("info", "--store", str(path), cwd=tmp_path), "truncated store")
