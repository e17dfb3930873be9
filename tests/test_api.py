"""scanner.api as the faces call it, on one real DuckDB file filled through the real API: a
manifest declared, a JSONL corpus ingested, robots.txt captures imported as evidence, signals
extracted and every document decided. Then each function the CLI and the service use: check and
judge, status (as_of, bare domains), open_store, report, info, the evidence-pack round trip and
the summary."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner import api
from scanner.errors import InputError, ScannerError, StoreError
from tests._summary import write_manifest
from tests.conftest import copy_demo

SEEN = datetime(2025, 3, 9, 23, tzinfo=UTC)  # the robots.txt captures
FETCHED = "2025-03-10T00:00:00Z"  # the corpus


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """open.example allows everyone; www.closed.example disallows GPTBot; none.example has no
    evidence. Two pages each, under the manifest's `crawl@1`."""
    folder = tmp_path_factory.mktemp("api")
    manifest = write_manifest(folder)
    pages = folder / "pages.jsonl"
    hosts = ("open.example", "www.closed.example", "none.example")
    with pages.open("w") as f:
        for host in hosts:
            for n in range(2):
                text = f"Page {n} of {host}, long enough to be a document with a few words in it."
                f.write(json.dumps({"url": f"https://{host}/p{n}", "text": text, "date": FETCHED}) + "\n")
    (folder / "open.txt").write_text("User-agent: *\nAllow: /\n")
    (folder / "closed.txt").write_text("User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /\n")
    with api.open_store(folder / "s.duckdb") as store:
        assert api.declare(store, manifest) == {"sources": 2, "blocklist": 0}
        report = api.ingest(store, [(pages, "crawl@1", api.field_map())])
        assert report.status == "ok" and report.files[0].documents_new == 6
        for name, url in (
            ("open.txt", "https://open.example/robots.txt"),
            ("closed.txt", "https://www.closed.example/robots.txt"),
        ):
            imported = api.import_artefact(store, folder / name, url=url, observed_at=SEEN)
            assert imported["kind"] == "robots.txt" and imported["outcome"] is None
        assert api.extract_signals(store)["sightings"] == 2
        assert api.decide_documents(store, "any-ai-trainer")["documents"] == 6
    return folder / "s.duckdb"


@pytest.fixture
def store(built: Path):
    with api.open_store(built, read_only=True) as st:
        yield st


def test_check_and_judge_give_one_decision(store) -> None:
    closed = api.check("https://www.closed.example/p0", "GPTBot", store=store)
    assert closed.verdict == "reserved" and closed.reasons[0].locator == "line 5"
    assert api.check("https://www.closed.example/p0", "CCBot", store=store).verdict == "allowed"
    assert api.check("https://none.example/p0", store=store).verdict == "unknown"
    j = api.judge("https://www.closed.example/p0", "GPTBot", store=store)
    assert j.tried == ("https://www.closed.example/p0",) and j.decision.verdict == closed.verdict
    assert j.decision.reasons[0].locator == closed.reasons[0].locator
    assert "stale_evidence" in j.decision.reasons[0].lint  # judged now, the capture is months old
    assert j.evidence.robots is not None and j.evidence.robots.observed_at == SEEN
    # before the capture nothing was known
    early = api.judge("https://www.closed.example/p0", "GPTBot", store=store, as_of=datetime(2025, 1, 1, tzinfo=UTC))
    assert early.decision.verdict == "unknown" and early.judged_at == datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ScannerError, match="neither an http"):
        api.judge("ftp://x.example/", store=store)
    with pytest.raises(ScannerError):
        api.check("https://open.example/", policy="no-such-policy", store=store)


def test_status_resolves_a_bare_domain_and_reads_as_of(store) -> None:
    doc = api.status("closed.example", "GPTBot", store=store, as_of=datetime(2025, 3, 10, tzinfo=UTC))
    assert doc["url"] == "https://www.closed.example/"
    assert doc["origins_tried"] == ["https://closed.example/", "https://www.closed.example/"]
    assert doc["decision"]["verdict"] == "reserved"
    (ev,) = doc["evidence"]
    assert ev["kind"] == "robots.txt" and ev["age"] == "1 hours before 2025-03-10" and "GPTBot" in ev["text"]
    assert any("read as https://www.closed.example/" in w for w in doc["warnings"])
    before = api.status("closed.example", "GPTBot", store=store, as_of=datetime(2025, 3, 1, tzinfo=UTC))
    assert before["decision"]["verdict"] == "unknown" and before["evidence"] == []
    assert "no_evidence_for_origin" in before["decision"]["lint"][-1]
    # the same answer through `judge`: the faces' two questions share one code path
    assert doc["decision"]["verdict"] == api.judge("closed.example", "GPTBot", store=store).decision.verdict


def test_open_store_read_only_and_missing(built: Path, tmp_path: Path) -> None:
    with api.open_store(built, read_only=True) as st:
        assert st.count("documents") == 6
    with pytest.raises((StoreError, InputError, ScannerError)):
        api.open_store(tmp_path / "absent.duckdb", read_only=True)


def test_report_counts_the_decided_documents(store) -> None:
    doc = api.report(store, "domain")
    assert doc["decided_now"] is None  # the fixture decided them already
    assert doc["totals"] == {"documents": 6, "allowed": 2, "reserved": 2, "unknown": 2}
    by = {r["domain"]: (r["allowed"], r["reserved"], r["unknown"]) for r in doc["rows"]}
    assert by == {"open.example": (2, 0, 0), "closed.example": (0, 2, 0), "none.example": (0, 0, 2)}
    with pytest.raises(ScannerError, match="--by"):
        api.report(store, "colour")


def test_info_names_the_schema_and_counts(store) -> None:
    doc = api.info(store, verify=True)
    assert doc["schema_version"] == store.schema_version >= 10
    assert doc["counts"]["documents"] == 6 and doc["counts"]["observations"] == 2
    assert doc["verified_rows"]["documents"] == 6


def test_evidence_pack_round_trip(store, tmp_path: Path) -> None:
    pack = tmp_path / "closed.zip"
    made = api.export_pack(store, "https://www.closed.example/p0", pack, agent="GPTBot")
    assert made["verdict"] == "reserved"
    checked = api.verify_pack(pack)
    assert checked.problems == [] and checked.verdict == checked.rederived == "reserved"
    # one byte of the robots.txt changed: the pack no longer verifies
    with zipfile.ZipFile(pack) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data.replace(b"Disallow: /", b"Disallow: /x") if "robots-txt" in name else data)
    assert api.verify_pack(bad).problems


def test_summary_draft_from_the_store(built: Path, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path)
    with api.open_store(built) as st:
        result = api.summary(st, manifest, formats=("json",), output=tmp_path / "summary.json")
    public = json.loads((tmp_path / "summary.json").read_text())
    appendix = json.loads((tmp_path / "summary.appendix.json").read_text())
    assert public["status"] == "draft" and "appendix" not in public  # exact figures stay internal
    # the 2 reserved documents of closed.example are excluded from the measured content
    (crawl,) = appendix["sizes_by_source"]
    assert (crawl["source_id"], crawl["documents"]) == ("crawl@1", 4)
    assert appendix["decisions"]["decided"] == 6 and result.written


def test_signals_table_agrees_with_status_on_the_demo_store(demo_file: Path, tmp_path: Path) -> None:
    """The statement `status` shows for a URL is one of the rows `provenance signals` stored for
    that sighting, with the same locator, evidence and time; a second run reads nothing new."""
    from scanner.store import Store

    with Store.open(copy_demo(demo_file, tmp_path)) as store:
        assert api.extract_signals(store) == {"sightings": 0, "signals": 0}  # the demo ran it
        answer = api.status("https://www.nytimes.com/", store=store, as_of=datetime(2019, 12, 1, tzinfo=UTC))
        reason = answer["decision"]["reasons"][0]
        rows = store.query(
            "SELECT locator, detail, evidence_sha256, observed_at, agents FROM signals WHERE evidence_sha256 = ? "
            "AND locator = ?",
            [reason["evidence_sha256"], reason["locator"]],
        ).to_pylist()
        assert rows and rows[0]["agents"] == reason["agents"] and rows[0]["detail"] == reason["detail"].split(" in ")[0]
        assert rows[0]["observed_at"].isoformat() == reason["observed_at"]
        assert (
            store.count("signal_extractions")
            == store.query(
                "SELECT count(*) FROM observations WHERE kind IN ('robots.txt', 'ai.txt', 'tdmrep.json', 'headers', "
                "'html-meta')"
            )
            .column(0)[0]
            .as_py()
        )
