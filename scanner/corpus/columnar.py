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
    row = 0
    for batch in batches:
        for obj in batch.to_pylist():
            yield record_from_mapping(f"{label}:{row}", obj, fields)
            row += 1


def _columns(schema: pa.Schema, fields: FieldMap) -> list[str]:
    return [name for name in schema.names if name in fields.top_level()]


def read_parquet(
    path: Path, fields: FieldMap = FieldMap(), label: str | None = None
) -> Iterator[RawRecord | BadRecord]:
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(str(path), f"not a readable Parquet file: {exc}") from exc
    yield from _rows(pf.iter_batches(BATCH_ROWS, columns=_columns(pf.schema_arrow, fields)), label or path.name, fields)


def read_arrow(path: Path, fields: FieldMap = FieldMap(), label: str | None = None) -> Iterator[RawRecord | BadRecord]:
    """An Arrow IPC file: the stream format `save_to_disk` writes, or the random-access format."""
    try:
        source = pa.memory_map(str(path))
        try:
            reader = pa.ipc.open_stream(source)
            batches: Iterator[pa.RecordBatch] = iter(reader)
        except pa.ArrowInvalid:
            file_reader = pa.ipc.open_file(source)
            batches = (file_reader.get_batch(i) for i in range(file_reader.num_record_batches))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(str(path), f"not a readable Arrow file: {exc}") from exc
    wanted = set(fields.top_level())
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
        yield from reader(shard, fields, label)
