"""Pages that are not robots.txt: the real HTML bodies of the protego corpus (138 of them, served
as robots.txt in 2019), a bot challenge, and the same pages arriving by import, inside a WARC
capture and from a live loopback fetch. Unknown under the default policy, never a silent allow;
`strict` reads them as unreachable."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.decide import Artefact, Evidence, decide, make_policy
from scanner.signals.fetch_outcome import EDGE_BLOCKED, NOT_ROBOTS, served_as
from tests._evidence import cli
from tests.test_crawlers import site  # noqa: F401  (the loopback HTTP server fixture)

CHALLENGE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf-chl captcha</body></html>"


def _protego(ext: Path) -> tuple[dict[str, bytes], dict[str, bool]]:
    folder = ext / "protego-robots-corpus"
    if not folder.is_dir():
        pytest.skip(f"protego corpus not found in {ext}")
    flagged = {}
    with gzip.open(folder / "index.jsonl.gz", "rt") as f:
        for line in f:
            row = json.loads(line)
            flagged[row["file"]] = row["looks_like_html"]
    bodies = {}
    with tarfile.open(folder / "robots_txt_files.tar.gz") as tar:
        for member in tar:
            if member.isfile():
                bodies[member.name.split("/", 1)[1]] = tar.extractfile(member).read()
    return bodies, flagged


def _judge(body: bytes, policy: str, status: int = 200) -> str:
    art = Artefact(
        "robots.txt", "https://e.example/robots.txt", body, "x" * 64, datetime(2019, 7, 1, tzinfo=UTC), status
    )
    return decide("https://e.example/some/page.html", Evidence(robots=art), make_policy(policy)).verdict


def test_every_html_body_of_the_protego_corpus_is_unknown_never_allowed(ext: Path) -> None:
    bodies, flagged = _protego(ext)
    html = [name for name, is_html in flagged.items() if is_html]
    assert len(html) == 138
    for name in html:
        body = bodies[name]
        served = served_as(200, body)
        assert served in (NOT_ROBOTS, EDGE_BLOCKED), name
        default = decide(
            "https://e.example/",
            Evidence(robots=Artefact("robots.txt", "https://e.example/robots.txt", body, "x" * 64, None, 200)),
            make_policy(),
        )
        assert default.verdict == "unknown" and default.reasons[0].signal == "robots_not_robots", name
        assert served in default.lint and "robots.txt is unknown" in default.reasons[0].detail
        assert _judge(body, "strict") == "reserved", name
    # a real file that only wraps its lines in HTML comments is still read as a robots.txt
    assert served_as(200, bodies["www.uspto.gov"]) is None and _judge(bodies["www.uspto.gov"], "any-ai-trainer")
    # and no plain robots.txt of the corpus is mistaken for a page
    plain = [n for n, is_html in flagged.items() if not is_html and served_as(200, bodies[n]) is not None]
    assert all(bodies[n].lstrip().startswith(b"<") for n in plain)


def test_bot_challenge_is_edge_blocked_at_200_and_403() -> None:
    assert served_as(200, CHALLENGE) == EDGE_BLOCKED and served_as(403, CHALLENGE) == EDGE_BLOCKED
    assert _judge(CHALLENGE, "any-ai-trainer") == "unknown"
    assert _judge(CHALLENGE, "any-ai-trainer", status=403) == "unknown"  # was "unavailable: allow all"
    assert _judge(CHALLENGE, "strict", status=403) == "reserved"
    assert served_as(404, b"<html>not found</html>") is None  # a plain 404 page is RFC 9309's "unavailable"


def test_imported_html_page_is_recorded_and_answered_unknown(ext: Path, tmp_path: Path) -> None:
    bodies, _ = _protego(ext)
    (tmp_path / "robots.txt").write_bytes(bodies["mega.nz"])
    proc = cli(
        "evidence", "import", "robots.txt", "--url", "https://mega.nz/robots.txt",
        "--observed-at", "2019-07-01", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0 and json.loads(proc.stdout)["outcome"] == "not-robots"
    assert "recorded as not-robots" in proc.stderr
    status = cli("status", "mega.nz", "--json", cwd=tmp_path)
    doc = json.loads(status.stdout)
    assert doc["decision"]["verdict"] == "unknown" and doc["evidence"][0]["outcome"] == "not-robots"
    assert any("not a robots.txt" in w for w in doc["warnings"])
    strict = json.loads(cli("status", "mega.nz", "--policy", "strict", "--json", cwd=tmp_path).stdout)
    assert strict["decision"]["verdict"] == "reserved"


def test_warc_capture_of_a_challenge_page_is_unknown(tmp_path: Path) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(tmp_path / "crawl.warc.gz", "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, body, ctype in (
            ("https://www.challenged.example/robots.txt", CHALLENGE, "text/html"),
            ("https://www.challenged.example/a", b"<html><body><p>" + b"Some text. " * 40 + b"</p></body></html>",
             "text/html"),
        ):  # fmt: skip
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=http,
                    warc_headers_dict={"WARC-Date": "2025-05-01T10:00:00Z"},
                )
            )  # fmt: skip
    assert cli("ingest", "crawl.warc.gz", "--workers", "1", cwd=tmp_path).returncode == 0
    doc = json.loads(cli("status", "https://www.challenged.example/a", "--json", cwd=tmp_path).stdout)
    assert doc["decision"]["verdict"] == "unknown" and doc["evidence"][0]["outcome"] == "edge-blocked"
    assert doc["decision"]["reasons"][0]["signal"] == "robots_not_robots"
    # the pack's chain of custody names the WARC file, the record's offset and its record id
    assert cli("evidence-pack", "https://www.challenged.example/a", "-o", "p.zip", cwd=tmp_path).returncode == 0
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        seen = json.loads(zf.read("decision.json"))["evidence"][0]["observations"][0]
    assert seen["via"] == "corpus-record" and seen["warc_file"] == "crawl.warc.gz" and seen["offset"] == 0
    assert seen["record_id"].startswith("<urn:uuid:") and seen["response_headers"]["Content-Type"] == "text/html"


def test_live_fetch_records_not_robots(site, tmp_path: Path) -> None:  # noqa: F811
    from scanner import api
    from scanner.store import Store
    from tests.test_crawlers import FAST, ok

    s = site({"/robots.txt": ok(b"<html><head><title>Welcome</title></head><body>Home</body></html>")})
    with Store.open(tmp_path / "f.duckdb") as store:
        stats = api.fetch_signals(store, [s.origin], config=FAST)
        decision = api.check(f"{s.origin}/page", store=store)
        locator = store.query("SELECT locator FROM observations WHERE kind = 'robots.txt'").column(0).to_pylist()
    assert stats["robots_outcomes"] == {"not-robots": 1}
    assert json.loads(locator[0])["outcome"] == "not-robots" and decision.verdict == "unknown"
