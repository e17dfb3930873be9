"""`provenance status` answering as a lawyer asks: bare domains, end-of-day dates, the evidence's
age, staleness against the judged moment, warnings in text mode, the robots.txt verbatim with the
line numbers its reasons cite, unknown agents, and sibling origins. Real CLI processes on a real
store filled with `provenance evidence import`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._evidence import cli, cli_json

ROBOTS = b"# [bold]Terms[/bold] apply :x: see /legal\nUser-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n"


@pytest.fixture(scope="module")
def legal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("legal")
    (folder / "robots.txt").write_bytes(ROBOTS)
    (folder / "open.txt").write_bytes(b"User-agent: *\nAllow: /\n")
    imports = [
        ("robots.txt", "https://www.lawyer.example/robots.txt", "2025-07-02T11:01:00Z"),
        ("open.txt", "https://sib.example/robots.txt", "2025-01-01T00:00:00Z"),
        ("open.txt", "https://www.sib.example/robots.txt", "2025-01-01T00:00:00Z"),
    ]
    for path, url, when in imports:
        proc = cli("evidence", "import", path, "--url", url, "--observed-at", when, cwd=folder)
        assert proc.returncode == 0, proc.stderr
    return folder


def status(folder: Path, *args: str) -> dict:
    return cli_json("status", *args, cwd=folder)


def test_bare_domain_date_only_as_of_and_age(legal: Path) -> None:
    doc = status(legal, "lawyer.example", "--agent", "GPTBot", "--as-of", "2025-07-02")
    # the bare domain has no evidence; its www. host does, and the answer says so
    assert doc["url"] == "https://www.lawyer.example/" and doc["origin"] == "https://www.lawyer.example"
    assert doc["origins_tried"] == ["https://lawyer.example/", "https://www.lawyer.example/"]
    # a date alone is the end of that day (UTC): the 11:01 capture counts
    assert doc["as_of"].startswith("2025-07-02T23:59:59")
    assert doc["decision"]["verdict"] == "reserved"
    reason = doc["decision"]["reasons"][0]
    assert reason["locator"] == "line 6" and "stale_evidence" not in reason["lint"]  # 13 h old: fresh
    assert doc["evidence"][0]["age"] == "13 hours before 2025-07-02"
    assert any("read as https://www.lawyer.example/" in w for w in doc["warnings"])
    # the day before: nothing seen yet
    before = status(legal, "lawyer.example", "--agent", "GPTBot", "--as-of", "2025-07-01")
    assert before["decision"]["verdict"] == "unknown" and before["evidence"] == []


def test_staleness_is_measured_against_the_judged_moment(legal: Path) -> None:
    later = status(legal, "https://www.lawyer.example/", "--agent", "GPTBot", "--as-of", "2025-12-31")
    reason = later["decision"]["reasons"][0]
    assert "stale_evidence" in reason["lint"] and reason["confidence"] != "high"
    assert later["evidence"][0]["age"] == "6 months before 2025-12-31"
    now = status(legal, "https://www.lawyer.example/", "--agent", "GPTBot")  # judged now: older still
    assert "stale_evidence" in now["decision"]["reasons"][0]["lint"]
    assert re.fullmatch(r"\d+(\.\d)? (months|years) before \d{4}-\d\d-\d\d", now["evidence"][0]["age"])


def test_text_mode_prints_warnings_and_evidence_verbatim_with_cited_line_numbers(legal: Path) -> None:
    proc = cli("status", "lawyer.example", "--agent", "GPTBott", "--as-of", "2025-07-02", "--show-evidence", cwd=legal)
    assert proc.returncode == 0, proc.stderr
    out, err = proc.stdout, proc.stderr
    assert "rests on evidence for https://www.lawyer.example" in out
    assert "robots.txt seen 13 hours before 2025-07-02" in out
    # Rich markup and emoji codes in the data are printed as they are
    assert "1 | # [bold]Terms[/bold] apply :x: see /legal" in out and "\u274c" not in out
    # the GPTBott group does not exist; `*` allows; the numbering matches each line of the file
    lines = {int(m.group(1)): m.group(2) for m in re.finditer(r"^\s+(\d+) \| (.*)$", out, re.M)}
    assert lines == dict(enumerate(ROBOTS.decode().split("\n")[:-1], start=1))
    assert "warning: agent 'GPTBott' is not in the agent registry; did you mean GPTBot" in err.replace(
        "gptbot", "GPTBot"
    )
    assert "warning: lawyer.example was read as https://www.lawyer.example/" in err
    # the cited line of a reason is the numbered line shown
    doc = status(legal, "lawyer.example", "--agent", "GPTBot", "--as-of", "2025-07-02")
    cited = int(doc["decision"]["reasons"][0]["locator"].split()[1])
    assert lines[cited] == "Disallow: /"


def test_sibling_evidence_is_mentioned(legal: Path) -> None:
    # http has no evidence of its own: RFC 9309 keeps schemes apart, and the answer says where evidence is
    bare = status(legal, "http://sib.example/")
    assert bare["decision"]["verdict"] == "unknown"
    assert any("evidence exists for https://sib.example, https://www.sib.example" in w for w in bare["warnings"])
    both = status(legal, "https://sib.example/")
    assert both["decision"]["verdict"] == "allowed"
    assert any("also exists for https://www.sib.example" in w and "RFC 9309" in w for w in both["warnings"])
