"""HTTP responses as archived in WARC/ARC records: status, headers, decoded body. Pure, tolerant.

Archives hold what servers sent, quirks included: LF-only header lines (ClueWeb), chunked bodies,
`Content-Encoding: gzip` on bodies that were stored decoded. Decoding never raises; what could
not be decoded is kept as stored and noted.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import brotli

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
    parts = line.split()
    if len(parts) >= 2 and parts[0].upper().startswith("HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def _dechunk(body: bytes, notes: list[str]) -> bytes:
    out, pos = [], 0
    while True:
        eol = body.find(b"\n", pos)
        if eol < 0:
            break
        size_text = body[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            notes.append("chunked encoding declared but body is not chunked: kept as stored")
            return body
        if size == 0:
            return b"".join(out)
        start = eol + 1
        out.append(body[start : start + size])
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif body[pos : pos + 1] == b"\n":
            pos += 1
    notes.append("chunked body ended without a last chunk")
    return b"".join(out) if out else body


def _decode(body: bytes, encoding: str, limit: int, notes: list[str]) -> bytes:
    try:
        if encoding in ("gzip", "x-gzip"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            d = zlib.decompressobj(zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
        elif encoding == "br":
            out = brotli.decompress(body)
            if len(out) > limit:
                notes.append(f"decoded body over {limit} bytes: cut")
            return out[:limit]
        else:
            notes.append(f"unknown content-encoding {encoding!r}: kept as stored")
            return body
        out = d.decompress(body, limit)
        if d.unconsumed_tail:
            notes.append(f"decoded body over {limit} bytes: cut")
        return out
    except (zlib.error, brotli.error):
        notes.append(f"content-encoding {encoding} declared but body is not {encoding}: kept as stored")
        return body
