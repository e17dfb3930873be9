"""`--memory-limit` and `--temp-dir` on the long writers, as a user runs them: the real command in
a fresh process on the bundled sample. DuckDB must hold the bound on the connections the run
writes through (the run record keeps DuckDB's own report of it), the results must be those of a
run without it, row for row, and a value DuckDB would refuse must be an error naming the option
before any store is opened."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scanner.store import Store
from scanner.store.memory import MemoryLimit
from tests._cli import run

# What each store must hold the same with and without the bound (run ids and clocks left out).
SAME = {
    "documents": "SELECT * EXCLUDE (run_id) FROM documents ORDER BY doc_id",
    "texts": "SELECT * FROM texts ORDER BY text_sha256",
    "evidence": "SELECT * FROM evidence ORDER BY sha256",
    "observations": "SELECT * EXCLUDE (run_id) FROM observations ORDER BY obs_id",
    "decisions": "SELECT doc_id, url, policy, policy_version, usage, as_of, verdict, reasons, evidence_sha256, "
    "outcome FROM decisions ORDER BY doc_id",
}


def _robots_index(sample: Path, folder: Path) -> Path:
    """The sample's robots.txt files with an `evidence import-many` index (JSONL) beside them."""
    robots = shutil.copytree(sample / "robots", folder / "robots")
    rows = json.loads((robots / "index.json").read_text())
    index = robots / "index.jsonl"
    index.write_text(
        "".join(
            json.dumps({"path": r["file"], "url": r["url"], "observed_at": r["observed_at"], "status": r["status"]})
            + "\n"
            for r in rows
        )
    )
    return index


def _audit(cwd: Path, sample: Path, bound: list[str]) -> Path:
    """ingest -> evidence import-many -> decide of the sample into `cwd/s.duckdb`, each with `bound`."""
    store = ["--store", str(cwd / "s.duckdb")]
    steps = [
        ["ingest", "--manifest", str(sample / "manifest.toml"), "--workers", "1", "--json"],
        ["evidence", "import-many", str(_robots_index(sample, cwd)), "--json"],
        ["decide", "--json"],
    ]
    for step in steps:
        proc = run(*step, *bound, *store, cwd=cwd)
        assert proc.returncode == 0, proc.stderr
    return cwd / "s.duckdb"


def _runs(path: Path) -> dict[str, dict]:
    with Store.open(path, read_only=True) as st:
        rows = st.query("SELECT command, args FROM runs ORDER BY started_at").to_pylist()
    return {r["command"]: json.loads(r["args"]) for r in rows}


def _tables(path: Path) -> dict[str, list[dict]]:
    with Store.open(path, read_only=True) as st:
        return {name: st.query(sql).to_pylist() for name, sql in SAME.items()}


def test_ingest_import_and_decide_run_under_the_bound_with_the_same_rows(tmp_path: Path, sample: Path) -> None:
    spill = tmp_path / "spill"
    (tmp_path / "bound").mkdir()
    (tmp_path / "free").mkdir()
    bounded = _audit(tmp_path / "bound", sample, ["--memory-limit", "300MB", "--temp-dir", str(spill)])
    free = _audit(tmp_path / "free", sample, [])

    held = {"memory_limit": f"{300e6 / 2**20:.1f} MiB", "temp_directory": str(spill)}  # DuckDB's words
    for command, args in _runs(bounded).items():
        assert args["memory_limit"] == "300MB" and args["temp_directory"] == str(spill), command
        assert args["duckdb"] == held, command
    assert set(_runs(bounded)) == {"ingest", "evidence-import-many", "decide"}
    assert all("memory_limit" not in args for args in _runs(free).values())

    got, want = _tables(bounded), _tables(free)
    assert all(want[name] for name in SAME), {n: len(r) for n, r in want.items()}  # something to compare
    assert {v["verdict"] for v in want["decisions"]} >= {"allowed", "unknown"}
    for name in SAME:
        assert got[name] == want[name], name


def test_the_environment_variable_bounds_dedup(tmp_path: Path, sample: Path) -> None:
    """PROVENANCE_MEMORY_LIMIT / PROVENANCE_TEMP_DIR, as PROVENANCE_STORE gives --store."""
    spill = tmp_path / "spill"
    env = {"PROVENANCE_MEMORY_LIMIT": "200MB", "PROVENANCE_TEMP_DIR": str(spill), "PROVENANCE_STORE": "s.duckdb"}
    for step in (["ingest", str(sample / "article-extracts.jsonl.gz"), "--source", "a", "--workers", "1"], ["dedup"]):
        proc = run(*step, "--json", cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr
    args = _runs(tmp_path / "s.duckdb")["dedup"]
    assert args["duckdb"] == {"memory_limit": f"{200e6 / 2**20:.1f} MiB", "temp_directory": str(spill)}


WRITERS = [
    ["ingest", "x.jsonl", "--source", "a"],
    ["decide"],
    ["dedup"],
    ["signals"],
    ["evidence", "import-many", "x.jsonl"],
]


@pytest.mark.parametrize("command", WRITERS)
@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--memory-limit", "lots"], "error: --memory-limit 'lots': Memory must have a number"),
        (["--memory-limit", "300"], "error: --memory-limit '300': Unknown unit for memory"),
        (["--memory-limit", "1KB"], "error: --memory-limit '1KB': too small for DuckDB to open and write a store"),
        (["--temp-dir", "a-file/spill"], "error: --temp-dir '"),  # then the absolute path, as the run keeps it
    ],
)
def test_a_bad_bound_is_an_error_naming_the_option(tmp_path: Path, command: list[str], option: list[str],
                                                   message: str) -> None:
    (tmp_path / "x.jsonl").write_text('{"text": "a document", "url": "https://a.example/1"}\n')
    (tmp_path / "a-file").write_text("not a folder")
    proc = run(*command, *option, "--store", "s.duckdb", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(message), proc.stderr
    assert f"{option[1]}': " in proc.stderr and ("Not a directory" in proc.stderr) == (option[0] == "--temp-dir")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "s.duckdb").exists()  # refused before the store was opened


def test_a_store_that_reconnects_per_commit_keeps_the_bound(tmp_path: Path) -> None:
    """`hold_lock=False` (ingest, decide, dedup) closes the file after each commit, and a new
    DuckDB connection starts from the defaults: the bound must come back with it."""
    memory = MemoryLimit("250MB", str(tmp_path / "spill"))
    with Store.open(tmp_path / "s.duckdb", hold_lock=False, memory=memory) as st:
        run_id = st.start_run("test", {})
        assert st._conn is None  # released after the commit
        held = st.memory_in_effect()
        assert held == {"memory_limit": f"{250e6 / 2**20:.1f} MiB", "temp_directory": memory.temp_directory}
        st.finish_run(run_id, "ok", {}, [])
    with Store.open(tmp_path / "s.duckdb", hold_lock=False) as st:  # another command, no bound: DuckDB's default
        assert st.memory_in_effect()["memory_limit"] != f"{250e6 / 2**20:.1f} MiB"


def test_threads_that_find_the_connection_released_share_the_one_they_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """decide's reader thread and its writer both reopen a released store at the start of the
    pinned bulk phase: with two connections, the writer's temporary tables and registered Arrow
    tables were missing on the other (`bulk_robots does not exist`, `python_arrow_scan does not
    exist`, one decide in twelve). The open is made slow here (after the real one) so that both
    threads are inside it."""
    import threading
    import time

    import scanner.store.store as store_module

    real = store_module.connect

    def slow(*args, **kwargs):
        con = real(*args, **kwargs)
        time.sleep(0.2)
        return con

    with Store.open(tmp_path / "s.duckdb", hold_lock=False, memory=MemoryLimit("200MB")) as st:
        assert st._conn is None
        monkeypatch.setattr(store_module, "connect", slow)
        start, seen = threading.Barrier(2), []
        with st.pinned():

            def use() -> None:
                start.wait()
                seen.append(st._con)

            threads = [threading.Thread(target=use) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert seen[0] is seen[1]
