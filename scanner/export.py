"""`provenance export`: query results and the kept (or dropped) corpus, written to a file by our
code (pyarrow for Parquet and CSV, json for JSON Lines), never by DuckDB: the user's SQL stays in
the sandbox that reaches no file.

A file is written next to its target under a temporary name and renamed when complete, so a
failed export (disk full, read-only folder, bad SQL midway) never leaves a half file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from scanner.errors import ScannerError


class Format(Enum):
    PARQUET = ".parquet"
    CSV = ".csv"
    JSONL = ".jsonl"

    @classmethod
    def of(cls, path: Path, allowed: tuple[Format, ...] | None = None) -> Format:
        allowed = allowed or tuple(cls)
        for f in allowed:
            if path.name.lower().endswith(f.value):
                return f
        names = "|".join(f.value for f in allowed)
        raise ScannerError(f"{path}: unknown output format; name the file *{names}")


@dataclass(frozen=True)
class Written:
    path: str
    format: str
    rows: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "rows": self.rows, "bytes": self.bytes}


def _oserror(path: Path, exc: OSError) -> ScannerError:
    return ScannerError(f"{path}: cannot write: {exc.strerror or exc}")


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file handle on a temporary sibling of `path`, renamed over it when the block ends
    without error; any OSError (read-only folder, disk full) is one ScannerError naming `path`."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise _oserror(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; an export is a normal file
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise _oserror(path, exc) from exc
    except BaseException:
        _remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(tmp: str) -> None:
    with suppress(OSError):
        os.unlink(tmp)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def write_batches(
    path: Path,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    *,
    json_columns: frozenset[str] = frozenset(),
    allowed: tuple[Format, ...] | None = None,
) -> Written:
    """Stream record batches into `path` (its suffix names the format). JSON columns are nested
    JSON in JSON Lines, text elsewhere."""
    fmt = Format.of(path, allowed)
    rows = 0
    try:
        rows = _write(fmt, path, schema, batches, json_columns)
    except pa.ArrowException as exc:
        raise ScannerError(f"{path}: cannot write as {fmt.value.lstrip('.')}: {exc}") from exc
    return Written(str(path), fmt.value.lstrip("."), rows, path.stat().st_size)


def _write(fmt: Format, path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch], json_columns) -> int:
    rows = 0
    with atomic_file(path) as fh:
        if fmt is Format.PARQUET:
            import pyarrow.parquet as pq

            with pq.ParquetWriter(fh, schema, compression="zstd") as writer:
                for batch in batches:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        elif fmt is Format.CSV:
            import pyarrow.csv as pcsv

            with pcsv.CSVWriter(fh, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        else:
            for batch in batches:
                lines = []
                for row in batch.to_pylist():
                    for c in json_columns:
                        if isinstance(row.get(c), str):
                            row[c] = json.loads(row[c])
                    lines.append(json.dumps(row, default=_jsonable, ensure_ascii=False))
                if lines:
                    fh.write(("\n".join(lines) + "\n").encode("utf-8"))
                rows += batch.num_rows
    return rows
