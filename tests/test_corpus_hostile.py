"""Hostile and broken corpus input (issue #17): cut WARCs are never stored as whole, one bad record
never ends a file, decoders stay under their cap, bad shards are named and the others read."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import brotli
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from scanner import api
from scanner.corpus.fields import FieldMap
from scanner.corpus.http import parse_http_response
from scanner.corpus.ingest import ingest_file
from scanner.corpus.records import BadRecord, RawRecord, sha256_hex
from scanner.corpus.warc import read_warc
from scanner.store import Store
from tests._warc import html_response, warc_file, warc_record


def _stored(store: Store) -> list[dict]:
    return store.query("SELECT doc_id, url, content_sha256, raw_bytes FROM documents ORDER BY doc_id").to_pylist()


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize("percent", [25, 50, 75, 99])
def test_a_cut_warc_stores_only_whole_records_and_the_full_file_adds_the_rest(
    tmp_path: Path, ext: Path, percent: int, gzipped: bool
) -> None:
    source = ext / "warc-samples/resiliparse/warcfile.warc.gz"
    data = source.read_bytes() if gzipped else gzip.decompress(source.read_bytes())
    full = tmp_path / ("full.warc.gz" if gzipped else "full.warc")
    full.write_bytes(data)
    cut = tmp_path / ("cut.warc.gz" if gzipped else "cut.warc")
    cut.write_bytes(data[: len(data) * percent // 100])
    whole = {(r.url, sha256_hex(r.payload)) for r in read_warc(full) if isinstance(r, RawRecord)}

    with Store.open(tmp_path / "s.duckdb") as store:
        first = ingest_file(store, cut, "cc")
        stored = _stored(store)
        assert {(d["url"], d["content_sha256"]) for d in stored} <= whole  # byte-identical to the full file's
        assert len(first.bad) == 1
        bad = next(iter(first.bad))
        assert bad.locator.startswith(cut.name + "#") and "truncated record" in bad.reason
        again = ingest_file(store, full, "cc")
        assert again.documents_new == len(whole) - len(stored)  # exactly the missing records
        assert store.count("documents") == len(whole)
        assert {(d["url"], d["content_sha256"]) for d in _stored(store)} == whole


def test_a_gzip_member_without_its_end_is_a_bad_record(tmp_path: Path, ext: Path) -> None:
    data = (ext / "warc-samples/resiliparse/warcfile.warc.gz").read_bytes()
    path = tmp_path / "tail.warc.gz"
    path.write_bytes(data[:-4])  # the block is whole, the member's trailer is gone
    items = list(read_warc(path))
    assert isinstance(items[-1], BadRecord) and "ends early" in items[-1].reason
    whole = list(read_warc(ext / "warc-samples/resiliparse/warcfile.warc.gz"))

    def same(item):  # a record without the file name in its locator
        return (item.url, item.payload, item.locator.split("#")[1]) if isinstance(item, RawRecord) else item

    assert len(items) == len(whole) and [same(i) for i in items[:-1]] == [same(w) for w in whole[:-1]]


def test_clipped_fixture_is_reported_not_stored(tmp_path: Path, ext: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        report = ingest_file(store, ext / "warc-samples/resiliparse/clipped.warc.gz", "cc")
        assert store.count("documents") == 0 and len(report.bad) == 1
        assert "75207 of the 88275 bytes" in next(iter(report.bad)).reason


def test_a_non_ascii_status_digit_is_one_record_not_the_rest_of_the_file(tmp_path: Path) -> None:
    records = [warc_record(f"https://a.example/{i}", html_response(f"<p>page {i}</p>".encode()), n=i) for i in range(5)]
    hostile = html_response(b"<p>x</p>", "HTTP/1.1 ²00 OK".encode("latin-1"))  # as the archive holds it
    records[2] = warc_record("https://a.example/2", hostile, n=2)
    for gzipped in (True, False):
        path = tmp_path / f"s{gzipped}.warc{'.gz' if gzipped else ''}"
        path.write_bytes(warc_file(records, gzipped))
        items = list(read_warc(path))
        assert [type(i).__name__ for i in items] == ["RawRecord"] * 5
        assert [i.http_status for i in items] == [200, 200, None, 200, 200]


def test_invalid_chunk_sizes_are_a_note_not_a_loop() -> None:
    for size in (b"-3", b"+3", b"0x3", b"ffffffffffffffffffffffffffff", b"\xb2"):
        block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\nabc\n0\n\n"
        r = parse_http_response(block)
        assert r.status == 200 and r.notes and "chunk" in r.notes[0]
    r = parse_http_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort")
    assert r.body == b"short" and "inside a chunk" in r.notes[0]


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip", "deflate"])
def test_every_decoder_streams_to_the_cap(encoding: str) -> None:
    """A body that expands 1000x and more is cut at the cap without being expanded whole first."""
    plain = b"\0" * (64 << 20)  # 64 MiB: the bomb; the cap below is 1 MiB
    if encoding == "br":
        bomb = brotli.compress(plain, quality=1)
    elif encoding == "zstd":
        bomb = zstandard.ZstdCompressor().compress(plain)
    elif encoding == "gzip":
        bomb = gzip.compress(plain, 1)
    else:
        import zlib

        bomb = zlib.compress(plain, 1)
    del plain
    block = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\n\r\n".encode() + bomb
    r = parse_http_response(block, max_decoded=1 << 20)
    assert len(r.body) == 1 << 20 and "cut" in r.notes[0]
    small = parse_http_response(block[: block.index(b"\r\n\r\n") + 4] + _compress(encoding, b"hello"))
    assert small.body == b"hello" and small.notes == ()


def _compress(encoding: str, data: bytes) -> bytes:
    import zlib

    return {
        "br": brotli.compress,
        "zstd": zstandard.ZstdCompressor().compress,
        "gzip": gzip.compress,
        "deflate": zlib.compress,
    }[encoding](data)


_BOMB_UNDER_A_MEMORY_LIMIT = """
import resource, sys
import brotli
from scanner.corpus.http import parse_http_response
comp = brotli.Compressor(quality=1)
bomb = b"".join(comp.process(b"\\0" * (1 << 20)) for _ in range(2048)) + comp.finish()  # 2 GiB of zeros
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (768 << 20, hard))  # expanding whole would need 2 GiB
r = parse_http_response(b"HTTP/1.1 200 OK\\r\\nContent-Encoding: br\\r\\n\\r\\n" + bomb)
print(len(bomb), len(r.body), r.notes[0])
"""


def test_brotli_bomb_never_expands_whole() -> None:
    """2 GiB of zeros in ~1.6 KB of brotli, decoded under a 768 MiB address-space limit: only
    a streaming decoder that stops at the 64 MiB cap can finish."""
    proc = subprocess.run([sys.executable, "-c", _BOMB_UNDER_A_MEMORY_LIMIT], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-500:]
    size, body, note = proc.stdout.split(" ", 2)
    assert int(size) < 1 << 20 and int(body) == 64 << 20 and "cut" in note


def test_deep_json_is_one_bad_record_and_the_next_file_is_read(tmp_path: Path) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text(
        json.dumps({"text": "one", "url": "https://a.example/1"})
        + "\n"
        + "[" * 100_000
        + "]" * 100_000
        + "\n"
        + '{"text": 1'
        + "1" * 5000
        + "}\n"
        + '{"text": "\\ud800 lone surrogate"}\n'
        + json.dumps({"text": "two", "url": "https://a.example/2"})
        + "\n"
    )
    after = tmp_path / "after.jsonl"
    after.write_text(json.dumps({"text": "three", "url": "https://b.example/3"}) + "\n")
    with Store.open(tmp_path / "s.duckdb") as store:
        report = api.ingest(store, [(deep, "d", FieldMap()), (after, "d", FieldMap())])
        assert store.count("documents") == 3
    bad = report.bad_records
    assert [b["where"] for b in bad] == ["deep.jsonl:2", "deep.jsonl:3", "deep.jsonl:4"]
    assert "nested too deeply" in bad[0]["reason"]


def _three_record_arc(ext: Path, mangle: bool) -> bytes:
    """example.arc's header and its one response three times under three URLs; the middle
    record's archive-length replaced by a number no index can hold (warcio raised OverflowError)."""
    data = (ext / "warc-samples/warcio/example.arc").read_bytes()
    at = data.index(b"\nhttp://example.com/ ") + 1
    head, record = data[:at], data[at:]
    first, rest = record.split(b"\n", 1)
    out = [head]
    for i in range(3):
        line = first.replace(b"http://example.com/", f"http://example.com/{i}".encode())
        if mangle and i == 1:
            line = line.rsplit(b" ", 1)[0] + b" " + b"9" * 26
        out.append(line + b"\n" + rest.rstrip(b"\n") + b"\n\n")
    return b"".join(out)


def test_mutated_arc_is_one_bad_record_the_file_goes_on_and_later_files_are_read(tmp_path: Path, ext: Path) -> None:
    clean = tmp_path / "clean.arc"
    clean.write_bytes(_three_record_arc(ext, mangle=False))
    urls = [r.url for r in read_warc(clean) if isinstance(r, RawRecord)]
    assert urls == [f"http://example.com/{i}" for i in range(3)]  # the built file is a valid ARC
    arc = tmp_path / "mutated.arc"
    arc.write_bytes(_three_record_arc(ext, mangle=True))
    good = tmp_path / "after.jsonl"
    good.write_text(json.dumps({"text": "fine", "url": "https://b.example/"}) + "\n")
    with Store.open(tmp_path / "s.duckdb") as store:
        report = api.ingest(store, [(arc, "a", FieldMap()), (good, "a", FieldMap())])
        urls = store.query("SELECT url FROM documents ORDER BY url").column(0).to_pylist()
    assert urls == ["http://example.com/0", "http://example.com/2", "https://b.example/"]
    (bad,) = report.bad_records
    assert "unreadable ARC data" in bad["reason"] and "OverflowError" in bad["reason"]
    assert not report.failed and report.files[1].documents_new == 1


def test_garbage_between_warc_records_is_one_bad_record_and_reading_goes_on(tmp_path: Path) -> None:
    records = [warc_record(f"https://a.example/{i}", html_response(f"<p>{i}</p>".encode()), n=i) for i in range(4)]
    for gzipped, junk in ((False, b"GARBAGE LINE\r\n"), (True, gzip.compress(b"not a WARC record\r\n"))):
        path = tmp_path / f"junk.warc{'.gz' if gzipped else ''}"
        path.write_bytes(warc_file(records[:2], gzipped) + junk + warc_file(records[2:], gzipped))
        items = list(read_warc(path))
        assert [i.url for i in items if isinstance(i, RawRecord)] == [f"https://a.example/{i}" for i in range(4)]
        assert [type(i).__name__ for i in items].count("BadRecord") == 1


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"text": f"row {i} words", "url": f"https://s.example/{i}"} for i in range(start, start + n)]


def test_a_parquet_folder_with_a_corrupt_shard_ingests_the_good_ones(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(_rows(5)), folder / "part-0.parquet")
    (folder / "part-1.parquet").write_bytes(b"PAR1 this is not parquet at all PAR1")
    pq.write_table(pa.Table.from_pylist(_rows(4, 5)), folder / "part-2.parquet")
    with Store.open(tmp_path / "s.duckdb") as store:
        report = api.ingest(store, [(folder, "ds", FieldMap())])
        assert store.count("documents") == 9 and not report.failed
    assert [b["where"] for b in report.bad_records] == ["ds/part-1.parquet"]


def test_a_truncated_arrow_shard_keeps_its_whole_rows_and_names_the_shard(tmp_path: Path) -> None:
    folder = tmp_path / "saved" / "train"
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(_rows(300))
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=100):
            writer.write_batch(batch)
    data = sink.getvalue()
    (folder / "data-00000-of-00002.arrow").write_bytes(data[: len(data) * 3 // 4])
    with pa.ipc.new_stream(sink := io.BytesIO(), table.schema) as writer:
        writer.write_table(pa.Table.from_pylist(_rows(7, 1000)))
    (folder / "data-00001-of-00002.arrow").write_bytes(sink.getvalue())
    with Store.open(tmp_path / "s.duckdb") as store:
        report = api.ingest(store, [(tmp_path / "saved", "hf", FieldMap())])
        stored = store.count("documents")
    assert not report.failed and stored == 200 + 7  # two whole batches of the cut shard, all of the other
    (bad,) = report.bad_records
    assert bad["where"] == "saved/train/data-00000-of-00002.arrow:200" and "unreadable data" in bad["reason"]


def test_a_parquet_file_without_a_text_column_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "no-text.parquet"
    pq.write_table(pa.Table.from_pylist([{"url": f"https://x.example/{i}", "n": i} for i in range(5000)]), path)
    with Store.open(tmp_path / "s.duckdb") as store:
        report = api.ingest(store, [(path, "x", FieldMap())])
        raw = store.query("SELECT errors FROM runs WHERE run_id = ?", [report.run_id]).column(0)[0].as_py()
    errors = json.loads(raw)
    assert len(report.failed) == 1 and "no text column" in report.failed[0]["reason"]
    assert len(errors) == 1


def test_run_errors_keep_the_first_100_and_counts_per_reason(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    lines = [json.dumps({"text": "ok", "url": "https://x.example/"})]
    lines += ["{not json"] * 3000 + [json.dumps({"url": "https://x.example/no-text"})] * 2000
    path.write_text("\n".join(lines) + "\n")
    with Store.open(tmp_path / "s.duckdb") as store:
        report = api.ingest(store, [(path, "x", FieldMap())])
        raw = store.query("SELECT errors FROM runs WHERE run_id = ?", [report.run_id]).column(0)[0].as_py()
    errors = json.loads(raw)
    assert len(errors) == 101 and len(raw) < 50_000
    assert errors[-1] == {"omitted": 4900, "total": 5000, "by_reason": {"invalid JSON": 3000, "no text field": 2000}}
    assert len(report.files[0].bad) == 5000 and len(list(report.files[0].bad)) == 100


def _arc_members(data: bytes, gzipped: bool) -> bytes:
    """An ARC file as written, or gzipped one member per record as `.arc.gz` files are."""
    if not gzipped:
        return data
    starts = [0, *(m + 1 for m in range(len(data)) if data.startswith(b"\nhttp://example.com/", m))]
    return b"".join(gzip.compress(data[a:b]) for a, b in zip(starts, [*starts[1:], len(data)], strict=True))


@pytest.mark.parametrize("gzipped", [False, True], ids=["arc", "arc.gz"])
@pytest.mark.parametrize("percent", [50, 90])
def test_a_cut_arc_record_is_a_bad_record_never_stored(tmp_path: Path, ext: Path, percent: int, gzipped: bool) -> None:
    """warcio hands over what there is of an ARC record the file ends inside: the reader compares
    it with the length the ARC header declares, as for a WARC's Content-Length."""
    data = _three_record_arc(ext, mangle=False)
    whole = _arc_members(data, gzipped)
    last = len(_arc_members(data[: data.rindex(b"\nhttp://example.com/2 ") + 1], gzipped))  # its offset
    path = tmp_path / ("cut.arc.gz" if gzipped else "cut.arc")
    path.write_bytes(whole[: last + (len(whole) - last) * percent // 100])  # the file cut inside it
    with Store.open(tmp_path / "s.duckdb") as store:
        report = ingest_file(store, path, "a")
        urls = store.query("SELECT url FROM documents ORDER BY url").column(0).to_pylist()
    assert urls == ["http://example.com/0", "http://example.com/1"]
    (bad,) = report.bad
    assert bad.locator == f"{path.name}#{last}" and "truncated record" in bad.reason, bad


def test_an_arc_record_cut_before_the_next_header_is_bad_and_the_next_is_read(tmp_path: Path, ext: Path) -> None:
    """The middle record's body cut short with the next record right behind it: its declared
    length runs into the next header. The cut record is a bad record, reading restarts at the
    next header, and the records either side are stored whole."""
    data = _three_record_arc(ext, mangle=False)
    mid, last = data.index(b"\nhttp://example.com/1 ") + 1, data.index(b"\nhttp://example.com/2 ") + 1
    path = tmp_path / "overrun.arc"
    path.write_bytes(data[: mid + (last - mid) // 2] + b"\n" + data[last:])
    whole = {r.url: r.payload for r in read_warc(_write(tmp_path / "whole.arc", data)) if isinstance(r, RawRecord)}
    items = list(read_warc(path))
    bad = [i for i in items if isinstance(i, BadRecord)]
    good = [i for i in items if isinstance(i, RawRecord)]
    assert [b.locator for b in bad] == [f"overrun.arc#{mid}"] and "next ARC header starts inside" in bad[0].reason
    assert [(r.url, r.payload) for r in good] == [
        (u, whole[u]) for u in ("http://example.com/0", "http://example.com/2")
    ]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_every_compression_the_warc_reader_accepts_ends_a_cut_file_with_a_bad_record(tmp_path: Path, ext: Path) -> None:
    """WARC_SUFFIXES: plain, gzip, lz4 (FastWARC; zstd is not among them). A real WARC of each,
    cut at 50 %: the last item is a bad record naming the file, every record before it is one the
    whole file also holds."""
    from scanner.corpus.warc import WARC_SUFFIXES, iter_entries

    gz = (ext / "warc-samples/resiliparse/warcfile.warc.gz").read_bytes()
    sources = {
        ".warc": gzip.decompress(gz),
        ".warc.gz": gz,
        ".warc.lz4": (ext / "warc-samples/resiliparse/block-sized-records.warc.lz4").read_bytes(),
    }
    assert set(sources) == set(WARC_SUFFIXES)
    for suffix, data in sources.items():
        whole = [(e.offset, e.payload) for e in iter_entries(_write(tmp_path / f"whole{suffix}", data))]
        items = list(iter_entries(_write(tmp_path / f"cut{suffix}", data[: len(data) // 2])))
        assert isinstance(items[-1], BadRecord) and items[-1].locator.startswith(f"cut{suffix}#"), suffix
        assert [(e.offset, e.payload) for e in items[:-1]] == whole[: len(items) - 1], suffix
