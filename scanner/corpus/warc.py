"""WARC reader: response and resource records, streamed with FastWARC (constant memory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from scanner.corpus.records import BadRecord, RawRecord
from scanner.errors import InputError

_WANTED = WarcRecordType.response | WarcRecordType.resource


def read_warc(path: Path) -> Iterator[RawRecord | BadRecord]:
    """Yield one RawRecord per response/resource record; a robots.txt capture is tagged as such.

    A record that breaks mid-file ends the file with a BadRecord naming its offset: what was
    read before it stays valid.
    """
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError(str(path), f"cannot open: {exc.strerror or exc}") from exc
    with stream:
        last = 0
        try:
            for rec in ArchiveIterator(stream, record_types=_WANTED, parse_http=True):
                last = rec.stream_pos
                locator = f"{path.name}#{rec.stream_pos}"
                url = (rec.headers.get("WARC-Target-URI") or "").strip().strip("<>") or None
                http = rec.http_headers if rec.is_http else None
                headers = tuple((k, v) for k, v in http.items()) if http is not None else ()
                status = http.status_code if http is not None else None
                ctype = rec.http_content_type if http is not None else rec.headers.get("Content-Type")
                payload = rec.reader.read()
                kind = "robots.txt" if url and _is_robots_url(url) else "document"
                yield RawRecord(
                    locator=locator,
                    url=url,
                    fetched_at=rec.record_date,
                    payload=payload,
                    content_type=ctype,
                    http_status=status,
                    headers=headers,
                    record_id=rec.record_id,
                    kind=kind,
                )
        except (OSError, ValueError) as exc:
            yield BadRecord(f"{path.name}#{last}", f"unreadable WARC data after this offset: {exc}")


def _is_robots_url(url: str) -> bool:
    tail = url.split("://", 1)[-1]
    return "/" in tail and tail.split("/", 1)[1].split("?", 1)[0] == "robots.txt"
