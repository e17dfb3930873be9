"""JSONL reader: plain, gzip or zstd, one JSON object per line, streamed."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import zstandard

from scanner.corpus.fields import FieldMap, record_from_mapping
from scanner.corpus.records import BadRecord, RawRecord
from scanner.errors import InputError

SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".ndjson", ".jsonl.zstd")


def _open_text(path: Path) -> io.TextIOBase:
    try:
        raw: IO[bytes] = path.open("rb")
    except OSError as exc:
        raise InputError(str(path), f"cannot open: {exc.strerror or exc}") from exc
    name = path.name.lower()
    if name.endswith(".gz"):
        raw = cast(IO[bytes], gzip.GzipFile(fileobj=raw))
    elif name.endswith((".zst", ".zstd")):
        raw = cast(IO[bytes], zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")


def read_jsonl(path: Path, fields: FieldMap = FieldMap()) -> Iterator[RawRecord | BadRecord | None]:
    with _open_text(path) as fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    yield None
                    continue
                yield _record(path, lineno, line, fields)
        except (OSError, EOFError, UnicodeDecodeError, zlib.error, zstandard.ZstdError) as exc:
            yield BadRecord(f"{path.name}:{lineno + 1}", f"unreadable data: {exc}")


def _record(path: Path, lineno: int, line: str, fields: FieldMap) -> RawRecord | BadRecord:
    locator = f"{path.name}:{lineno}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadRecord(locator, f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return BadRecord(locator, "invalid JSON: nested too deeply to read")
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        return BadRecord(locator, f"invalid JSON: {exc}")
    try:
        return record_from_mapping(locator, obj, fields)
    except (ValueError, UnicodeError, RecursionError) as exc:  # lone surrogates, huge numbers as text
        return BadRecord(locator, f"unusable record: {type(exc).__name__}: {exc}")
