"""Unknown is never hidden: `provenance report` counts it, takes --agent and --as-of, sorts months
by date and keeps domain and month in their own columns; verdicts_per_domain does not count a
document twice across as-of runs; import warns about evidence for the wrong scheme or host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.store import Store
from tests._evidence import cli, cli_json
from tests.conftest import copy_demo


@pytest.fixture(scope="module")
def demo(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    copy_demo(demo_file, folder)
    return folder


def report(folder: Path, *args: str) -> dict:
    return cli_json("report", *args, cwd=folder)


def test_report_counts_unknown_and_sorts_months(demo: Path) -> None:
    with Store.open(demo / "provenance.duckdb", read_only=True) as st:
        documents = st.count("documents")
    doc = report(demo, "--by", "month")
    rows = doc["rows"]
    assert {"allowed", "reserved", "unknown", "documents_unknown_pct"} <= set(rows[0])
    months = [r["month"] for r in rows if r["month"] is not None]
    assert months == sorted(months) and len(months) >= 2
    assert doc["totals"]["documents"] == documents
    assert doc["totals"]["allowed"] + doc["totals"]["reserved"] + doc["totals"]["unknown"] == documents
    assert doc["totals"]["unknown"] > 0
    for r in rows:
        assert r["allowed"] + r["reserved"] + r["unknown"] == r["documents"]
    both = report(demo, "--by", "domain,month")
    assert set(both["by"]) == {"domain", "month"} and all("domain" in r and "month" in r for r in both["rows"])
    assert all(r["domain"] is None or "-" not in r["domain"][:4] for r in both["rows"])
    bad = cli("report", "--by", "week", cwd=demo)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --by")


def test_report_agent_and_as_of_do_not_double_count(demo: Path) -> None:
    with Store.open(demo / "provenance.duckdb", read_only=True) as st:
        documents = st.count("documents")
    agent = report(demo, "--agent", "GPTBot")
    assert agent["policy"] == "agent:gptbot" and agent["decided_now"] and agent["totals"]["documents"] == documents
    dated = report(demo, "--as-of", "2019-12-01")
    assert dated["as_of"].startswith("2019-12-01T23:59:59") and dated["totals"]["documents"] == documents
    again = report(demo, "--as-of", "2019-12-01")
    assert again["decided_now"] is None and again["totals"] == dated["totals"]
    with Store.open(demo / "provenance.duckdb", read_only=True) as st:
        per_domain = st.query(
            "SELECT sum(documents)::BIGINT FROM verdicts_per_domain WHERE policy = 'any-ai-trainer'"
        ).column(0)[0]
        as_of_runs = st.query(
            "SELECT sum(documents)::BIGINT FROM verdicts_per_domain_as_of WHERE policy = 'any-ai-trainer'"
        ).column(0)[0]
    assert per_domain.as_py() == documents and as_of_runs.as_py() == documents


def test_import_warns_when_evidence_is_for_a_sibling_origin(demo_file: Path, tmp_path: Path) -> None:
    copy_demo(demo_file, tmp_path)
    (tmp_path / "r.txt").write_bytes(b"User-agent: GPTBot\nDisallow: /\n")
    args = ("--observed-at", "2020-01-01", "--json")
    wrong = cli("evidence", "import", "r.txt", "--url", "http://www.nytimes.com/robots.txt", *args, cwd=tmp_path)
    assert wrong.returncode == 0
    assert "no documents are from http://www.nytimes.com, but https://www.nytimes.com" in wrong.stderr
    assert "RFC 9309" in json.loads(wrong.stdout)["warnings"][0]
    right = cli("evidence", "import", "r.txt", "--url", "https://www.nytimes.com/robots.txt", *args, cwd=tmp_path)
    assert right.returncode == 0 and json.loads(right.stdout)["warnings"] == [] and "warning" not in right.stderr
