"""Columnar readers: Parquet files and Hugging Face datasets on disk, streamed in batches.

A Hugging Face dataset saved with `save_to_disk` is a folder of Arrow IPC stream shards
(`data-00000-of-00001.arrow`, one folder per split for a DatasetDict); a hub-style dataset is a
folder of Parquet shards. Both are read as they lie, nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from scanner.corpus.fields import FieldMap, record_from_mapping
from scanner.corpus.records import BadRecord, RawRecord
from scanner.errors import InputError

BATCH_ROWS = 1024


def _rows(batches: Iterator[pa.RecordBatch], label: str, fields: FieldMap) -> Iterator[RawRecord | BadRecord]:
    """Rows as records; data that stops decoding (a cut or corrupt shard) ends this shard with
    one BadRecord naming the row it stopped at."""
    row = 0
    try:
        for batch in batches:
            for obj in batch.to_pylist():
                yield record_from_mapping(f"{label}:{row}", obj, fields)
                row += 1
    except (OSError, pa.ArrowException) as exc:
        yield BadRecord(f"{label}:{row}", f"unreadable data from this row on: {exc}")


def _columns(schema: pa.Schema, fields: FieldMap, path: Path) -> list[str]:
    """The columns to load; a file without any text or html column is one error, not a bad
    record per row."""
    wanted = [name for name in schema.names if name in fields.top_level()]
    texts = {p.split(".", 1)[0] for p in fields.text + fields.html}
    if not texts & set(wanted):
        raise InputError(
            str(path),
            f"no text column (looked for {', '.join(fields.text + fields.html)}; "
            f"has {', '.join(schema.names[:20]) or 'no columns'})",
        )
    return wanted


def read_parquet(
    path: Path, fields: FieldMap = FieldMap(), label: str | None = None
) -> Iterator[RawRecord | BadRecord]:
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(str(path), f"not a readable Parquet file: {exc}") from exc
    columns = _columns(pf.schema_arrow, fields, path)
    yield from _rows(pf.iter_batches(BATCH_ROWS, columns=columns), label or path.name, fields)


def read_arrow(path: Path, fields: FieldMap = FieldMap(), label: str | None = None) -> Iterator[RawRecord | BadRecord]:
    """An Arrow IPC file: the stream format `save_to_disk` writes, or the random-access format."""
    try:
        source = pa.memory_map(str(path))
        try:
            reader = pa.ipc.open_stream(source)
            schema = reader.schema
            batches: Iterator[pa.RecordBatch] = iter(reader)
        except pa.ArrowInvalid:
            file_reader = pa.ipc.open_file(source)
            schema = file_reader.schema
            batches = (file_reader.get_batch(i) for i in range(file_reader.num_record_batches))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(str(path), f"not a readable Arrow file: {exc}") from exc
    wanted = set(_columns(schema, fields, path))
    yield from _rows(
        (b.select([n for n in b.schema.names if n in wanted]) for b in batches), label or path.name, fields
    )


def shards(folder: Path) -> list[Path]:
    """The data shards of a dataset folder, in a stable order (split folders, then file names)."""
    found = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".arrow", ".parquet") and not p.name.startswith(("cache-", "."))
    )
    return found


def read_dataset_dir(folder: Path, fields: FieldMap = FieldMap()) -> Iterator[RawRecord | BadRecord]:
    files = shards(folder)
    if not files:
        raise InputError(
            str(folder),
            "no .arrow or .parquet shards in this folder (a Hugging Face "
            "dataset saved with save_to_disk, or a folder of shards)",
        )
    for shard in files:
        label = str(shard.relative_to(folder.parent))
        reader = read_arrow if shard.suffix == ".arrow" else read_parquet
        try:
            yield from reader(shard, fields, label)
        except InputError as exc:  # one bad shard is one bad record: the others are read
            yield BadRecord(label, exc.problem)
