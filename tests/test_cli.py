"""The `provenance` command end to end, as a user runs it (a real process, a real store file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("demo")
    proc = run("demo", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert "Demo store" in proc.stdout
    return cwd


def test_demo_then_query_json(demo_store: Path) -> None:
    assert (demo_store / "provenance.duckdb").exists()
    proc = run("query", "select count(*) as n from documents", "--json", cwd=demo_store)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"columns": ["n"], "rows": [{"n": 58}]}


def test_demo_is_idempotent(demo_store: Path) -> None:
    before = json.loads(run("info", "--json", cwd=demo_store).stdout)["counts"]
    proc = run("demo", "--json", cwd=demo_store)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # one JSON document, nothing else on stdout
    assert all(f["already_done"] for f in doc["ingest"]["files"])
    after = json.loads(run("info", "--json", cwd=demo_store).stdout)["counts"]
    assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}
    assert after["runs"] == before["runs"] + 3  # ingest, decide and dedup runs


def test_views_answer_the_documented_questions(demo_store: Path) -> None:
    proc = run(
        "query",
        "select origin, kind, observed_at from evidence_history "
        "where origin = 'https://www.nytimes.com' and kind = 'robots.txt'",
        "--json",
        cwd=demo_store,
    )
    rows = json.loads(proc.stdout)["rows"]
    assert rows == [
        {
            "origin": "https://www.nytimes.com",
            "kind": "robots.txt",
            "observed_at": "2019-07-01T00:00:00+00:00",
        }
    ]
    proc = run(
        "query",
        "select sum(documents) as n from documents_per_domain where category = '2.3'",
        "--json",
        cwd=demo_store,
    )
    assert json.loads(proc.stdout)["rows"] == [{"n": 30}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("query", "select 1", "--store", "absent.duckdb"), "absent.duckdb: no such store"),
        (("query", "delete from documents"), "read-only"),
        (("query", "select * from no_such_table"), "no_such_table"),
        (("manifest", "check", "nope.toml"), "nope.toml: (file): cannot read"),
        (("ingest", "missing.jsonl"), "missing.jsonl: cannot read"),
        (
            ("evidence", "import", "x.txt", "--url", "ftp://a/robots.txt", "--observed-at", "2025-01-01"),
            "is not an http(s) URL",
        ),
        (
            (
                "evidence",
                "import",
                "x.txt",
                "--url",
                "https://a.example/robots.txt",
                "--observed-at",
                "later",
            ),
            "'later' is not an ISO 8601",
        ),
    ],
)
def test_user_errors_are_one_line_without_traceback(demo_store: Path, args: tuple, message: str) -> None:
    proc = run(*args, cwd=demo_store)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "" or "error" not in proc.stdout


def test_evidence_import_and_ingest_with_manifest(tmp_path: Path, sample: Path) -> None:
    body = tmp_path / "robots.txt"
    body.write_bytes(b"User-agent: GPTBot\nDisallow: /\n")
    args = (
        "evidence",
        "import",
        str(body),
        "--url",
        "https://example.com/robots.txt",
        "--observed-at",
        "2025-03-01T12:00:00Z",
        "--json",
    )
    first = json.loads(run(*args, cwd=tmp_path).stdout)
    assert first["kind"] == "robots.txt" and first["origin"] == "https://example.com"
    run(*args, cwd=tmp_path)  # the same sighting twice is one observation
    proc = run(
        "ingest",
        "--manifest",
        str(sample / "manifest.toml"),
        "--source",
        "article-extracts",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["documents_new"] == 12
    counts = json.loads(run("info", "--json", cwd=tmp_path).stdout)["counts"]
    assert (counts["observations"], counts["evidence"], counts["documents"], counts["sources"]) == (
        1,
        1,
        12,
        3,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    proc = run("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for command in ("demo", "ingest", "evidence", "query", "manifest", "info"):
        assert command in proc.stdout


def test_check_with_a_robots_file_and_with_stored_evidence(demo_store: Path, tmp_path: Path) -> None:
    robots = tmp_path / "robots.txt"
    robots.write_bytes(b"User-agent: GPTBot\nDisallow: /private\n")
    proc = run(
        "check",
        "https://e.example/private/1",
        "--agent",
        "GPTBot",
        "--robots",
        str(robots),
        "--json",
        cwd=tmp_path,
    )
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "reserved" and doc["reasons"][0]["locator"] == "line 2"
    assert doc["robots"]["rule"]["line"] == 2 and doc["robots"]["evidence"] == f"file:{robots}"
    # from the demo store: the nytimes robots.txt seen in July 2019
    proc = run("check", "https://www.nytimes.com/svc/x", "--agent", "GPTBot", "--json", cwd=demo_store)
    doc = json.loads(proc.stdout)
    reason = doc["reasons"][0]
    assert doc["verdict"] == "reserved" and reason["detail"] == "Disallow: /svc in the * group"
    assert reason["evidence_sha256"] == doc["evidence_sha256"][0]
    assert reason["observed_at"].startswith("2019-07-01")
    # before any evidence was seen, nothing is known
    proc = run(
        "check",
        "https://www.nytimes.com/a",
        "--agent",
        "GPTBot",
        "--as-of",
        "2019-01-01",
        "--json",
        cwd=demo_store,
    )
    assert json.loads(proc.stdout)["verdict"] == "unknown"


def test_status_shows_the_evidence_a_legal_team_needs(demo_store: Path) -> None:
    proc = run("status", "www.nytimes.com", "--as-of", "2019-12-01", "--json", cwd=demo_store)
    report = json.loads(proc.stdout)
    assert report["decision"]["verdict"] == "reserved"  # omgili, a data provider, is disallowed
    assert {r["agents"][0] for r in report["decision"]["reasons"]} == {"omgili", "omgilibot"}
    robots = report["evidence"][0]
    assert robots["kind"] == "robots.txt" and robots["http_status"] == 200
    assert "User-Agent: omgili" in robots["text"]
    text = run("status", "www.nytimes.com", "--show-evidence", cwd=demo_store).stdout
    assert "Disallow: / in group omgili" in text and "Sitemap:" in text


def test_dedup_profiles_from_the_command_line(demo_store: Path) -> None:
    """The sha1 profile keeps its own signatures next to the fast ones and finds (nearly) the same
    copies in the demo; an unknown profile is a one-line error."""
    fast = run(
        "query", "select count(*) as n from dedup_signatures where params like 'fast-%'", "--json", cwd=demo_store
    )
    assert json.loads(fast.stdout)["rows"][0]["n"] > 0
    proc = run("dedup", "--profile", "sha1", "--json", cwd=demo_store)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["signatures_computed"] == json.loads(fast.stdout)["rows"][0]["n"]
    again = json.loads(run("dedup", "--json", cwd=demo_store).stdout)
    assert again["signatures_computed"] == 0  # the fast signatures were kept
    # the profiles split words differently (`\w+` vs ASCII alphanumerics), so a borderline pair may differ
    assert abs(again["minhash_clusters"] - stats["minhash_clusters"]) <= 1 and again["minhash_clusters"] >= 8
    bad = run("dedup", "--profile", "md5", cwd=demo_store)
    assert bad.returncode == 2 and "--profile 'md5'" in bad.stderr and "Traceback" not in bad.stderr
