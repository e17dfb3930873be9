"""Where each fact lives in a dataset record, and turning one mapping into a RawRecord.

Shared by the JSONL, Parquet and Hugging Face readers, so a field map means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from scanner.corpus.records import BadRecord, RawRecord


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Dotted paths tried in order for each fact. Defaults fit FineWeb, C4, Dolma, RedPajama."""

    url: tuple[str, ...] = ("url", "metadata.url", "URL")
    text: tuple[str, ...] = ("text", "content", "raw_content")
    html: tuple[str, ...] = ("html",)
    date: tuple[str, ...] = ("date", "timestamp", "metadata.date", "created", "added")
    id: tuple[str, ...] = ("id", "doc_id")
    duration: tuple[str, ...] = ("duration", "duration_seconds", "metadata.duration")

    def top_level(self) -> set[str]:
        """The top-level columns a columnar reader needs to load."""
        paths = self.url + self.text + self.html + self.date + self.id + self.duration
        return {p.split(".", 1)[0] for p in paths}


def get_path(record: Mapping[str, Any], paths: tuple[str, ...]) -> Any:
    for path in paths:
        node: Any = record
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node
    return None


def parse_date(value: Any) -> datetime | None:
    """ISO 8601 strings, Unix seconds or datetimes; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        dt = datetime.fromisoformat(value.strip())
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise ValueError(f"not a date: {value!r}")


def record_from_mapping(locator: str, obj: Any, fields: FieldMap) -> RawRecord | BadRecord:
    if not isinstance(obj, Mapping):
        return BadRecord(locator, f"expected a JSON object, got {type(obj).__name__}")
    html, text = get_path(obj, fields.html), get_path(obj, fields.text)
    if html is None and text is None:
        return BadRecord(locator, f"no text field (looked for {', '.join(fields.text + fields.html)})")
    try:
        fetched_at = parse_date(get_path(obj, fields.date))
    except (ValueError, OverflowError, OSError) as exc:
        return BadRecord(locator, f"bad date: {exc}")
    url = get_path(obj, fields.url)
    rid = get_path(obj, fields.id)
    duration = get_path(obj, fields.duration)
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0):
        return BadRecord(locator, f"bad duration {duration!r}: give seconds as a non-negative number")
    url = str(url) if url else None
    rid = str(rid) if rid is not None else None
    if html is not None:
        return RawRecord(
            locator,
            url,
            fetched_at,
            str(html).encode("utf-8"),
            content_type="text/html",
            record_id=rid,
            duration_seconds=duration,
        )
    return RawRecord(
        locator,
        url,
        fetched_at,
        str(text).encode("utf-8"),
        content_type="text/plain",
        text=str(text),
        record_id=rid,
        duration_seconds=duration,
    )
