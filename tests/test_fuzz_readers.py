"""Bounded fuzzing of the corpus readers (issue #17): whatever the bytes, a reader yields records,
bad records or None, never raises, and decoded bodies stay under the cap. A few seconds each;
seeded from the real fixtures in ../shared/ext (mutated, cut, spliced)."""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path

import brotli
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.corpus.fields import FieldMap
from scanner.corpus.http import parse_http_response
from scanner.corpus.jsonl import read_jsonl
from scanner.corpus.records import BadRecord, RawRecord
from scanner.corpus.warc import read_warc

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
CAP = 1 << 16


def _fixture(name: str) -> bytes:
    import os

    root = Path(os.environ.get("PROVENANCE_EXT") or Path(__file__).resolve().parents[2] / "shared/ext")
    path = root / "warc-samples" / name
    if not path.exists():
        pytest.skip(f"public WARC fixtures absent ({path}); set PROVENANCE_EXT")
    return path.read_bytes()


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """The seed with a few flips, insertions, deletions, a cut or a repeated slice."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "cut", "repeat"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "cut":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
    return bytes(data)


def _read_all(suffix: str, data: bytes) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        items = list(read_warc(path) if ".warc" in suffix or ".arc" in suffix else read_jsonl(path, FieldMap()))
    assert all(i is None or isinstance(i, RawRecord | BadRecord) for i in items)
    return items


_HEADER_LINES = st.lists(
    st.sampled_from(
        [
            b"Transfer-Encoding: chunked",
            b"Content-Encoding: gzip",
            b"Content-Encoding: br",
            b"Content-Encoding: zstd",
            b"Content-Encoding: deflate",
            b"Content-Type: text/html",
            b"X-Robots-Tag: noai",
            b" folded",
            b"junk without colon",
        ]
    ),
    max_size=5,
)


@FUZZ
@given(
    status=st.sampled_from(
        [b"HTTP/1.1 200 OK", b"HTTP/1.0 \xb200", b"HTTP/2 -1", b"", b"ICY 200 OK", b"HTTP/1.1 99999"]
    ),
    headers=_HEADER_LINES,
    sep=st.sampled_from([b"\r\n", b"\n"]),
    body=st.one_of(
        st.binary(max_size=512),
        st.sampled_from([gzip.compress(b"x" * 5000), brotli.compress(b"y" * 5000), zlib.compress(b"z" * 5000)]),
        st.builds(
            lambda size, data: size + b"\r\n" + data + b"\r\n0\r\n\r\n",
            st.sampled_from([b"-3", b"5", b"ffffffffffffffff", b"0x2", b"1;ext", b" 7 "]),
            st.binary(max_size=64),
        ),
    ),
)
def test_http_block_parser_never_raises(status: bytes, headers: list, sep: bytes, body: bytes) -> None:
    block = sep.join([status, *headers]) + sep + sep + body
    r = parse_http_response(block, max_decoded=CAP)
    assert r.status is None or 100 <= r.status <= 999
    assert len(r.body) <= max(CAP, len(block))


@FUZZ
@given(data=st.binary(max_size=2048))
def test_http_block_parser_on_any_bytes(data: bytes) -> None:
    r = parse_http_response(data, max_decoded=CAP)
    assert len(r.body) <= max(CAP, len(data))


@pytest.mark.parametrize(
    "name", ["warcio/example.warc.gz", "warcio/example.warc", "warcio/example-iana.org-chunked.warc"]
)
def test_warc_reader_never_raises_on_mutated_archives(name: str) -> None:
    _mutate_archive(name, "warc")


@pytest.mark.parametrize("name", ["warcio/example.arc", "warcio/example.arc.gz"])
def test_arc_reader_never_raises_on_mutated_archives(name: str) -> None:
    _mutate_archive(name, "arc")


def _mutate_archive(name: str, kind: str) -> None:
    """Mutations of one real archive, read as a `.{kind}[.gz]` file: the reader never raises."""
    seed = _fixture(name)
    suffix = f".{kind}.gz" if name.endswith(".gz") else f".{kind}"

    @FUZZ
    @given(data=mutated(seed))
    def run(data: bytes) -> None:
        _read_all(suffix, data)

    run()


_JSON_LINES = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.sampled_from(
            [
                '{"text": "ok", "url": "https://a.example/"}',
                '{"text": "\\ud800"}',
                '{"text": 1' + "0" * 5000 + "}",
                "[" * 5000,
                '{"text": "x", "date": "not a date"}',
                '{"text": "x", "date": 1e308}',
                '{"text": "x", "date": -99999999999999}',
                '{"html": "<p>h</p>", "url": 5}',
                "null",
            ]
        ),
    ),
    max_size=8,
)


@FUZZ
@given(lines=_JSON_LINES, compress=st.booleans())
def test_jsonl_reader_never_raises(lines: list[str], compress: bool) -> None:
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    data = gzip.compress(raw) if compress else raw
    _read_all(".jsonl.gz" if compress else ".jsonl", data)


@FUZZ
@given(data=mutated(gzip.compress(b'{"text": "a"}\n{"text": "b"}\n' * 20)))
def test_jsonl_reader_never_raises_on_mutated_gzip(data: bytes) -> None:
    _read_all(".jsonl.gz", data)
