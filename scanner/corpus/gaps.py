"""Data gaps a columnar input shows in its schema, said before they turn silently into values.

A Parquet or Arrow column of the wrong type is read anyway (a number as text, an integer date as
Unix seconds); the user is told which column, of which type, and what it became.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.corpus.columnar import shards
from scanner.corpus.fields import FieldMap


def schema_of(path: Path) -> pa.Schema | None:
    """The schema of a Parquet file or of a dataset folder's first shard; None if unreadable."""
    try:
        if path.is_dir():
            found = shards(path)
            if not found:
                return None
            path = found[0]
            if path.suffix == ".arrow":
                source = pa.memory_map(str(path))
                try:
                    return pa.ipc.open_stream(source).schema
                except pa.ArrowInvalid:
                    return pa.ipc.open_file(source).schema
        return pq.read_schema(path)
    except (OSError, pa.ArrowInvalid):
        return None


def schema_notes(path: Path, fields: FieldMap) -> list[str]:
    """Notes on the columns the field map reads: numbers read as text, integer dates as seconds."""
    name = path.name.lower()
    if not (path.is_dir() or name.endswith(".parquet")):
        return []
    schema = schema_of(path)
    if schema is None:
        return []
    notes = []
    for fact, paths in (("text", fields.text), ("url", fields.url), ("id", fields.id), ("date", fields.date)):
        column = next((p for p in paths if "." not in p and p in schema.names), None)
        if column is None:
            continue
        kind = schema.field(column).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
            continue
        if fact == "date":
            if pa.types.is_integer(kind) or pa.types.is_floating(kind):
                notes.append(
                    f"column {column!r} ({kind}) is read as the date in Unix seconds; "
                    "if it holds something else (20240131, milliseconds), give --date-key another field"
                )
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            notes.append(f"column {column!r} ({kind}) is read as the {fact} and stored as text")
    return notes
