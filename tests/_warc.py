"""Building real WARC files for tests: records with exact Content-Length, plain or gzip per record."""

from __future__ import annotations

import gzip


def warc_record(uri: str, http_block: bytes, *, date: str = "2024-03-01T10:00:00Z", n: int = 0) -> bytes:
    head = (
        "WARC/1.0\r\n"
        "WARC-Type: response\r\n"
        f"WARC-Target-URI: {uri}\r\n"
        f"WARC-Date: {date}\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{n:012d}>\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http_block)}\r\n\r\n"
    ).encode()
    return head + http_block + b"\r\n\r\n"


def html_response(body: bytes, status_line: bytes = b"HTTP/1.1 200 OK", extra: bytes = b"") -> bytes:
    return status_line + b"\r\nContent-Type: text/html\r\n" + extra + b"\r\n" + body


def warc_file(records: list[bytes], gzipped: bool) -> bytes:
    return b"".join(gzip.compress(r) for r in records) if gzipped else b"".join(records)
