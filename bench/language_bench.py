"""Language detection at ingest: what the bounded sample and lingua's modes cost and answer, on
real text.

    python bench/language_bench.py [--ext /work/shared/ext]

Texts: the demo sample's pages and extracts, the article-extraction benchmark's 181 ground-truth
article bodies and the trafilatura evaluation subset's 237 pages (English, German, Polish, ...),
the HTML extracted with our default extractor. The reference answer is lingua's high-accuracy
mode over all languages on the whole text. Each configuration prints CPU µs per document (median
of 3 interleaved rounds, models loaded beforehand) and how many answers differ from the
reference and from ours (`scanner.corpus.text_stats.detect_language`). Then the bound: ours on a
10 MB text, against the same on a 3 KB one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scanner.corpus.extract import extract_main_text
from scanner.corpus.fields import FieldMap
from scanner.corpus.ingest import reader_for
from scanner.corpus.records import RawRecord
from scanner.corpus.text_stats import LANGUAGE_PREFIX, detect_language

SAMPLE = Path(__file__).resolve().parent.parent / "scanner/demo/sample"
# the languages of the web's largest shares (Common Crawl's language statistics), for the
# "subset" configuration: a subset must not change the answer on real text to be adopted
WEB_LANGUAGES = [
    "ENGLISH",
    "RUSSIAN",
    "GERMAN",
    "JAPANESE",
    "CHINESE",
    "SPANISH",
    "FRENCH",
    "ITALIAN",
    "PORTUGUESE",
    "POLISH",
    "DUTCH",
    "TURKISH",
    "VIETNAMESE",
    "INDONESIAN",
    "CZECH",
    "PERSIAN",
    "KOREAN",
    "SWEDISH",
    "ARABIC",
    "HUNGARIAN",
    "GREEK",
    "ROMANIAN",
    "DANISH",
    "FINNISH",
    "THAI",
    "UKRAINIAN",
    "SLOVAK",
    "BOKMAL",
    "BULGARIAN",
    "HEBREW",
    "CROATIAN",
    "LITHUANIAN",
    "SLOVENE",
]


def real_texts(ext: Path) -> list[str]:
    texts: list[str] = []
    for name in ("news-crawl.jsonl.gz", "article-extracts.jsonl.gz", "cc-main-2020-34.warc.gz"):
        for rec in reader_for(SAMPLE / name, FieldMap()):
            if isinstance(rec, RawRecord) and (rec.content_type or "").startswith("text"):
                text = rec.text if rec.text is not None else extract_main_text(rec.payload)
                if text:
                    texts.append(text)
    truth = json.loads(gzip.decompress((ext / "article-extraction-benchmark/ground-truth.json.gz").read_bytes()))
    texts += [v["articleBody"] for v in truth.values() if v.get("articleBody")]
    for page in sorted((ext / "trafilatura-eval-subset/html").glob("*.html.gz")):
        text = extract_main_text(gzip.decompress(page.read_bytes()))
        if text:
            texts.append(text)
    return texts


def _code(found) -> str | None:
    return found.iso_code_639_1.name.lower() if found else None


def configurations() -> dict[str, Callable[[str], str | None]]:
    from lingua import Language, LanguageDetectorBuilder

    every = LanguageDetectorBuilder.from_all_languages()
    high = every.with_preloaded_language_models().build()
    low = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().with_preloaded_language_models().build()
    subset = (
        LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in WEB_LANGUAGES))
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )

    def prefix(t: str) -> str:
        return t[:LANGUAGE_PREFIX]

    return {
        "reference: high accuracy, whole text": lambda t: _code(high.detect_language_of(t)),
        "high accuracy, first 400 chars": lambda t: _code(high.detect_language_of(prefix(t))),
        "low accuracy, whole text": lambda t: _code(low.detect_language_of(t)),
        "ours (low accuracy, first 400 chars)": detect_language,
        f"low accuracy, {len(WEB_LANGUAGES)} web languages, 400 chars": lambda t: _code(
            subset.detect_language_of(prefix(t))
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "/work/shared/ext")))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    texts = [t for t in real_texts(args.ext) if sum(c.isalpha() for c in t[:LANGUAGE_PREFIX]) >= 20]
    confs = configurations()
    answers = {name: [f(t) for t in texts] for name, f in confs.items()}  # also loads every model
    cpu: dict[str, list[float]] = {name: [] for name in confs}
    for _ in range(args.rounds):
        for name, f in confs.items():
            start = time.process_time()
            for t in texts:
                f(t)
            cpu[name].append((time.process_time() - start) / len(texts) * 1e6)
    ref, ours = answers["reference: high accuracy, whole text"], answers["ours (low accuracy, first 400 chars)"]
    langs = {c: ref.count(c) for c in sorted(set(ref), key=lambda c: -ref.count(c))}
    median = statistics.median(map(len, texts))
    print(f"{len(texts)} real texts, median {median:,.0f} chars; reference languages {langs}")
    print(f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'configuration':<46} {'CPU us/doc':>10} {'vs ref':>7} {'vs ours':>8}")
    for name in confs:
        got = answers[name]
        vs_ref = sum(a != b for a, b in zip(got, ref, strict=True))
        vs_ours = sum(a != b for a, b in zip(got, ours, strict=True))
        print(f"{name:<46} {statistics.median(cpu[name]):>10.0f} {vs_ref:>7} {vs_ours:>8}")
    small, big = texts[0][:3000], (texts[0] * (10_000_000 // len(texts[0]) + 1))[:10_000_000]
    for label, t in (("3 KB", small), ("10 MB", big)):
        start = time.process_time()
        for _ in range(20):
            detect_language(t)
        print(f"ours on a {label} text: {(time.process_time() - start) / 20 * 1e3:.2f} CPU ms")


if __name__ == "__main__":
    main()
