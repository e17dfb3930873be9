"""ingest with `--engine ray` on a real local Ray cluster of two workers: row for row the documents,
texts and evidence of the local engine, resumable from the files already merged, and a clear
error where Ray is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner import api
from scanner.corpus.fields import FieldMap
from scanner.errors import ScannerError
from scanner.manifest import load_manifest
from scanner.store import Store
from tests._cli import refused_without_ray

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]'); the Ray engine is not tested")

SAMPLE = Path(api.__file__).parent / "demo" / "sample"
TABLES = {
    "documents": "SELECT * EXCLUDE (run_id) FROM documents ORDER BY doc_id",
    "texts": "SELECT * FROM texts ORDER BY text_sha256",
    "evidence": "SELECT * FROM evidence ORDER BY sha256",
    "observations": "SELECT * EXCLUDE (run_id) FROM observations ORDER BY obs_id",
    "robots_compiled": "SELECT sha256, rules_version FROM robots_compiled ORDER BY ALL",  # compiled at ingest
}


@pytest.fixture(scope="module")
def local_ray():
    from scanner.dedup.ray_engine import start

    start(None, 2)
    yield
    ray.shutdown()


def _rows(store: Store) -> dict[str, list]:
    return {name: store.query(sql).to_pylist() for name, sql in TABLES.items()}


def _synthetic(folder: Path) -> list[tuple[Path, str, FieldMap]]:
    """Four JSONL files: HTML pages with rights meta tags, plain texts, a record repeated in two
    files (one document), a bad line, and a file that is not there."""
    folder.mkdir()
    paths = []
    for f in range(4):
        lines = []
        for i in range(150):
            n = f * 1000 + i
            page = f'<html><head><meta name="robots" content="noai"></head><body><p>page {n} text</p></body></html>'
            rec = {"url": f"https://s{n % 7}.example/p/{n}", "date": "2025-03-01T00:00:00Z"}
            rec |= {"html": page} if i % 3 == 0 else {"text": f"plain text number {n}"}
            lines.append(json.dumps(rec))
        lines.append(json.dumps({"url": "https://shared.example/same", "text": "in two files", "date": "2025-01-01"}))
        if f == 2:
            lines.append("{not json")
        path = folder / f"part-{f}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return [(p, "synthetic@1", FieldMap()) for p in paths] + [(folder / "missing.jsonl", "synthetic@1", FieldMap())]


def _demo_jobs() -> list[tuple[Path, str, FieldMap]]:
    return api.manifest_jobs(load_manifest(SAMPLE / "manifest.toml"))


def _ingest(path: Path, jobs, **kw) -> tuple[api.IngestReport, dict[str, list]]:
    with Store.open(path, hold_lock=False) as store:
        report = api.ingest(store, jobs, workers=2, batch_size=64, **kw)
        return report, _rows(store)


def _summary(report: api.IngestReport) -> dict:
    return {
        "files": [
            (f.path, f.records, f.documents, f.documents_new, f.evidence_new, f.undated, len(f.bad))
            for f in report.files
        ],
        "failed": report.failed,
        "status": report.status,
        "bad": report.bad_records,
    }


@pytest.mark.parametrize("corpus", ["demo", "synthetic"])
def test_ray_equals_one_machine_row_for_row(local_ray, corpus: str, tmp_path: Path) -> None:
    jobs = _demo_jobs() if corpus == "demo" else _synthetic(tmp_path / "corpus")
    local, expected = _ingest(tmp_path / "local.duckdb", jobs)
    distributed, got = _ingest(tmp_path / "ray.duckdb", jobs, engine="ray")
    assert all(got[t] == expected[t] for t in TABLES)
    assert len(expected["documents"]) > 0 and len(expected["observations"]) > 0
    assert _summary(distributed) == _summary(local)
    if corpus == "synthetic":
        assert distributed.status == "partial" and distributed.bad_total() == 1
        assert [f["file"] for f in distributed.failed] == [str(jobs[-1][0])]
    with Store.open(tmp_path / "ray.duckdb", read_only=True) as store:  # the run and each row name it
        runs = store.query("SELECT run_id, status FROM runs").to_pylist()
        assert runs == [{"run_id": distributed.run_id, "status": distributed.status}]
        assert store.query("SELECT DISTINCT run_id FROM documents").column(0).to_pylist() == [distributed.run_id]
    assert not any((tmp_path / "ray.duckdb.staging").glob("ingest/*"))


def test_ray_run_resumes_from_the_files_merged(local_ray, tmp_path: Path) -> None:
    """A run stopped after some files were merged, and a file left half done by a local run with
    --limit: the next Ray run reads only what is missing, and the store ends as a clean run's."""
    jobs = _synthetic(tmp_path / "corpus")[:4]
    _, expected = _ingest(tmp_path / "clean.duckdb", jobs, engine="ray")
    path = tmp_path / "resumed.duckdb"
    _ingest(path, jobs[:2], engine="ray")  # the first two files merged, then the run stopped
    _ingest(path, jobs[2:3], limit=40)  # the third half done by the local engine
    report, got = _ingest(path, jobs, engine="ray")
    assert got == expected
    done = {Path(f.path).name: (f.already_done, f.resumed_at, f.records) for f in report.files}
    assert done["part-0.jsonl"] == done["part-1.jsonl"] == (True, 0, 0)
    assert done["part-2.jsonl"][1] == 40 and done["part-2.jsonl"][2] > 0
    again, same = _ingest(path, jobs, engine="ray")  # a re-run adds nothing
    assert same == expected and all(f.already_done for f in again.files)


def test_ray_refuses_a_sample_limit(local_ray, tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store, pytest.raises(ScannerError, match="--limit"):
        api.ingest(store, _demo_jobs(), limit=5, engine="ray")


def test_without_ray_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    """A real CLI process in which `import ray` fails, as on a machine without the extra."""
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"url": "https://a.example/", "text": "x"}) + "\n")
    stderr = refused_without_ray("ingest", str(corpus), "--engine", "ray", "--store", str(tmp_path / "s.duckdb"))
    assert len(stderr.strip().splitlines()) == 1
