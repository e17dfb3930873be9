"""Finding corpus files (folders, globs, manifests), dry runs, samples, field keys, progress and
the totals and warnings ingest ends with: as a user runs them, in real processes on real files."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scanner import api
from scanner.corpus.discover import Format, discover, is_dataset_dir
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import ingest_file
from scanner.corpus.progress import Tracker
from scanner.errors import InputError
from scanner.manifest import load_manifest
from scanner.store import Store
from tests._cli import run


@pytest.fixture
def mixed(tmp_path: Path, sample: Path, ext: Path) -> Path:
    """A folder as a data engineer has one: JSONL and WARC files at two depths, a Parquet shard
    folder, an empty file, a README and a hidden file."""
    root = tmp_path / "data"
    (root / "crawl" / "2008").mkdir(parents=True)
    shutil.copy(sample / "news-crawl.jsonl.gz", root)
    shutil.copy(sample / "article-extracts.jsonl.gz", root)
    shutil.copy(sample / "cc-main-2020-34.warc.gz", root / "crawl")
    shutil.copy(ext / "warc-samples" / "resiliparse" / "clueweb-quirk.warc.gz", root / "crawl" / "2008")
    (root / "shards").mkdir()
    pq.write_table(
        pa.table({"text": ["one shard", "two"], "url": ["https://a.example/1", "https://a.example/2"]}),
        root / "shards" / "part-0.parquet",
    )
    pq.write_table(pa.table({"text": ["three"], "url": ["https://a.example/3"]}), root / "shards" / "part-1.parquet")
    (root / "empty.jsonl").write_bytes(b"")
    (root / "README.md").write_text("notes\n")
    (root / ".DS_Store").write_bytes(b"\0")
    return root


def test_a_folder_is_walked_and_every_supported_file_found(mixed: Path) -> None:
    d = discover([mixed])
    got = {str(f.path.relative_to(mixed)): f.format for f in d.found}
    assert got == {
        "article-extracts.jsonl.gz": Format.JSONL,
        "crawl/2008/clueweb-quirk.warc.gz": Format.WARC,
        "crawl/cc-main-2020-34.warc.gz": Format.WARC,
        "empty.jsonl": Format.JSONL,
        "news-crawl.jsonl.gz": Format.JSONL,
        "shards": Format.DATASET,  # a folder of nothing but Parquet shards stays one dataset
    }
    assert [p.name for p in d.unknown] == ["README.md"]  # hidden files are not listed
    assert d.total_bytes == sum(f.size for f in d.found) > 0
    assert all(
        f.size == sum(p.stat().st_size for p in f.path.rglob("*") if p.is_file()) or f.path.is_file() for f in d.found
    )


def test_hugging_face_folders_stay_datasets(tmp_path: Path) -> None:
    import datasets

    ds = datasets.Dataset.from_list([{"text": f"t{i}", "url": f"https://x.example/{i}"} for i in range(3)])
    ds.save_to_disk(str(tmp_path / "corpus" / "saved"))
    datasets.DatasetDict({"train": ds, "test": ds.select(range(1))}).save_to_disk(str(tmp_path / "corpus" / "dict"))
    assert is_dataset_dir(tmp_path / "corpus" / "saved") and is_dataset_dir(tmp_path / "corpus" / "dict")
    d = discover([tmp_path / "corpus"])
    assert [(f.path.name, f.format) for f in d.found] == [("dict", Format.DATASET), ("saved", Format.DATASET)]
    assert d.unknown == ()


def test_globs_are_expanded_by_us_recursively(mixed: Path) -> None:
    d = discover([str(mixed / "**" / "*.warc.gz")])
    assert sorted(f.path.name for f in d.found) == ["cc-main-2020-34.warc.gz", "clueweb-quirk.warc.gz"]
    with pytest.raises(InputError, match="no files match"):
        discover([str(mixed / "**" / "*.arc")])
    with pytest.raises(InputError, match="no such file"):
        discover([mixed / "missing.jsonl"])


def test_manifest_paths_take_globs(tmp_path: Path, mixed: Path) -> None:
    (tmp_path / "m.toml").write_text(
        'schema = 1\n[provider]\nname = "P"\ncontact = "a@b.invalid"\n[[models]]\nname = "m"\nversion = "1"\n'
        '[[datasets]]\nname = "web"\ncategory = "2.1"\nmodality = ["text"]\n'
        'paths = ["data/**/*.warc.gz", "data/*.jsonl.gz", "data/nothing-*.jsonl"]\n'
    )
    plan = api.plan_ingest(api.manifest_jobs(load_manifest(tmp_path / "m.toml")))
    assert sorted(p.name for p, _, _ in plan.jobs) == [
        "article-extracts.jsonl.gz",
        "cc-main-2020-34.warc.gz",
        "clueweb-quirk.warc.gz",
        "news-crawl.jsonl.gz",
    ]
    assert [f["reason"] for f in plan.failed] == ["no files match this pattern"]


def test_ingest_a_folder_end_to_end_with_totals_and_warnings(tmp_path: Path, mixed: Path) -> None:
    proc = run("ingest", "data", "--workers", "1", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    names = sorted(Path(f["path"]).name for f in doc["files"])
    assert names == sorted(
        [
            "article-extracts.jsonl.gz",
            "clueweb-quirk.warc.gz",
            "cc-main-2020-34.warc.gz",
            "empty.jsonl",
            "news-crawl.jsonl.gz",
            "shards",
        ]
    )
    assert doc["unknown_files"] == ["data/README.md"]
    t = doc["totals"]
    assert t["files_unknown"] == 1 and t["documents"] == t["documents_new"] > 0
    assert t["records"] == t["documents"] + t["other_records"] + t["bad_records"]
    warnings = "\n".join(doc["warnings"])
    assert "data/empty.jsonl: empty (0 records)" in warnings
    # ClueWeb's malformed WARC-Date (2008-10-294T...) gives documents without a date: said so
    assert "clueweb-quirk.warc.gz: 29 of 29 documents have no usable date" in warnings
    assert "data/README.md: not a supported corpus format, skipped" in warnings

    again = run("ingest", "data", "--workers", "1", cwd=tmp_path)  # the human-readable totals
    assert again.returncode == 0, again.stderr
    assert "Totals: 6 files (6 already ingested), 1 unknown files skipped; 0 records" in again.stdout
    assert "Next: python -m scanner dedup" in again.stdout
    # the same records in another file (decompressed): read again, stored once
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "news.jsonl").write_bytes(gzip.decompress((mixed / "news-crawl.jsonl.gz").read_bytes()))
    copy = run("ingest", "copy", "--workers", "1", cwd=tmp_path)
    assert "30 records → 30 documents: 0 new, 30 already stored" in copy.stdout, copy.stdout


def test_dry_run_lists_files_formats_sizes_and_field_map(tmp_path: Path, mixed: Path) -> None:
    proc = run("ingest", "data/*.jsonl.gz", "--dry-run", "--json", "--text-key", "body.text", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(f["path"], f["format"]) for f in doc["files"]] == [
        ("data/article-extracts.jsonl.gz", "jsonl"),
        ("data/news-crawl.jsonl.gz", "jsonl"),
    ]
    assert doc["files"][0]["bytes"] == (mixed / "article-extracts.jsonl.gz").stat().st_size
    assert doc["files"][0]["fields"]["text"] == ["body.text"]
    assert doc["files"][0]["fields"]["url"] == list(FieldMap().url)
    assert not (tmp_path / "provenance.duckdb").exists()  # a dry run reads and writes nothing
    text = run("ingest", "data", "--dry-run", cwd=tmp_path)
    assert "Would ingest 6 files" in text.stdout and "Field map" in text.stdout
    assert "skip: data/README.md: not a supported corpus format" in text.stderr


def test_limit_ingests_a_sample_and_a_later_run_completes_it(tmp_path: Path, sample: Path) -> None:
    shutil.copy(sample / "news-crawl.jsonl.gz", tmp_path)
    proc = run("ingest", "news-crawl.jsonl.gz", "--limit", "7", "--workers", "1", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["records"] == 7
    full = run("ingest", "news-crawl.jsonl.gz", "--workers", "1", "--json", cwd=tmp_path)
    files = json.loads(full.stdout)["files"]
    assert files[0]["resumed_at"] == 7 and files[0]["records"] == 23
    clean = run("ingest", "news-crawl.jsonl.gz", "--workers", "1", "--store", "clean.duckdb", "--json", cwd=tmp_path)
    q = "select doc_id from documents order by 1"
    rows = [run("query", q, "--json", "--store", s, cwd=tmp_path).stdout for s in ("provenance.duckdb", "clean.duckdb")]
    assert rows[0] == rows[1] and json.loads(clean.stdout)["totals"]["records"] == 30


def test_field_keys_on_the_command_line(tmp_path: Path) -> None:
    lines = [
        {
            "body": {"text": f"page {i} words"},
            "link": f"https://k.example/{i}",
            "when": "2024-05-01T00:00:00Z",
            "key": i,
        }
        for i in range(3)
    ]
    with gzip.open(tmp_path / "odd.jsonl.gz", "wt") as fh:
        fh.writelines(json.dumps(x) + "\n" for x in lines)
    proc = run(
        "ingest",
        "odd.jsonl.gz",
        "--text-key",
        "body.text",
        "--url-key",
        "link",
        "--date-key",
        "when",
        "--id-key",
        "key",
        "--json",
        "--workers",
        "1",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["warnings"] == []
    q = run("query", "select url, fetched_at from documents order by url", "--json", cwd=tmp_path)
    rows = json.loads(q.stdout)["rows"]
    assert [r["url"] for r in rows] == [f"https://k.example/{i}" for i in range(3)]
    assert {r["fetched_at"] for r in rows} == {"2024-05-01T00:00:00+00:00"}


def test_progress_is_told_of_every_record_not_every_batch(tmp_path: Path, sample: Path) -> None:
    seen: list[tuple[int, int]] = []

    class Recording(Tracker):
        def advance(self, records: int, payload_bytes: int, offset: int | None = None) -> None:
            super().advance(records, payload_bytes, offset)
            snap = self.snapshot()
            seen.append((snap.records, snap.done_bytes))

    path = sample / "cc-main-2020-34.warc.gz"
    tracker = Recording(path.stat().st_size, 1)
    with Store.open(tmp_path / "s.duckdb") as store:
        tracker.begin_file(path, path.stat().st_size)
        report = ingest_file(store, path, "s", batch_size=256, tracker=tracker)
        tracker.end_file()
    assert report.records > 20  # one batch of 256 would have been one update
    assert [r for r, _ in seen] == list(range(1, report.records + 1))
    offsets = [b for _, b in seen]
    assert offsets == sorted(offsets) and 0 < offsets[-1] <= path.stat().st_size  # WARC offsets, exact
    assert tracker.snapshot().fraction == 1.0


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path, sample: Path) -> None:
    shutil.copy(sample / "news-crawl.jsonl.gz", tmp_path)
    proc = run(
        "ingest", "news-crawl.jsonl.gz", "--workers", "1", cwd=tmp_path, env={"PROVENANCE_PROGRESS_SECONDS": "0.2"}
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("ingest: ")]
    assert lines, proc.stderr
    assert lines[-1].startswith("ingest: 100.0% of 0.6 MB (file 1/1), 30 records,")
    assert "rec/s" in lines[-1] and "MB/s" in lines[-1]
    assert "\x1b[" not in proc.stderr  # no terminal control codes in a log


def test_columns_of_a_surprising_type_are_warned_of(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "text": ["a page", "another"],
                "url": ["https://n.example/1", "https://n.example/2"],
                "id": pa.array([1, 2], pa.int64()),
                "date": pa.array([20240131, 20240201], pa.int64()),
            }
        ),
        tmp_path / "typed.parquet",
    )
    proc = run("ingest", "typed.parquet", "--json", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warnings = json.loads(proc.stdout)["warnings"]
    assert "typed.parquet: column 'id' (int64) is read as the id and stored as text" in warnings
    assert any("column 'date' (int64) is read as the date in Unix seconds" in w for w in warnings)


def test_the_resiliparse_profile_from_the_command_line(tmp_path: Path, sample: Path) -> None:
    pytest.importorskip("resiliparse", reason="the resiliparse profile needs pip install 'provenance-scanner[fast]'")
    shutil.copy(sample / "cc-main-2020-34.warc.gz", tmp_path)
    proc = run("ingest", "cc-main-2020-34.warc.gz", "--extractor", "resiliparse", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["documents_new"] > 0
    q = run("query", "select count(*) as n from documents where text_sha256 is not null", "--json", cwd=tmp_path)
    assert json.loads(q.stdout)["rows"][0]["n"] > 0
    bad = run("ingest", "cc-main-2020-34.warc.gz", "--extractor", "magic", "--store", "x.duckdb", cwd=tmp_path)
    assert bad.returncode == 2 and "error: --extractor 'magic': use trafilatura or resiliparse" in bad.stderr
