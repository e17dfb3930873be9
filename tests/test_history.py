"""`provenance history`: every sighting in order, file changes, the agent's rule diff and verdict
flips, in text, JSON and an HTML timeline rendered by headless Chromium. Real CLI processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._chromium import render
from tests._evidence import cli

VERSIONS = [
    ("2025-01-10T08:00:00Z", b"User-agent: *\nDisallow: /admin\n"),
    ("2025-02-10T08:00:00Z", b"User-agent: *\nDisallow: /admin\n"),  # same file seen again
    ("2025-03-10T08:00:00Z", b"User-agent: *\nDisallow: /admin\n\nUser-agent: GPTBot\nDisallow: /\n"),
    ("2025-06-10T08:00:00Z", b"User-agent: *\nDisallow: /admin\n\nUser-agent: GPTBot\nAllow: /\n"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    for n, (when, body) in enumerate(VERSIONS):
        (folder / f"r{n}.txt").write_bytes(body)
        proc = cli(
            "evidence", "import", f"r{n}.txt", "--url", "https://www.hist.example/robots.txt",
            "--observed-at", when, cwd=folder,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return folder


def test_history_json_lists_sightings_changes_rule_diffs_and_flips(site: Path) -> None:
    proc = cli("history", "hist.example", "--agent", "GPTBot", "--format", "json", cwd=site)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["origin"] == "https://www.hist.example"  # bare domain resolved to its www. host
    s = doc["sightings"]
    assert [x["observed_at"][:10] for x in s] == ["2025-01-10", "2025-02-10", "2025-03-10", "2025-06-10"]
    assert [x["changed"] for x in s] == [False, False, True, True] and doc["changes"] == 2
    assert [x["verdict"] for x in s] == ["allowed", "allowed", "reserved", "allowed"]
    assert s[2]["rules_added"] == ["Disallow: /"] and s[2]["rules_removed"] == ["Disallow: /admin (from the * group)"]
    assert s[3]["rules_added"] == ["Allow: /"] and s[3]["rules_removed"] == ["Disallow: /"]
    assert [(f["date"][:10], f["from"], f["to"]) for f in doc["flips"]] == [
        ("2025-03-10", "allowed", "reserved"),
        ("2025-06-10", "reserved", "allowed"),
    ]


def test_history_text_names_flips_with_their_dates(site: Path) -> None:
    proc = cli("history", "https://www.hist.example/", "--agent", "GPTBot", cwd=site)
    assert proc.returncode == 0, proc.stderr
    assert "4 sightings, 2 changes, 2 verdict flips" in proc.stdout
    assert "flip on 2025-03-10T08:00:00+00:00: allowed -> reserved" in proc.stdout
    assert "    + Disallow: /" in proc.stdout
    nothing = cli("history", "none.example", cwd=site)
    assert nothing.returncode == 0 and "0 sightings" in nothing.stdout and "warning: no robots.txt" in nothing.stderr
    bad = cli("history", "hist.example", "--format", "pdf", cwd=site)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --format 'pdf'")


def test_history_html_timeline_renders_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    proc = cli("history", "hist.example", "--agent", "GPTBot", "--format", "html", "-o", "h.html", cwd=site)
    assert proc.returncode == 0, proc.stderr
    page = site / "h.html"
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "<script" not in text and text.count('class="flipped"') == 2
    dom = render(page, tmp_path / "profile", "history.png", window="1000,1200", min_png=10_000)
    assert 'id="timeline"' in dom and dom.count("<li") == 4 and "flip: allowed → reserved" in dom
