"""WARC and ARC readers: every record streamed with its offset, HTTP responses decoded.

WARC (plain, gzip per record, lz4) goes through FastWARC, a Rust-core reader several times faster
than warcio; HTTP is parsed by our tolerant parser (corpus/http.py) rather than FastWARC's,
which misreads LF-only headers (ClueWeb). ARC files go through warcio, which converts them.
"""

from __future__ import annotations

import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from scanner.corpus.http import HttpResponse, parse_http_response
from scanner.corpus.records import BadRecord, RawRecord
from scanner.errors import InputError

MAX_RECORD_BYTES = 256 << 20  # a larger record is reported and skipped, never loaded
WARC_SUFFIXES = (".warc", ".warc.gz", ".warc.lz4")
ARC_SUFFIXES = (".arc", ".arc.gz")
_DOCUMENT_TYPES = ("response", "resource")


@dataclass(frozen=True, slots=True)
class WarcEntry:
    """One archive record of any type, as a listing shows it."""

    offset: int
    type: str  # warcinfo, request, response, resource, revisit, metadata, ...
    target_uri: str | None
    date: datetime | None
    record_id: str | None
    http: HttpResponse | None  # for HTTP responses
    payload: bytes  # the decoded HTTP body, or the record block for other records
    content_type: str | None


def _clean_uri(uri: str | None) -> str | None:
    if not uri:
        return None
    return uri.strip().strip("<>").replace(" ", "%20") or None


def iter_entries(path: Path) -> Iterator[WarcEntry | BadRecord]:
    """Every record of a WARC or ARC file. Where the archive library loses the record boundary
    (garbage, a mangled header) that is one BadRecord, and reading goes on at the next record
    start found after it; a broken tail ends the file with a BadRecord."""
    name = path.name.lower()
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(str(path), f"cannot open: {exc.strerror or exc}") from exc
    is_arc = name.endswith(ARC_SUFFIXES)
    read = _arc_entries if is_arc else _warc_entries
    boundary = _boundary_finder(path, name, is_arc)
    with stream:
        start, reported = 0, False
        while True:
            lost: _Lost | None = None
            yielded = False
            for item in read(path, stream, start):
                if isinstance(item, _Lost):
                    lost = item
                    break
                yielded = True
                yield item
            if lost is None:
                return
            if yielded or not reported:  # a restart that fails at once is the same bad region
                yield BadRecord(f"{path.name}#{lost.offset}", lost.reason)
                reported = True
            restart = boundary(lost.offset + 1) if boundary else None
            if restart is None or restart <= lost.offset:
                return
            start = restart


@dataclass(frozen=True, slots=True)
class _Lost:
    """The archive library failed after `offset`: the reader restarts at the next boundary."""

    offset: int
    reason: str


_WARC_START = re.compile(rb"(?:^|\n)(WARC/1\.[01]\r?\n)")
_ARC_START = re.compile(rb"\n([A-Za-z][A-Za-z0-9+.-]*:\S* \S+ \d{14} \S* \d+\n)")
_GZIP_START = b"\x1f\x8b\x08"


def _boundary_finder(path: Path, name: str, is_arc: bool):
    """A function: offset -> the first record start at or after it (None when there is none)."""
    if name.endswith(".lz4"):
        return None

    def find(offset: int) -> int | None:
        try:
            with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                if name.endswith(".gz"):
                    at = mm.find(_GZIP_START, offset)
                    return None if at < 0 else at
                found = (_ARC_START if is_arc else _WARC_START).search(mm, max(offset - 1, 0))
                return None if found is None else found.start(1)
        except (OSError, ValueError):  # an empty file cannot be mapped
            return None

    return find


def _warc_entries(path: Path, stream, start: int) -> Iterator[WarcEntry | BadRecord | _Lost]:
    """Records in file order from `start`. The last one is held back until the file is known to
    end whole: a record cut short (block shorter than its Content-Length, gzip member without its
    end) is a BadRecord, never a document."""
    stream.seek(start)
    last = start
    held: WarcEntry | None = None
    try:
        for rec in ArchiveIterator(stream, parse_http=False, record_types=WarcRecordType.any_type):
            if held is not None:
                yield held
                held = None
            last = rec.stream_pos
            where = f"{path.name}#{last}"
            if rec.content_length > MAX_RECORD_BYTES:
                yield BadRecord(where, f"record of {rec.content_length} bytes skipped (limit {MAX_RECORD_BYTES})")
                continue
            block = rec.reader.read()
            if cut := _cut_short(len(block), rec.content_length, "Content-Length"):
                yield BadRecord(where, cut)
                continue
            try:
                held = _entry(rec, last, block)
            except Exception as exc:  # one bad record never ends the file
                yield BadRecord(where, f"unreadable record: {type(exc).__name__}: {exc}")
    except Exception as exc:  # whatever the archive library raises: read on at the next record
        if held is not None:
            yield held
        yield _Lost(last, f"unreadable WARC data after this offset: {exc}")
        return
    if held is not None:
        problem = _gzip_tail_problem(path, last) if path.name.lower().endswith(".gz") else None
        yield held if problem is None else BadRecord(f"{path.name}#{last}", f"truncated record: {problem}")


def _cut_short(got: int, declared: int, field: str) -> str | None:
    """Why a record whose block ended before the length its header declares is not stored (the
    file ends inside it), or None when it is whole: one rule for WARC and ARC."""
    return f"truncated record: {got} of the {declared} bytes its {field} declares" if got < declared else None


def _entry(rec, offset: int, block: bytes) -> WarcEntry:
    kind = str(rec.record_type).rsplit(".", 1)[-1]
    warc_type = rec.headers.get("Content-Type") or ""
    http = None
    if kind in ("response", "revisit") and ("application/http" in warc_type or block[:5].upper() == b"HTTP/"):
        http = parse_http_response(block)
    payload = http.body if http else block
    ctype = http.header("Content-Type") if http else (warc_type or None)
    return WarcEntry(
        offset,
        kind,
        _clean_uri(rec.headers.get("WARC-Target-URI")),
        rec.record_date,
        rec.record_id,
        http,
        payload,
        ctype,
    )


def _gzip_tail_problem(path: Path, offset: int) -> str | None:
    """Why the gzip member holding the last record is not whole, or None when it is.

    Per-record gzip (the WARC norm) starts a member at the record's offset; a file compressed
    as one member is checked from its start. Output is discarded as it streams.
    """
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            if fh.read(2) != b"\x1f\x8b":
                fh.seek(0)
            else:
                fh.seek(offset)
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while chunk := fh.read(1 << 20):
                data = chunk
                while data and not d.eof:
                    d.decompress(data, 1 << 20)
                    data = d.unconsumed_tail
                if d.eof:
                    return None
    except (OSError, zlib.error) as exc:
        return f"gzip data of the last record unreadable: {exc}"
    return "the gzip member of the last record ends early"


def _arc_entries(path: Path, stream, start: int) -> Iterator[WarcEntry | BadRecord | _Lost]:
    """ARC records via warcio from `start`. A record whose headers do not convert is one
    BadRecord; when warcio itself fails, the reader restarts at the next ARC header line.

    A record cut short is never a document (warcio hands over what there is): the file ends
    before the length its header declares (`_cut_short`, as for WARC), or the next record's
    header line starts inside it, where reading restarts."""
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    stream.seek(start)
    offset = start
    try:
        records = WarcioIterator(stream, arc2warc=True)
        for rec in records:
            body = rec.content_stream().read(MAX_RECORD_BYTES)
            offset = start + records.get_record_offset()  # after reading: it consumes the record
            if cut := _arc_cut_short(rec, body):
                yield _Lost(offset, cut)  # reading restarts at the next ARC header line, if any
                return
            try:
                yield _arc_entry(rec, offset, body)
            except (ValueError, OverflowError, AttributeError, TypeError) as exc:
                yield BadRecord(f"{path.name}#{offset}", f"unreadable ARC record: {type(exc).__name__}: {exc}")
    except Exception as exc:  # warcio fails on mutated ARC headers with many types
        yield _Lost(offset, f"unreadable ARC data after this offset: {type(exc).__name__}: {exc}")


def _arc_cut_short(rec, body: bytes) -> str | None:
    """Why an ARC record read by warcio is cut short, or None when it is whole."""
    from warcio.limitreader import LimitReader

    raw = rec.raw_stream  # over the length the ARC header declares
    if isinstance(raw, LimitReader):
        while raw.read(1 << 20):  # the rest of a record over MAX_RECORD_BYTES, discarded
            pass
        if cut := _cut_short(raw.tell(), raw.tell() + raw.limit, "ARC header"):
            return cut
    if rec.rec_type != "warcinfo" and _ARC_START.search(body):
        declared = rec.rec_headers.get_header("Content-Length")
        return f"truncated record: the next ARC header starts inside the {declared} bytes its header declares"
    return None


def _arc_entry(rec, offset: int, body: bytes) -> WarcEntry:
    headers = rec.http_headers
    http = None
    if headers is not None and rec.rec_type == "response":
        code = headers.get_statuscode()
        status = int(code) if code and len(code) == 3 and code.isascii() and code.isdigit() else None
        http = HttpResponse(status, tuple(headers.headers), body)
    date_text = rec.rec_headers.get_header("WARC-Date")
    date = datetime.fromisoformat(date_text.replace("Z", "+00:00")).astimezone(UTC) if date_text else None
    ctype = http.header("Content-Type") if http else rec.rec_headers.get_header("Content-Type")
    return WarcEntry(
        offset,
        rec.rec_type,
        _clean_uri(rec.rec_headers.get_header("WARC-Target-URI")),
        date,
        rec.rec_headers.get_header("WARC-Record-ID"),
        http,
        body,
        ctype,
    )


def read_warc(path: Path) -> Iterator[RawRecord | BadRecord | None]:
    """Documents (response and resource records) and robots.txt captures.

    Other records (requests, metadata, warcinfo, revisits) yield None: they count as consumed
    for the resume checkpoint but carry no document.
    """
    for entry in iter_entries(path):
        if isinstance(entry, BadRecord):
            yield entry
            continue
        if entry.type not in _DOCUMENT_TYPES:
            yield None
            continue
        url = entry.target_uri
        kind = "robots.txt" if url and _is_robots_url(url) else "document"
        yield RawRecord(
            locator=f"{path.name}#{entry.offset}",
            url=url,
            fetched_at=entry.date,
            payload=entry.payload,
            content_type=entry.content_type,
            http_status=entry.http.status if entry.http else None,
            headers=entry.http.headers if entry.http else (),
            record_id=entry.record_id,
            kind=kind,
        )


def _is_robots_url(url: str) -> bool:
    tail = url.split("://", 1)[-1]
    return "/" in tail and tail.split("/", 1)[1].split("?", 1)[0] == "robots.txt"
