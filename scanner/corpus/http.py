"""HTTP responses as archived in WARC/ARC records: status, headers, decoded body. Pure, tolerant.

Archives hold what servers sent, quirks included: LF-only header lines (ClueWeb), chunked bodies,
`Content-Encoding: gzip` on bodies that were stored decoded. Decoding never raises; what could
not be decoded is kept as stored and noted.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import brotli
import zstandard

MAX_DECODED = 64 << 20  # a decompression bomb stops here


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    notes: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


def parse_http_response(block: bytes, max_decoded: int = MAX_DECODED) -> HttpResponse:
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return HttpResponse(None, (), block, ("no HTTP header block",))
    if lf < 0 or (0 <= crlf < lf):
        head, body = block[:crlf], block[crlf + 4 :]
    else:
        head, body = block[:lf], block[lf + 2 :]
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    status = _status(lines[0])
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # obsolete line folding
            k, v = headers[-1]
            headers[-1] = (k, v + " " + line.strip())
        elif ":" in line:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
    notes: list[str] = []
    names = {k.lower(): v.lower() for k, v in headers}
    if "chunked" in names.get("transfer-encoding", ""):
        body = _dechunk(body, notes)
    encoding = names.get("content-encoding", "").strip()
    if encoding and encoding != "identity":
        body = _decode(body, encoding, max_decoded, notes)
    return HttpResponse(status, tuple(headers), body, tuple(notes))


def _status(line: str) -> int | None:
    """The status code of a status line: three ASCII digits (`²00` is digits to Python, not HTTP)."""
    parts = line.split()
    if len(parts) >= 2 and parts[0].upper().startswith("HTTP/"):
        code = parts[1]
        if len(code) == 3 and code.isascii() and code.isdigit():
            return int(code)
    return None


MAX_CHUNK_SIZE_DIGITS = 16  # hex digits of a chunk size; more is not a size any body can hold


def _dechunk(body: bytes, notes: list[str]) -> bytes:
    """Chunked transfer coding removed; what is not valid chunking is kept as stored and noted.

    Every step moves forward through `body` or stops, so any input ends in linear time.
    """
    out: list[bytes] = []
    pos, total = 0, len(body)
    while pos < total:
        eol = body.find(b"\n", pos)
        if eol < 0:
            break
        size_text = body[pos:eol].split(b";", 1)[0].strip()
        if not size_text or len(size_text) > MAX_CHUNK_SIZE_DIGITS or not all(c in _HEX for c in size_text):
            notes.append("chunked encoding declared but body is not validly chunked: kept as stored")
            return body
        size = int(size_text, 16)
        if size == 0:
            return b"".join(out)
        start = eol + 1
        if start + size > total:
            out.append(body[start:])
            notes.append("chunked body ended inside a chunk")
            return b"".join(out)
        out.append(body[start : start + size])
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif body[pos : pos + 1] == b"\n":
            pos += 1
    notes.append("chunked body ended without a last chunk")
    return b"".join(out) if out else body


_HEX = frozenset(b"0123456789abcdefABCDEF")


def _decode(body: bytes, encoding: str, limit: int, notes: list[str]) -> bytes:
    """Every decoder streams and stops at `limit` output bytes: a bomb never expands whole."""
    try:
        if encoding in ("gzip", "x-gzip"):
            out, cut = _zlib(zlib.decompressobj(16 + zlib.MAX_WBITS), body, limit)
        elif encoding == "deflate":
            wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS  # zlib-wrapped or raw
            out, cut = _zlib(zlib.decompressobj(wbits), body, limit)
        elif encoding == "br":
            d = brotli.Decompressor()
            out = d.process(body, output_buffer_limit=limit + 1)
            cut = len(out) > limit or not (d.is_finished() or d.can_accept_more_data())
            out = out[:limit]
        elif encoding == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True) as r:
                out = r.read(limit + 1)
            cut = len(out) > limit
            out = out[:limit]
        else:
            notes.append(f"unknown content-encoding {encoding!r}: kept as stored")
            return body
    except (zlib.error, brotli.error, zstandard.ZstdError):
        notes.append(f"content-encoding {encoding} declared but body is not {encoding}: kept as stored")
        return body
    if cut:
        notes.append(f"decoded body over {limit} bytes: cut")
    return out


def _zlib(d, body: bytes, limit: int) -> tuple[bytes, bool]:
    out = d.decompress(body, limit)
    return out, bool(d.unconsumed_tail)
