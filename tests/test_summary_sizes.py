"""Sizes in the template's units or honestly not measured: CJK text does not collapse, languages
are identified at ingest and drafted into 1.3.e, a named tokenizer (trained here, offline) recounts
text, audio and video are never banded from a file count; and the PDF a lawyer prints."""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pytest

from scanner.corpus.text_stats import count_tokens, detect_language
from scanner.manifest import load_manifest
from scanner.store import Store
from scanner.summary import SummaryOptions, publish_summary
from scanner.summary.build import fields_by_id
from scanner.summary.write import write_summary
from tests._summary import ANSWERED, decided_store, doc, write_manifest
from tests.conftest import copy_demo

DEMO_MANIFEST = Path(__file__).resolve().parent.parent / "scanner" / "demo" / "sample" / "manifest.toml"


def test_cjk_text_does_not_collapse_and_languages_are_identified(demo_file: Path, tmp_path: Path) -> None:
    with Store.open(copy_demo(demo_file, tmp_path), read_only=True) as store:
        row = store.query(
            "SELECT d.token_count, d.language, length(t.text) AS chars FROM documents d JOIN texts t "
            "USING (text_sha256) WHERE d.url = 'http://003338.cn/l41/481397.html'"
        ).to_pylist()[0]
        counted = store.query("SELECT language, count(*)::INT AS n FROM documents GROUP BY ALL").to_pylist()
    langs = {r["language"]: r["n"] for r in counted}
    assert row["chars"] == 6165 and row["language"] == "zh"
    assert row["token_count"] > 3000  # was 56 whitespace runs
    assert langs.get("en", 0) >= 20 and langs.get("zh", 0) >= 5
    assert count_tokens("北京 today") == 3 and count_tokens("a  b\tc") == 3
    assert detect_language("Dies ist ein kurzer deutscher Satz über das Wetter in Berlin.") == "de"
    assert detect_language("ok") is None


def test_languages_drafted_from_measured_shares(demo_file: Path, tmp_path: Path) -> None:
    with Store.open(copy_demo(demo_file, tmp_path)) as store:
        s, _ = publish_summary(store, load_manifest(DEMO_MANIFEST))
    f = fields_by_id(s)["1.3.e"]
    assert f["source"] == "draft" and f["value"].startswith("Languages identified in the text, by decreasing share")
    assert f["value"].index("English") < f["value"].index("Chinese")
    assert "EU official languages covered: " in f["value"] and "English" in f["value"].split("covered: ")[1]
    assert "% of tokens" not in f["value"]  # shares only where the manifest opts in
    shares = {r["language"]: r["tokens"] for r in s["appendix"]["language_tokens"]}
    assert shares["en"] > shares["zh"] > 0


def test_named_tokenizer_trained_here_recounts_and_is_named(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers", reason="tokenizers is in the dev extra")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["alpha beta gamma, delta."] * 10, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    m = write_manifest(tmp_path, ANSWERED)
    store = decided_store(tmp_path, m)
    rows = [doc(500 + k, "www.fresh.example", "crawl@1", 10, 1) for k in range(2)]
    for r in rows:
        r["text_sha256"] = f"{r['doc_id']:0>64}"
    store.write_documents(rows)
    store.write_texts([{"text_sha256": r["text_sha256"], "text": "alpha beta, gamma."} for r in rows])
    s, _ = publish_summary(store, m, SummaryOptions(tokenizer_file=path))
    crawl = next(r for r in s["appendix"]["sizes_by_source"] if r["source_id"] == "crawl@1")
    # the two texts, 5 tokens each ("alpha", "beta", ",", "gamma", "."); the others have no stored text
    assert crawl["tokens"] == 2 * 5
    assert "tokenizer.json" in s["tokenizer"] and "tokenizer.json" in fields_by_id(s)["1.3.g"]["value"]
    run = store.query("SELECT command, stats FROM runs WHERE command = 'summary-tokens'").to_pylist()[0]
    assert json.loads(run["stats"])["tokenizer"] == "tokenizer.json"
    store.close()
    assert tokenizers.__version__


def test_audio_and_video_never_banded_from_a_file_count(tmp_path: Path) -> None:
    extra = '\n[[datasets]]\nname = "speech"\ncategory = "2.1"\nmodality = ["audio"]\n'
    m = write_manifest(tmp_path, extra)
    store = decided_store(tmp_path, m)
    audio = [doc(1000 + k, "audio.example", "speech", 100, 0) for k in range(10_050)]
    for r in audio:
        r["modality"], r["content_type"] = "audio", "audio/wav"
    store.write_documents(audio)
    row = next(r for r in fields_by_id(publish_summary(store, m)[0])["1.3.a"]["value"] if r["modality"] == "Audio")
    assert row["present"] and row["training_data_size"].startswith("not measured: state it in the manifest")
    assert "hours" not in (row["training_data_size"] or "").split(":")[0]
    stated = write_manifest(tmp_path, extra + '\n[summary]\naudio_hours = "1200"\n', name="h.toml")
    row = next(r for r in fields_by_id(publish_summary(store, stated)[0])["1.3.a"]["value"] if r["modality"] == "Audio")
    assert row["training_data_size"] == "Less than 10 000 hours"
    store.close()


def test_pdf_is_a4_with_every_heading(tmp_path: Path) -> None:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the dev extra")
    m = write_manifest(tmp_path, ANSWERED)
    store = decided_store(tmp_path, m)
    result = write_summary(store, m, formats=("pdf",), output=tmp_path / "s.pdf", final=True)
    store.close()
    reader = pypdf.PdfReader(tmp_path / "s.pdf")
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2  # A4 in points
    # NFKC: the PDF's text layer uses ligatures ("ﬁ")
    text = " ".join(unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages)).split())
    for section in result.document["sections"]:
        assert section["title"] in text, section["title"]
    assert "DRAFT" not in text and "file://" not in text  # no browser header or footer


def test_draft_pdf_says_draft_on_every_page(tmp_path: Path) -> None:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the dev extra")
    m = write_manifest(tmp_path)  # nothing attested: many pages of "To be provided"
    store = decided_store(tmp_path, m)
    write_summary(store, m, formats=("pdf",), output=tmp_path / "d.pdf")
    store.close()
    pages = pypdf.PdfReader(tmp_path / "d.pdf").pages
    assert len(pages) >= 3 and all("DRAFT" in p.extract_text() for p in pages)


def _wav(seconds: float, rate: int = 8000) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


def test_durations_from_media_headers_and_fields(tmp_path: Path) -> None:
    from scanner.corpus.fields import FieldMap, record_from_mapping
    from scanner.corpus.ingest import to_document
    from scanner.corpus.media import wav_duration
    from scanner.corpus.records import RawRecord

    assert wav_duration(_wav(2.5)) == pytest.approx(2.5)
    assert wav_duration(b"RIFF\xff\xff\xff\xffWAVE") is None and wav_duration(b"not a wav") is None
    d = to_document(RawRecord("x.warc#0", "https://a.example/s.wav", None, _wav(1.0), "audio/wav"), "speech")
    assert d.modality == "audio" and d.duration_seconds == pytest.approx(1.0)
    rec = record_from_mapping("f.jsonl:1", {"text": "transcript", "duration": 12.5}, FieldMap())
    assert rec.duration_seconds == 12.5
    bad = record_from_mapping("f.jsonl:2", {"text": "t", "duration": "long"}, FieldMap())
    assert "bad duration" in bad.reason
    # every audio file timed: hours measured from the store, banded
    extra = '\n[[datasets]]\nname = "speech"\ncategory = "2.1"\nmodality = ["audio"]\n'
    m = write_manifest(tmp_path, extra)
    store = decided_store(tmp_path, m)
    audio = [doc(2000 + k, "audio.example", "speech", 100, 0) for k in range(20)]
    for r in audio:
        r["modality"], r["content_type"], r["duration_seconds"] = "audio", "audio/wav", 3600.0
    store.write_documents(audio)
    row = next(r for r in fields_by_id(publish_summary(store, m)[0])["1.3.a"]["value"] if r["modality"] == "Audio")
    assert row["training_data_size"] == "Less than 10 000 hours"
    store.close()
