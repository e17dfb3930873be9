"""HTML pages of trafilatura-eval-subset: licence links and robots meta found exactly; noindex /
noarchive never an AI reservation under the default policy."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from scanner.decide import Evidence, decide, make_policy
from scanner.signals.html import read_html
from tests import _report
from tests._artefacts import URL, html


# -- real pages ------------------------------------------------------------------------------------
def test_real_pages_licence_links_and_robots_meta(ext: Path) -> None:
    subset = ext / "trafilatura-eval-subset"
    rows = json.loads((subset / "index.json").read_text())["rows"]
    keys = ("meta_robots", "meta_tdm", "rel_license_hrefs", "creativecommons_hrefs", "rights_meta")
    noindex_pages = 0
    for row in rows:
        body = gzip.decompress((subset / row["file"]).read_bytes())
        facts = read_html(body)
        found = {k: getattr(facts, k) for k in keys if getattr(facts, k)}
        assert found == row["signals_lxml"], row["file"]
        d = decide(URL, Evidence(resource=(html(body.decode("utf-8", "replace")),)), make_policy("any-ai-trainer"))
        assert d.verdict == "allowed", row["file"]  # noindex / noarchive are not AI reservations here
        noindex_pages += any(
            "noindex" in m["content"].lower() or "noarchive" in m["content"].lower() for m in facts.meta_robots
        )
    assert noindex_pages > 10
    _report.note(
        f"trafilatura-eval-subset signals: {len(rows)}/{len(rows)} pages exactly as listed; "
        f"{noindex_pages} pages with noindex/noarchive, none reserved"
    )
