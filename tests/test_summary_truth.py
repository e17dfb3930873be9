"""The drafted EU summary says only what the store supports: decision counts on fresh and stale
evidence, unknown documents counted in the sizes, exclusions by reason; the final gate refuses
while anything is missing or contradicted; 2.3.h measures what was scraped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scanner.errors import ManifestError, ScannerError
from scanner.summary import SCHEMA, DomainMeasure, SummaryOptions, SummaryRefused, publish_summary
from scanner.summary.build import fields_by_id
from scanner.summary.domains import SuffixSection, canonical_domain, domain_sizes
from scanner.summary.render import to_html, to_json, to_markdown
from tests._summary import ANSWERED, decided_store, doc, write_manifest


@pytest.fixture
def store_and_manifest(tmp_path: Path):
    m = write_manifest(tmp_path, ANSWERED)
    store = decided_store(tmp_path, m)
    yield store, m
    store.close()


def test_tdm_text_gives_the_counts_the_store_supports(store_and_manifest) -> None:
    store, m = store_and_manifest
    s, _ = publish_summary(store, m)
    text = fields_by_id(s)["3.1.b"]["value"]
    assert "every document was checked" not in text
    assert "Of 15 documents, 15 have a decision." in text
    assert (
        "4 rest on evidence observed more than 24 hours before the fetch (stale evidence, up to 140 days older)" in text
    )
    assert "5 on evidence observed within 24 hours of the fetch" in text  # 3 fresh allowed + 2 fresh reserved
    # 5 crawled documents with no evidence + the public one: unknown, and still counted
    assert "6 had no machine-readable evidence at all (verdict unknown) and are counted in the sizes" in text
    assert "2 documents excluded as reserved, by the reason that decided: robots.txt disallow: 2 documents." in text
    assert "html, robots" not in text and "1 domains" not in text
    behaviour = fields_by_id(s)["2.3.d"]["value"]
    assert "at most 24 hours" not in behaviour
    assert "Of 14 crawled documents, 9 were decided with a robots.txt in the evidence; 4 on evidence" in behaviour
    assert "for the token our product token" not in behaviour and "TestBot" in behaviour


def test_every_modality_listed_and_structure_as_the_template(store_and_manifest) -> None:
    store, m = store_and_manifest
    s, _ = publish_summary(store, m)
    titles = [sec["title"] for sec in s["sections"]]
    for t in (
        "1.1 Provider identification",
        "1.2 Model identification",
        "1.3 Modalities, overall training data size and other characteristics",
        "2.2 Private non-publicly available datasets obtained from third parties",
    ):
        assert t in titles
    s13 = next(sec for sec in s["sections"] if sec["id"] == "1.3")
    assert s13["guidance"].startswith("(general information about the overall training data after pre-processing")
    table = fields_by_id(s)["1.3.a"]["value"]
    assert [(r["modality"], r["present"]) for r in table] == [
        ("Text", True), ("Image", False), ("Video", False), ("Audio", False), ("Other", False)
    ]  # fmt: skip
    md = to_markdown(s)
    assert "☒ Text  ☐ Image  ☐ Video  ☐ Audio  ☐ Other (please specify)" in md
    large = fields_by_id(s)["2.1.c"]["value"]
    assert large == [
        "Text: public, version 1, published at https://data.invalid/public. Only part was used: English pages only."
    ]
    assert "name:" not in md and "share_of_public_data" not in md


def test_stale_only_store_says_none_fresh(tmp_path: Path) -> None:
    m = write_manifest(tmp_path)
    store = decided_store(tmp_path, m, only="www.stale.example")
    s, _ = publish_summary(store, m)
    text = fields_by_id(s)["3.1.b"]["value"]
    assert "Of 4 documents, 4 have a decision. 4 rest on evidence observed more than 24 hours" in text
    assert "0 on evidence observed within 24 hours" in text and "0 had no machine-readable evidence" in text
    store.close()


def test_draft_is_unversioned_and_final_is_gated(store_and_manifest, tmp_path: Path) -> None:
    store, m = store_and_manifest
    draft, new = publish_summary(store, m)
    assert draft["status"] == "draft" and draft["version"] is None and not new
    assert store.summaries() == []  # drafts are not versions
    assert "DRAFT" in to_markdown(draft) and 'class="draft-mark"' in to_html(draft)
    assert "<sub>3.1.b" in to_markdown(draft)  # field ids for the reviewer
    final, new = publish_summary(store, m, final=True)
    assert new and final["status"] == "final" and final["version"] == 1
    md, page = to_markdown(final), to_html(final)
    assert "DRAFT" not in md and "DRAFT" not in page and "<sub>" not in md and 'class="tag"' not in page
    assert "review" not in md.lower() and "manifest" not in md  # no tool-internal notes
    assert "appendix" not in json.loads(to_json(final))
    again, new = publish_summary(store, m, final=True)
    assert not new and again["version"] == 1
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(json.loads(to_json(final)), schema)
    jsonschema.validate(json.loads(to_json(draft)), schema)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('crawlers_used = "yes"', 'attestations.crawlers_used = "no" but the store holds 14 documents'),
        ('public_datasets_used = "yes"', 'attestations.public_datasets_used = "no" but the store holds 1 documents'),
        ("", "2.1.a: attestation is 'to be provided'"),
    ],
)
def test_final_refuses_contradictions(store_and_manifest, tmp_path: Path, change: str, expected: str) -> None:
    store, _ = store_and_manifest
    if change:
        flipped = ANSWERED.replace(change, change.replace('"yes"', '"no"'))
    else:
        flipped = ANSWERED.replace('public_datasets_used = "yes"\n', "")
    m = write_manifest(tmp_path, flipped, name="flipped.toml")
    with pytest.raises(SummaryRefused) as err:
        publish_summary(store, m, final=True)
    assert any(expected in p for p in err.value.problems), err.value.problems
    assert store.summaries() == []


def test_final_refuses_dataset_without_documents_and_wrong_period(store_and_manifest, tmp_path: Path) -> None:
    store, _ = store_and_manifest
    extra = ANSWERED.replace("2025-03-01", "2025-03-01") + (
        '\n[[datasets]]\nname = "ghost"\ncategory = "2.1"\nmodality = ["text"]\n'
    )
    m = write_manifest(tmp_path, extra.replace("[attestations]", "[attestations]"), name="ghost.toml")
    text = (
        (tmp_path / "ghost.toml")
        .read_text()
        .replace("start = 2025-03-01, end = 2025-03-31", "start = 2025-04-01, end = 2025-04-30")
    )
    (tmp_path / "ghost.toml").write_text(text)
    from scanner.manifest import load_manifest

    m = load_manifest(tmp_path / "ghost.toml")
    with pytest.raises(SummaryRefused) as err:
        publish_summary(store, m, final=True)
    problems = "\n".join(err.value.problems)
    assert "ghost: declared but no documents in the store" in problems
    wrong = "collection_period 2025-04-01 to 2025-04-30 disagrees with the fetch dates in the store"
    assert f"{wrong} (2025-03-10 to 2025-03-10)" in problems


def test_not_applicable_only_where_the_manifest_says_so(store_and_manifest, tmp_path: Path) -> None:
    store, m = store_and_manifest
    assert fields_by_id(publish_summary(store, m)[0])["1.1.b"]["value"] == "Not applicable"
    f = tmp_path / "silent.toml"
    f.write_text((tmp_path / "m.toml").read_text().replace('authorised_representative = "not applicable"\n', ""))
    from scanner.manifest import load_manifest

    silent = fields_by_id(publish_summary(store, load_manifest(f))[0])
    assert silent["1.1.b"]["source"] == "missing" and silent["1.1.b"]["value"] is None


def test_misspelt_summary_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"summary\.languges: unknown key"):
        write_manifest(tmp_path, '[summary]\nlanguges = "English"\n')


def test_previous_versions_listed_with_links(store_and_manifest, tmp_path: Path) -> None:
    store, _ = store_and_manifest
    extra = ANSWERED + (
        '\n[publication]\nprevious_versions = [{ version = "1", date = 2026-01-15, url = "https://p.invalid/v1" }]\n'
    )
    m = write_manifest(tmp_path, extra, name="pub.toml")
    final, _ = publish_summary(store, m, final=True)
    assert final["version"] == 2
    assert "version 1 of 2026-01-15: https://p.invalid/v1" in to_markdown(final)


def test_exact_figures_only_in_the_appendix_unless_opted_in(store_and_manifest, tmp_path: Path) -> None:
    store, m = store_and_manifest
    s, _ = publish_summary(store, m)
    public = to_json(s) + to_markdown(s)
    assert "1,400 tokens" not in public and "8,000" not in public
    assert fields_by_id(s)["2.3.h"]["value"]["sizes"] is None
    assert {"domain": "stale.example", "size": 8000, "rank": 1} in s["appendix"]["top_domains"]
    opted = write_manifest(tmp_path, ANSWERED + "\n[publication]\ndisclose_exact_figures = true\n", name="o.toml")
    s2, _ = publish_summary(store, opted)
    assert "| 1 | stale.example | 8,000 |" in to_markdown(s2)


def test_top_domains_ranked_by_what_was_scraped(store_and_manifest) -> None:
    store, m = store_and_manifest
    scraped = fields_by_id(publish_summary(store, m)[0])["2.3.h"]["value"]
    # 4 domains crawled: ceil(10 %) = 1; reserved.example and duplicates still count as scraped
    assert scraped["total_domains"] == 4 and scraped["domains"] == ["stale.example"]
    assert "before deduplication and exclusions" in scraped["metric"]
    used = fields_by_id(publish_summary(store, m, SummaryOptions(domain_measure=DomainMeasure.USED))[0])["2.3.h"]
    # after exclusions reserved.example is gone: 3 domains
    assert used["value"]["total_domains"] == 3 and "post-processing measure" in used["value"]["metric"]


def test_idn_domains_are_one_and_the_psl_private_section_is_a_choice() -> None:
    rows = [
        {"host": "www.bücher.de", "size": 10},
        {"host": "xn--bcher-kva.de", "size": 5},
        {"host": "a.blogspot.com", "size": 1},
        {"host": "b.blogspot.com", "size": 1},
    ]
    private = domain_sizes(rows, SuffixSection.PRIVATE)
    assert private["xn--bcher-kva.de"] == 15 and "a.blogspot.com" in private and len(private) == 3
    icann = domain_sizes(rows, SuffixSection.ICANN)
    assert icann["blogspot.com"] == 2 and len(icann) == 2
    assert canonical_domain("BÜCHER.de.") == "xn--bcher-kva.de"


def test_cli_final_refuses_with_exit_2_listing_each_problem(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "scanner", "demo"], cwd=tmp_path, check=True, capture_output=True, timeout=300
    )
    demo_manifest = Path(__file__).resolve().parent.parent / "scanner" / "demo" / "sample" / "manifest.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "summary", "--manifest", str(demo_manifest), "--final"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: final summary refused")
    assert (
        len(re.findall(r"^  - ", proc.stderr, re.M)) >= 10 and "2.3.a: attestation is 'to be provided'" in proc.stderr
    )
    draft = subprocess.run(
        [sys.executable, "-m", "scanner", "summary", "--manifest", str(demo_manifest)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = draft.stdout
    assert draft.returncode == 0 and "DRAFT" in text
    # the demo store: 30 crawled documents on robots.txt evidence ~4.5 months old, 11 unknown
    assert (
        "Of 30 crawled documents, 30 were decided with a robots.txt in the evidence; 30 on evidence observed more"
        in text
    )
    assert "11 had no machine-readable evidence at all (verdict unknown) and are counted in the sizes" in text
    assert "5 were allowed after checking only the page's own meta tags" in text
    top = re.search(r"(\d+) domains listed of (\d+) crawled", text)
    assert top and top.group(2) == "21"  # before dedup and exclusions: jpost.com, sciencealert.com count


def test_one_write_path_renders_formats_and_diffs_against_the_last_final(store_and_manifest, tmp_path: Path) -> None:
    from scanner import api

    store, m = store_and_manifest
    first = api.summary(store, m, formats=("md", "json"), output=tmp_path / "out" / "s", final=True)
    assert sorted(Path(w).name for w in first.written) == ["s.appendix.json", "s.json", "s.md"]
    assert first.document["version"] == 1 and first.diff is None
    store.write_documents([doc(700 + k, "newcomer.example", "crawl@1", 10**6, 10) for k in range(2)])
    draft = api.summary(store, m, diff=True)
    assert draft.stdout.startswith("# Public summary of training content: Test Provider, m 1")
    assert draft.diff["from_version"] == 1 and draft.diff["to_version"] is None
    assert draft.diff["domains_added"] == ["newcomer.example"]
    with pytest.raises(ScannerError, match="--format pdf writes a file"):
        api.summary(store, m, formats=("pdf",))
