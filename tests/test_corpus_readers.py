"""Corpus readers on real files: WARC/ARC fixtures against their reference listing, JSONL (gzip,
zstd), Parquet and Hugging Face datasets saved to disk."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from warcio.archiveiterator import ArchiveIterator as WarcioIterator

from scanner.corpus.fields import FieldMap
from scanner.corpus.http import parse_http_response
from scanner.corpus.ingest import ingest_file, reader_for
from scanner.corpus.records import BadRecord, RawRecord
from scanner.corpus.warc import iter_entries
from scanner.errors import InputError
from scanner.store import Store

# Where we knowingly differ from warcio's listing (reference_index.json), and why.
WARC_DEVIATIONS = {
    # warcio refuses a WARC compressed as one gzip member; the records are intact and we read
    # them all (6), so nothing is partial.
    "warcio/example-bad-non-chunked.warc.gz": "reads all records",
    # bytes that are no WARC header follow the response (its HTTP body was cut inside its WARC
    # block): warcio skips them silently, we report them (one BadRecord) and read on at the next
    # record, so all 4 records are listed as warcio lists them.
    "warcio/example-trunc.warc": "reports the bytes that are no record",
    # the response declares chunked encoding and is not chunked: warcio stops with "unknown
    # archive format"; we keep the body as stored (noted) and read the following request record.
    "warcio/example-wrong-chunks.warc.gz": "reads on",
    # its one response declares Content-Length 88275 and holds 75207 bytes: warcio lists it as
    # a whole record, we report it truncated and store nothing.
    "resiliparse/clipped.warc.gz": "reports the truncated record",
    # its ARC response declares 1591 bytes (example.arc's) and the file ends 1579 bytes after
    # its header line (the URL changed, the length did not): warcio lists it whole, we report
    # it truncated and store nothing, as for a WARC.
    "warcio/example-space-in-url.arc": "reports the truncated record",
}


def _listing(path: Path) -> tuple[list[tuple], list[BadRecord]]:
    got, bad = [], []
    for e in iter_entries(path):
        if isinstance(e, BadRecord):
            bad.append(e)
        else:
            got.append((e.offset, e.type, e.target_uri, e.http.status if e.http else None))
    return got, bad


def _reference(ext: Path) -> dict:
    return json.loads((ext / "warc-samples/reference_index.json").read_text())["files"]


def test_every_readable_archive_gives_exactly_the_reference_records(ext: Path) -> None:
    checked = 0
    for name, ref in _reference(ext).items():
        if ref.get("warcio_error") or name in WARC_DEVIATIONS:
            continue
        expected = [
            (
                r["offset"],
                r["warc_type"],
                r.get("target_uri"),
                int(r["http_status"]) if r.get("http_status") else None,
            )
            for r in ref["records"]
        ]
        got, bad = _listing(ext / "warc-samples" / name)
        assert (got, bad) == (expected, []), name
        checked += 1
    assert checked == 14  # 21 files: 4 warcio could not read, 3 truncated (below)


def test_payloads_equal_warcio_decoded_content(ext: Path) -> None:
    """The reference listing's payload lengths are all 0 (computed after the stream was consumed),
    so payloads are checked against warcio's decoded content_stream() here instead."""
    for name, ref in _reference(ext).items():
        if ref.get("warcio_error") or name in WARC_DEVIATIONS:
            continue
        path = ext / "warc-samples" / name
        with path.open("rb") as fh:
            theirs = [
                len(r.content_stream().read())
                for r in WarcioIterator(fh, arc2warc=True)
                if r.rec_type in ("response", "resource")
            ]
        ours = [len(e.payload) for e in iter_entries(path) if e.type in ("response", "resource")]
        assert ours == theirs, name


def test_documented_archive_deviations(ext: Path) -> None:
    ref = _reference(ext)
    got, bad = _listing(ext / "warc-samples/warcio/example-trunc.warc")
    expected = [
        (
            r["offset"],
            r["warc_type"],
            r.get("target_uri"),
            int(r["http_status"]) if r.get("http_status") else None,
        )
        for r in ref["warcio/example-trunc.warc"]["records"]
    ]
    assert got == expected and len(bad) == 1 and "unreadable WARC data" in bad[0].reason
    got, bad = _listing(ext / "warc-samples/resiliparse/clipped.warc.gz")
    assert got == [] and [b.locator for b in bad] == ["clipped.warc.gz#0"]
    assert "75207 of the 88275 bytes" in bad[0].reason
    got, bad = _listing(ext / "warc-samples/warcio/example-space-in-url.arc")
    assert [g[1] for g in got] == ["warcinfo"] and [b.locator for b in bad] == ["example-space-in-url.arc#151"]
    assert "1579 of the 1591 bytes its ARC header declares" in bad[0].reason
    got, bad = _listing(ext / "warc-samples/warcio/example-bad-non-chunked.warc.gz")
    assert [g[1] for g in got] == ["warcinfo", "warcinfo", "response", "request", "revisit", "request"]
    entries = list(iter_entries(ext / "warc-samples/warcio/example-wrong-chunks.warc.gz"))
    assert [e.type for e in entries] == ["response", "request"]
    assert entries[0].payload.lstrip().lower().startswith(b"<!doctype html>")
    # the lz4 file is read (FastWARC) and gives the same records as its gzip twin
    lz4, _ = _listing(ext / "warc-samples/resiliparse/block-sized-records.warc.lz4")
    gz, _ = _listing(ext / "warc-samples/resiliparse/block-sized-records.warc.gz")
    assert [g[1:] for g in lz4] == [g[1:] for g in gz] and len(lz4) == 3
    # a file named .bad is refused by name, with a clear error
    with pytest.raises(InputError, match="unsupported corpus format"):
        reader_for(ext / "warc-samples/warcio/example-bad.warc.gz.bad", FieldMap())


def test_http_parsing_is_tolerant() -> None:
    r = parse_http_response(b"HTTP/1.1 200 OK\nContent-Encoding: gzip\n\n<html>plain</html>")
    assert r.status == 200 and r.body == b"<html>plain</html>" and "not gzip" in r.notes[0]
    r = parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert r.body == b"hello"
    bomb = gzip.compress(b"\0" * (10 << 20))
    r = parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + bomb, max_decoded=1 << 20)
    assert len(r.body) == 1 << 20 and "cut" in r.notes[0]


def _texts(tmp_path: Path) -> list[dict]:
    return [
        {
            "id": f"r{i}",
            "url": f"https://site{i % 3}.example/p/{i}",
            "text": f"words of record {i} " * 5,
            "date": f"2024-01-{i + 1:02d}T00:00:00Z",
        }
        for i in range(7)
    ]


def _doc_rows(store: Store) -> list[dict]:
    return store.query(
        "SELECT url, fetched_at, token_count, registrable_domain FROM documents ORDER BY url"
    ).to_pylist()


def test_jsonl_gzip_and_zstd_give_the_same_documents(tmp_path: Path) -> None:
    lines = "\n".join(json.dumps(r) for r in _texts(tmp_path)).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(lines))
    (tmp_path / "a.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines))
    (tmp_path / "a.jsonl").write_bytes(lines)
    results = []
    for name in ("a.jsonl", "a.jsonl.gz", "a.jsonl.zst"):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            ingest_file(store, tmp_path / name, "s")
            results.append(_doc_rows(store))
    assert results[0] == results[1] == results[2] and len(results[0]) == 7


def test_parquet_and_hf_datasets_on_disk(tmp_path: Path) -> None:
    import datasets

    rows = _texts(tmp_path)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "shard.parquet", row_group_size=3)
    ds = datasets.Dataset.from_list(rows)
    ds.save_to_disk(str(tmp_path / "hf_saved"))
    datasets.DatasetDict({"train": ds.select(range(4)), "test": ds.select(range(4, 7))}).save_to_disk(
        str(tmp_path / "hf_dict")
    )
    ds.to_parquet(str(tmp_path / "hub_style" / "data" / "train-00000-of-00001.parquet"))
    results = {}
    for name in ("shard.parquet", "hf_saved", "hf_dict", "hub_style"):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            report = ingest_file(store, tmp_path / name, "s")
            assert len(report.bad) == 0 and report.documents_new == 7, name
            results[name] = _doc_rows(store)
    assert len({json.dumps(v, default=str) for v in results.values()}) == 1
    locators = [r.locator for r in reader_for(tmp_path / "hf_dict", FieldMap()) if isinstance(r, RawRecord)]
    assert locators[0] == "hf_dict/test/data-00000-of-00001.arrow:0"


def test_not_a_dataset_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with (
        Store.open(tmp_path / "x.duckdb") as store,
        pytest.raises(InputError, match=r"no \.arrow or \.parquet"),
    ):
        ingest_file(store, tmp_path / "empty", "s")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with (
        Store.open(tmp_path / "y.duckdb") as store,
        pytest.raises(InputError, match="not a readable Parquet"),
    ):
        ingest_file(store, tmp_path / "broken.parquet", "s")
