"""California AB 2013 documentation from the same store: the statute's 12 items per declared
dataset, measured where the store can, tri-state answers, the same draft/final gate, the schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scanner.summary import SCHEMA, SummaryRefused, publish_summary
from scanner.summary.ab2013 import ITEMS, data_point_range, to_json, to_markdown
from tests._cli import run
from tests._summary import ANSWERED, decided_store, write_manifest

CA = (
    'ca = {{ purpose = "Pre-training.", intellectual_property = "Copyright-protected pages.", '
    'purchased_or_licensed = "no", personal_information = "yes", aggregate_consumer_information = "no", '
    'processing_purpose = "Dedup.", first_used = "2026-04", collection_ongoing = "{ongoing}", synthetic_data = "no" }}'
)


def _answered_manifest(tmp_path: Path, ongoing: str = "yes"):
    m = write_manifest(tmp_path, ANSWERED)
    text = (tmp_path / "m.toml").read_text()
    public = 'subset = "English pages only"\ncollection_period = { start = 2020-01-01, end = 2024-12-31 }\n'
    text = text.replace('subset = "English pages only"', public + CA.format(ongoing="no"))
    text = text.replace(
        "collection_period = { start = 2025-03-01, end = 2025-03-31 }",
        "collection_period = { start = 2025-03-01, end = 2025-03-31 }\n" + CA.format(ongoing=ongoing),
    )
    f = tmp_path / "ca.toml"
    f.write_text(text)
    from scanner.manifest import load_manifest

    return m, load_manifest(f)


def test_twelve_items_per_dataset_from_store_and_manifest(tmp_path: Path) -> None:
    bare, m = _answered_manifest(tmp_path)
    store = decided_store(tmp_path, m)
    draft, _ = publish_summary(store, bare, template="ca-ab2013")
    assert draft["status"] == "draft" and [d["name"] for d in draft["datasets"]] == ["crawl@1", "public@1"]
    crawl = {f["id"]: f for f in draft["datasets"][0]["items"]}
    assert [f["label"] for f in draft["datasets"][0]["items"]] == list(ITEMS)
    assert crawl["ca.3"] == {**crawl["ca.3"], "value": "fewer than 1,000 documents", "source": "store"}
    assert crawl["ca.6"]["value"] == "to be provided" and crawl["ca.2"]["source"] == "missing"
    with pytest.raises(SummaryRefused) as err:
        publish_summary(store, bare, template="ca-ab2013", final=True)
    assert any("crawl@1 ca.6: 'to be provided'" in p for p in err.value.problems)
    final, _ = publish_summary(store, m, template="ca-ab2013", final=True)
    md = to_markdown(final)
    assert "DRAFT" not in md and "Notice: data collection is ongoing." in md
    assert "2025-03-10 to 2025-03-10 (fetch dates in the store)" in md
    assert "Of 14 documents, 12 were kept after deduplication" in md  # 2 reserved left out
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(json.loads(to_json(final)), schema)
    jsonschema.validate(json.loads(to_json(draft)), schema)
    store.close()


def test_data_point_ranges() -> None:
    assert data_point_range(999) == "fewer than 1,000"
    assert data_point_range(1000) == "1,000 to 100,000"
    assert data_point_range(10**7) == "more than 10 million"


def test_cli_ab2013_draft(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "scanner", "demo"], cwd=tmp_path, check=True, capture_output=True, timeout=300
    )
    demo_manifest = Path(__file__).resolve().parent.parent / "scanner" / "demo" / "sample" / "manifest.toml"
    proc = run("summary", "--manifest", str(demo_manifest), "--template", "ca-ab2013", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0 and "## Dataset news-crawl@2019-11" in proc.stdout
    bad = run("summary", "--manifest", str(demo_manifest), "--template", "ca", cwd=tmp_path, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --template 'ca'")
