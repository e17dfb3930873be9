"""JSONL reader (plain or gzip) with a field mapping that fits common dataset layouts."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.corpus.records import BadRecord, RawRecord
from scanner.errors import InputError


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where each fact lives in a record; dotted paths reach into nested objects.

    Defaults fit FineWeb / C4 / Dolma / RedPajama style records.
    """

    url: tuple[str, ...] = ("url", "metadata.url", "URL")
    text: tuple[str, ...] = ("text", "content", "raw_content")
    html: tuple[str, ...] = ("html",)
    date: tuple[str, ...] = ("date", "timestamp", "metadata.date", "created", "added")
    id: tuple[str, ...] = ("id", "doc_id")


def _get(record: dict[str, Any], paths: tuple[str, ...]) -> Any:
    for path in paths:
        node: Any = record
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node
    return None


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 strings or Unix seconds; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        dt = datetime.fromisoformat(value.strip())
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise ValueError(f"not a date: {value!r}")


def _open_text(path: Path) -> io.TextIOBase:
    try:
        if path.name.endswith(".gz"):
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="\n")
        return path.open("r", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise InputError(str(path), f"cannot open: {exc.strerror or exc}") from exc


def read_jsonl(path: Path, fields: FieldMap = FieldMap()) -> Iterator[RawRecord | BadRecord]:
    with _open_text(path) as fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                yield _record(path, lineno, line, fields)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            yield BadRecord(f"{path.name}:{lineno + 1}", f"unreadable data: {exc}")


def _record(path: Path, lineno: int, line: str, fields: FieldMap) -> RawRecord | BadRecord:
    locator = f"{path.name}:{lineno}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadRecord(locator, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(obj, dict):
        return BadRecord(locator, f"expected a JSON object, got {type(obj).__name__}")
    html, text = _get(obj, fields.html), _get(obj, fields.text)
    if html is None and text is None:
        return BadRecord(locator, f"no text field (looked for {', '.join(fields.text + fields.html)})")
    try:
        fetched_at = parse_date(_get(obj, fields.date))
    except (ValueError, OverflowError, OSError) as exc:
        return BadRecord(locator, f"bad date: {exc}")
    url = _get(obj, fields.url)
    rid = _get(obj, fields.id)
    if html is not None:
        return RawRecord(
            locator,
            str(url) if url else None,
            fetched_at,
            str(html).encode("utf-8"),
            content_type="text/html",
            record_id=str(rid) if rid is not None else None,
        )
    return RawRecord(
        locator,
        str(url) if url else None,
        fetched_at,
        str(text).encode("utf-8"),
        content_type="text/plain",
        text=str(text),
        record_id=str(rid) if rid is not None else None,
    )
