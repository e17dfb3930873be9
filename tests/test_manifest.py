"""Manifests: the worked examples are valid; every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import ManifestError
from scanner.manifest import load_manifest

REPO = Path(__file__).resolve().parent.parent

MINIMAL = """
[provider]
name = "P"
contact = "p@p.invalid"
"""


def test_worked_example_is_valid() -> None:
    m = load_manifest(REPO / "manifests/example.toml")
    assert m.provider.sme is True
    assert [d.source_id for d in m.datasets] == [
        "fineweb-edu-sample@2025-01",
        "news-archive-licence@2026-Q1",
        "own-crawl@2026-06",
    ]
    assert m.crawler is not None and m.crawler.product_token == "ExampleAIBot"
    assert m.attestations["synthetic_data"] == "no" and m.attestations["crawlers_used"] == "yes"
    assert m.datasets[1].in_store is False and m.datasets[2].ca["collection_ongoing"] == "no"
    assert all(p.exists() for d in m.datasets for p in d.paths)
    # file entries and inline entries merge; subdomains reduce to their registrable domain
    assert set(m.blocklists[0].domains) == {
        "books-pirate.invalid",
        "movies-pirate.invalid",
        "pirate-example.invalid",
    }


def test_demo_manifest_is_valid(sample: Path) -> None:
    m = load_manifest(sample / "manifest.toml")
    assert {d.category for d in m.datasets} == {"2.1", "2.3"}


def test_missing_attestations_are_to_be_provided(tmp_path: Path) -> None:
    f = tmp_path / "m.toml"
    f.write_text(MINIMAL)
    m = load_manifest(f)
    assert set(m.attestations.values()) == {"to be provided"}
    assert m.crawler is None and m.datasets == ()


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        (
            '[[datasets]]\nname = "d"\ncategory = "2.7"\nmodality = ["text"]',
            "datasets[0].category",
            "is not an EU template source category",
        ),
        (
            '[[datasets]]\nname = "d"\ncategory = "2.1"\nmodality = ["smell"]',
            "datasets[0].modality[0]",
            "is not one of",
        ),
        (
            '[[datasets]]\nname = "d"\ncategory = "2.1"\nmodality = ["text"]\nlicense = "MIT"',
            "datasets[0].license",
            "unknown key",
        ),
        ('[[datasets]]\nname = "d"\nmodality = ["text"]', "datasets[0].category", "is required"),
        (
            '[[datasets]]\nname = "d"\ncategory = "2.1"\nmodality = ["text"]\n'
            "collection_period = { start = 2025-02-01, end = 2025-01-01 }",
            "datasets[0].collection_period.end",
            "is before start",
        ),
        (
            '[[datasets]]\nname = "d"\ncategory = "2.1"\nmodality = ["text"]\n'
            '[[datasets]]\nname = "d"\ncategory = "2.3"\nmodality = ["text"]',
            "datasets[1].name",
            "duplicate dataset",
        ),
        ('[attestations]\ncrawlers_used = "maybe"', "attestations.crawlers_used", "must be one of"),
        ("[attestations]\ncrawlers_used = true", "attestations.crawlers_used", "must be a string"),
        (
            '[crawler]\nname = "c"\nproduct_token = "Our Bot"\nuser_agent = "x"\npurpose = "p"',
            "crawler.product_token",
            "not a robots.txt product token",
        ),
        (
            '[crawler]\nname = "c"\nproduct_token = "OurBot"\nuser_agent = "Mozilla/5.0"\npurpose = "p"',
            "crawler.user_agent",
            "must contain the product token",
        ),
        (
            '[[blocklists]]\nname = "b"\ndomains = ["http://x.example/path"]',
            "blocklists[0].domains[0]",
            "is not a domain name",
        ),
        (
            '[[models]]\nname = "m"\nversion = "1"\neu_market_date = "soon"',
            "models[0].eu_market_date",
            "must be a date",
        ),
        ('colour = "blue"', "colour", "unknown key"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(extra + "\n" + MINIMAL if extra.startswith("colour") else MINIMAL + "\n" + extra)
    with pytest.raises(ManifestError) as info:
        load_manifest(f)
    assert info.value.path == str(f)
    assert info.value.key == key
    assert problem in info.value.problem
    assert str(info.value).startswith(f"{f}: {key}: ")


def test_missing_provider_and_syntax_errors(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text("schema = 1\n")
    with pytest.raises(ManifestError, match=r"p.toml: provider: is required"):
        load_manifest(f)
    f.write_text('[provider]\nname = "unterminated\n')
    with pytest.raises(ManifestError, match=r"p.toml: \(syntax\): "):
        load_manifest(f)
    f.write_text('[provider]\nname = ""\ncontact = "c"\n')
    with pytest.raises(ManifestError, match=r"provider.name: must not be empty"):
        load_manifest(f)
    with pytest.raises(ManifestError, match=r"cannot read"):
        load_manifest(tmp_path / "absent.toml")
