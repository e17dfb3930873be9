"""The EU public summary: algorithms at their boundaries, a store with known sizes, official
labels in every format, the JSON schema, attestations, versions and diffs, the HTML page in a real
headless browser, and evidence packs that re-verify."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from scanner import api
from scanner.corpus.records import document_row
from scanner.manifest import load_manifest
from scanner.store import Store
from scanner.summary import SCHEMA, diff_summaries, publish_summary
from scanner.summary.algorithms import size_band, top_domains
from scanner.summary.build import all_labels, attestation_values
from scanner.summary.render import to_html, to_json, to_markdown
from tests._chromium import render
from tests._summary import CRAWLER
from tests.conftest import copy_demo

MANIFEST = """
[provider]
name = "Test Provider"
contact = "legal@test.invalid"
sme = {sme}

[[models]]
name = "m"
version = "1"
"""
MANIFEST += CRAWLER
MANIFEST += """
[[datasets]]
name = "public"
version = "1"
category = "2.1"
modality = ["text"]
{attestations}
"""


def build_summary(store, m, generated_at=None):
    """A draft, as `provenance summary` writes it."""
    return publish_summary(store, m, now=generated_at)[0]


def manifest(tmp_path: Path, sme: bool = False, attestations: str = ""):
    f = tmp_path / "m.toml"
    f.write_text(MANIFEST.format(sme="true" if sme else "false", attestations=attestations))
    return load_manifest(f)


def test_size_bands_at_their_boundaries() -> None:
    assert size_band("text", 999_999_999) == "Less than 1 billion tokens"
    assert size_band("text", 1_000_000_000) == "1 billion to 10 trillion tokens"
    assert size_band("text", 10_000_000_000_000) == "1 billion to 10 trillion tokens"
    assert size_band("text", 10_000_000_000_001) == "More than 10 trillion tokens"
    assert size_band("image", 999_999) == "Less than 1 million images"
    assert size_band("audio", 10_000) == "10 000 to 1 million hours"
    assert size_band("video", 1_000_001) == "More than 1 million hours"


def test_top_domain_rule_with_ties_and_sme() -> None:
    sizes = {f"d{i:02d}.example": 100 - i for i in range(25)}  # 25 domains, distinct sizes
    sizes["tie.example"] = sizes["d02.example"]  # ties with the third: 26 domains
    top = top_domains(sizes, sme=False)
    assert top.total == 26 and top.cutoff == 3  # ceil(2.6)
    assert [d for d, _, _ in top.domains] == ["d00.example", "d01.example", "d02.example", "tie.example"]
    sme = top_domains(sizes, sme=True)
    assert sme.cutoff == 2 and [d for d, _, _ in sme.domains] == ["d00.example", "d01.example"]
    many = top_domains({f"x{i}.example": i for i in range(30_000)}, sme=True)
    assert many.cutoff == 1000 and len(many.domains) == 1000  # 5 % would be 1,500
    assert top_domains({}, sme=False).domains == ()


def _doc(i: int, domain: str, source: str, size: int, tokens: int) -> dict:
    return document_row(
        doc_id=f"{source}{i:08d}",
        source_id=source,
        url=f"https://www.{domain}/{i}",
        origin=f"https://www.{domain}",
        host=f"www.{domain}",
        registrable_domain=domain,
        fetched_at=datetime(2025, 1 + i % 6, 1, tzinfo=UTC),
        content_sha256=f"{i:064x}",
        raw_bytes=size,
        token_count=tokens,
        content_type="text/html",
        http_status=200,
    )


@pytest.fixture
def known_store(tmp_path: Path):
    m = manifest(tmp_path)
    store = Store.open(tmp_path / "s.duckdb")
    api.declare(store, m)
    docs = []
    for n in range(20):  # crawled: domain n has n+1 documents of 1,000 bytes
        docs += [_doc(n * 100 + k, f"site{n:02d}.example", "crawl@1", 1000, 50) for k in range(n + 1)]
    docs += [_doc(9000 + k, "huge-public.example", "public@1", 10**9, 10**9) for k in range(3)]
    store.write_documents(docs)
    yield store, m
    store.close()


def test_summary_from_a_store_with_known_sizes(known_store) -> None:
    store, m = known_store
    s = build_summary(store, m, generated_at=datetime(2026, 1, 2, tzinfo=UTC))
    fields = {f["id"]: f for sec in s["sections"] for f in sec["fields"]}
    top = fields["2.3.h"]["value"]
    assert top["total_domains"] == 20 and top["cutoff"] == 2  # ceil(10 % of 20)
    assert top["domains"] == ["site19.example", "site18.example"] and top["sizes"] is None  # bands only by default
    assert [d["size"] for d in s["appendix"]["top_domains"]] == [20_000, 19_000]
    assert "huge-public.example" not in top["domains"]  # public datasets stay in 2.1
    assert fields["1.3.a"]["value"][0]["training_data_size"] == "1 billion to 10 trillion tokens"
    assert s["appendix"]["sizes_by_source"][0]["tokens"] + s["appendix"]["sizes_by_source"][1]["tokens"] == (
        3 * 10**9 + 210 * 50
    )
    assert fields["2.1.c"]["value"][0].startswith("Text: public, version 1")  # 100 % of the public data: large
    assert fields["2.3.e"]["value"] == "01/2025 – 06/2025"
    assert fields["0.b"]["value"] == "02/01/2026"
    assert fields["3.1.b"]["source"] == "missing" and "provenance decide" in fields["3.1.b"]["note"]


def test_every_official_label_in_every_format_and_schema_valid(known_store) -> None:
    store, m = known_store
    s = build_summary(store, m)
    md, page = to_markdown(s), to_html(s)
    import html as h

    for label in all_labels(s):
        assert label in md, label
        assert h.escape(label) in page, label
    for title in (
        "1. General information",
        "1.1 Provider identification",
        "2.2 Private non-publicly available datasets obtained from third parties",
        "2.1 Publicly available datasets",
        "2.2.1 Datasets commercially licensed by rightsholders or their representatives",
        "2.3 Data crawled and scraped from online sources",
        "2.4 User data",
        "2.5 Synthetic data",
        "2.6 Other sources of data",
        "3.2 Removal of illegal content",
    ):
        assert title in md and title in page
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(json.loads(to_json(s)), schema)
    broken = json.loads(to_json(s))
    broken["sections"][2]["fields"][0]["source"] = "guess"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_attestations_are_never_inferred(known_store, tmp_path: Path) -> None:
    store, m = known_store  # crawled and public data in the store, no attestations in the manifest
    values = attestation_values(build_summary(store, m))
    assert set(values.values()) == {"to be provided"} and len(values) == 9
    m2 = manifest(tmp_path, attestations='[attestations]\ncrawlers_used = "yes"\nsynthetic_data = "no"\n')
    values = attestation_values(build_summary(store, m2))
    assert values["2.3.a"] == "yes" and values["2.5.a"] == "no" and values["3.1.a"] == "to be provided"


def test_versions_and_diff(known_store, tmp_path: Path) -> None:
    store, _ = known_store
    m = load_manifest(_answered(tmp_path))
    api.decide_documents(store, "any-ai-trainer")  # 3.1.b needs decisions
    first, new = publish_summary(store, m, final=True)
    again, new_again = publish_summary(store, m, final=True)
    assert new and not new_again and again["version"] == first["version"] == 1
    store.write_documents([_doc(7000 + k, "newcomer.example", "crawl@1", 50_000, 10) for k in range(3)])
    second, new = publish_summary(store, m, final=True)
    assert new and second["version"] == 2
    header = next(f for f in second["sections"][0]["fields"] if f["id"] == "0.a")["value"]
    assert header["previous"][0]["version"] == "1"  # the earlier final is listed, link or not
    changes = diff_summaries(first, second)
    # 21 domains now: ceil(2.1) = 3 places, so the newcomer joins and nobody leaves
    assert changes["domains_added"] == ["newcomer.example"] and changes["domains_removed"] == []
    assert "2.3.h" in changes["changed_fields"]


def _answered(tmp_path: Path) -> Path:
    from tests._summary import ANSWERED

    text = MANIFEST.format(sme="false", attestations=ANSWERED)
    text = text.replace("sme = false", 'sme = false\nauthorised_representative = "not applicable"')
    text = text.replace(
        'version = "1"\n\n[crawler]',
        'version = "1"\neu_market_date = 2026-09-01\nbase_model = "not applicable"\n\n[crawler]',
    )
    text = text.replace(
        'name = "crawl"\nversion = "1"',
        'name = "crawl"\nversion = "1"\ncollection_period = { start = 2025-01-01, end = 2025-06-30 }',
    )
    f = tmp_path / "answered.toml"
    f.write_text(text)
    return f


def test_html_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    cwd = tmp_path / "demo"
    cwd.mkdir()
    subprocess.run([sys.executable, "-m", "scanner", "demo"], cwd=cwd, check=True, capture_output=True, timeout=300)
    page = cwd / "provenance-summary.html"
    dom = render(page, tmp_path / "profile", "summary.png", window="1200,2400", min_png=20_000)
    summary = json.loads((cwd / "provenance-summary.json").read_text())
    top = next(f for sec in summary["sections"] for f in sec["fields"] if f["id"] == "2.3.h")["value"]
    assert top["domains"] and all(d in dom for d in top["domains"])
    assert 'id="top-domains"' in dom and "2.3 Data crawled and scraped" in dom and "<script" not in dom


def test_evidence_pack_reverifies_and_detects_tampering(demo_file: Path, tmp_path: Path) -> None:
    from scanner.evidence_pack import export_pack, verify_pack

    with Store.open(copy_demo(demo_file, tmp_path)) as store:
        result = export_pack(store, "www.nytimes.com", tmp_path / "pack.zip", as_of=datetime(2019, 12, 1, tzinfo=UTC))
    assert result["verdict"] == "reserved" and result["artefacts"] == 1
    assert verify_pack(tmp_path / "pack.zip").problems == []
    with zipfile.ZipFile(tmp_path / "pack.zip") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    artefact = next(n for n in members if n.startswith("artefacts/"))
    members[artefact] = members[artefact].replace(b"Disallow", b"Allow")
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    problems = verify_pack(tmp_path / "tampered.zip").problems
    assert any("checksum differs" in p for p in problems) and any("is not the evidence" in p for p in problems)


def test_summary_command_writes_all_formats_and_diffs(tmp_path: Path) -> None:
    cwd = tmp_path
    subprocess.run([sys.executable, "-m", "scanner", "demo"], cwd=cwd, check=True, capture_output=True, timeout=300)
    repo_manifest = Path(__file__).resolve().parent.parent / "manifests" / "example.toml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "summary",
            "--manifest",
            str(repo_manifest),
            "--format",
            "all",
            "-o",
            str(cwd / "out" / "summary"),
            "--json",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc = json.loads(proc.stdout)
    assert doc["status"] == "draft" and doc["version"] is None and not doc["new_version"]
    assert len(doc["written"]) == 4  # md, json, html and the internal appendix
    assert (cwd / "out" / "summary.html").read_text().startswith("<!doctype html>")
    assert json.loads((cwd / "out" / "summary.appendix.json").read_text())["internal"] is True
