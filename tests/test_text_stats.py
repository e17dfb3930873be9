"""Language detection at ingest looks at a bounded sample, so a 10 MB text costs what a 3 KB one
does (bounded cost per input); the answers on real text are measured by bench/language_bench.py."""

from __future__ import annotations

from scanner.corpus.text_stats import LANGUAGE_PREFIX, detect_language

ENGLISH = "The committee published its annual report on the state of the river on Tuesday morning. "
GERMAN = "Dies ist ein langer deutscher Text über das Wetter in Berlin und die Politik im Land. "


def test_a_huge_text_is_judged_on_its_first_characters_only() -> None:
    head = ENGLISH * (LANGUAGE_PREFIX // len(ENGLISH) + 1)
    tail = GERMAN * (10_000_000 // len(GERMAN))  # 10 MB that would outvote the head if it were read
    assert detect_language(tail) == "de"
    assert detect_language(head + tail) == "en"
    assert detect_language(head[:LANGUAGE_PREFIX] + tail) == "en"


def test_too_little_text_to_judge_is_none() -> None:
    assert detect_language("12 34 56 78 -- ok " * 3) is None
    assert detect_language(None) is None
