"""`provenance evidence import-many`: a CSV or JSONL index, a folder and a tar of HOST/robots.txt
(real protego files), idempotent, the same sightings as one-by-one imports, bad lines reported by
line, hostile paths refused. Real CLI processes."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from scanner.store import Store
from tests._evidence import cli

HOSTS = ("www.nytimes.com", "www.bbc.co.uk", "github.com", "mega.nz", "www.uspto.gov")


@pytest.fixture
def files(ext: Path, tmp_path: Path) -> Path:
    """HOST/robots.txt for a few real hosts of the protego corpus (one an HTML page)."""
    wanted = {f"robots/{h}" for h in HOSTS}
    with tarfile.open(ext / "protego-robots-corpus" / "robots_txt_files.tar.gz") as tar:
        for member in tar:
            if member.name in wanted:
                host = member.name.split("/", 1)[1]
                (tmp_path / "hosts" / host).mkdir(parents=True)
                (tmp_path / "hosts" / host / "robots.txt").write_bytes(tar.extractfile(member).read())
    assert len(list((tmp_path / "hosts").iterdir())) == len(HOSTS)
    return tmp_path


def run(folder: Path, *args: str) -> dict:
    proc = cli("evidence", "import-many", *args, "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_folder_and_tar_are_idempotent_and_match_one_by_one(files: Path) -> None:
    first = run(files, "hosts", "--observed-at", "2019-07-01", "--note", "protego 2019")
    assert first["read"] == first["sightings_new"] == len(HOSTS) and first["problems"] == []
    assert first["not_robots"] == 1  # mega.nz served an HTML page
    again = run(files, "hosts", "--observed-at", "2019-07-01", "--note", "protego 2019")
    assert again["sightings_new"] == 0 and again["already_stored"] == len(HOSTS)
    with tarfile.open(files / "hosts.tar.gz", "w:gz") as tar:
        tar.add(files / "hosts", arcname="hosts")
    tarred = run(files, "hosts.tar.gz", "--observed-at", "2019-07-01", "--store", "t.duckdb")
    assert tarred["sightings_new"] == len(HOSTS) and tarred["blobs_new"] == len(HOSTS)
    # one-by-one import of the same file is the same sighting: nothing new
    one = cli(
        "evidence", "import", "hosts/www.nytimes.com/robots.txt", "--url", "https://www.nytimes.com/robots.txt",
        "--observed-at", "2019-07-01", "--store", "one.duckdb", "--json", cwd=files,
    )  # fmt: skip
    assert one.returncode == 0
    with Store.open(files / "provenance.duckdb", read_only=True) as st:
        rows = st.query("SELECT url, observed_at, via, locator FROM observations ORDER BY url").to_pylist()
    assert {r["url"] for r in rows} == {f"https://{h}/robots.txt" for h in HOSTS}
    assert all(r["via"] == "import" and json.loads(r["locator"])["note"] == "protego 2019" for r in rows)
    status = json.loads(cli("status", "www.nytimes.com", "--json", cwd=files).stdout)
    assert status["evidence"][0]["sha256"] == json.loads(one.stdout)["evidence_sha256"]
    assert status["decision"]["verdict"] in ("allowed", "reserved")
    assert json.loads(cli("status", "mega.nz", "--json", cwd=files).stdout)["decision"]["verdict"] == "unknown"


def test_index_csv_and_jsonl_report_bad_lines(files: Path) -> None:
    (files / "index.csv").write_text(
        "path,url,observed_at,status,kind,note\n"
        "hosts/github.com/robots.txt,https://github.com/robots.txt,2025-03-01T10:00:00Z,200,robots.txt,wayback\n"
        "hosts/www.bbc.co.uk/robots.txt,https://www.bbc.co.uk/robots.txt,not-a-date,200,,\n"
        "../../etc/passwd,https://evil.example/robots.txt,2025-03-01,200,,\n"
        "hosts/missing/robots.txt,https://missing.example/robots.txt,2025-03-01,200,,\n"
        "hosts/mega.nz/robots.txt,ftp://mega.nz/robots.txt,2025-03-01,200,,\n"
        "hosts/www.uspto.gov/robots.txt,https://www.uspto.gov/robots.txt,2025-03-01,abc,,\n"
    )
    doc = run(files, "index.csv")
    assert doc["read"] == 6 and doc["sightings_new"] == 1
    where = {p["where"]: p["reason"] for p in doc["problems"]}
    assert "not-a-date" in where["index.csv:3"]
    assert "outside the index's folder" in where["index.csv:4"]
    assert "cannot read" in where["index.csv:5"]
    assert "not an http(s) URL" in where["index.csv:6"]
    assert "is not a number" in where["index.csv:7"]
    (files / "index.jsonl").write_text(
        json.dumps({"path": "hosts/github.com/robots.txt", "url": "https://github.com/robots.txt",
                    "observed_at": "2025-04-01", "status": 200, "note": "second capture"}) + "\n"
        "{not json\n[1]\n"
    )  # fmt: skip
    doc = run(files, "index.jsonl")
    assert doc["sightings_new"] == 1 and [p["where"] for p in doc["problems"]] == ["index.jsonl:2", "index.jsonl:3"]
    with Store.open(files / "provenance.duckdb", read_only=True) as st:
        seen = st.query("SELECT count(*) FROM observations WHERE url = 'https://github.com/robots.txt'").column(0)
    assert seen[0].as_py() == 2  # two captures of one file: one blob, two sightings


def test_user_mistakes_are_one_line_errors(files: Path) -> None:
    for args, expected in (
        (("hosts",), "needs --observed-at"),
        (("nowhere",), "no such file or folder"),
        (("hosts", "--observed-at", "2019-07-01", "--scheme", "ftp"), "scheme 'ftp'"),
    ):
        proc = cli("evidence", "import-many", *args, cwd=files)
        assert proc.returncode == 2 and proc.stderr.startswith("error:") and expected in proc.stderr, proc.stderr
    (files / "bad.csv").write_text("file,where\nx,y\n")
    proc = cli("evidence", "import-many", "bad.csv", cwd=files)
    assert proc.returncode == 2 and "lacks observed_at, path, url" in proc.stderr
