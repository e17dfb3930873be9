"""Extractor profiles on the article-extraction benchmark (181 real pages, ground-truth bodies):
F1 with upstream's metric and pages/s of each, and one parse per page giving exactly what two
separate parses (text, then meta tags) gave."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from scanner.corpus.extract import Extractor, extract_main_text, read_page
from scanner.signals.html import facts_to_evidence, read_html
from tests import _report
from tests.test_extract import shingle_f1


def _bench(ext: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    bench = ext / "article-extraction-benchmark"
    truth = {
        k: v["articleBody"]
        for k, v in json.loads(gzip.decompress((bench / "ground-truth.json.gz").read_bytes())).items()
    }
    pages = {k: gzip.decompress((bench / "html" / f"{k}.html.gz").read_bytes()) for k in sorted(truth)}
    return truth, pages


def test_one_parse_gives_what_two_parses_gave(ext: Path) -> None:
    _, pages = _bench(ext)
    for key, html in pages.items():
        text, meta = read_page(html, Extractor.TRAFILATURA)
        assert text == extract_main_text(html), key
        assert meta == facts_to_evidence(read_html(html)), key


_MARKUP = [
    b'<html><head><meta name="Robots" content="noindex, noai"><meta name="tdm-reservation" content="1">'
    b'<meta name="tdm-policy" content="https://p.example/policy.json"><link rel="License" href="https://l.example/">'
    b'<link rel="license" type="application/rsl+xml" href="/rsl.xml"><meta name="GPTBot" content="noimageai">'
    b"</head><body><meta name=googlebot-news content=nosnippet><a rel='nofollow license' href='https://creativecommons.org/licenses/by/4.0/'>cc</a>"
    b'<script type="application/ld+json">{"license": "https://creativecommons.org/licenses/by-sa/4.0/"}</script>'
    b'<meta name="tdm-reservation" content="0"><area rel=license href=/area></body></html>',
    b"<html><body><p>no head at all</p><meta name=robots content=noai></body></html>",
    b"<p>a fragment",
]


def test_resiliparse_reads_the_same_evidence_as_lxml(ext: Path) -> None:
    pytest.importorskip("resiliparse", reason="the resiliparse profile needs pip install 'provenance-scanner[fast]'")
    _, pages = _bench(ext)
    for key, html in [*pages.items(), *((f"markup-{i}", m) for i, m in enumerate(_MARKUP))]:
        assert read_page(html, Extractor.RESILIPARSE)[1] == facts_to_evidence(read_html(html)), key
    assert read_page(_MARKUP[0], Extractor.RESILIPARSE)[1] is not None


def test_profiles_f1_and_speed(ext: Path) -> None:
    pytest.importorskip("resiliparse", reason="the resiliparse profile needs pip install 'provenance-scanner[fast]'")
    truth, pages = _bench(ext)
    scores = {}
    for profile in Extractor:
        start = time.perf_counter()
        texts = {k: read_page(html, profile)[0] or "" for k, html in pages.items()}
        rate = len(pages) / (time.perf_counter() - start)
        f1, p, r = shingle_f1(truth, texts)
        scores[profile] = f1
        _report.note(f"extractor {profile}: F1 {f1:.3f} (P {p:.3f}, R {r:.3f}), {rate:.1f} pages/s (one process)")
    assert scores[Extractor.TRAFILATURA] >= 0.95
    assert scores[Extractor.RESILIPARSE] >= 0.90
