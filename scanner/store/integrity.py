"""Is a store file whole? A cheap check of the DuckDB file header against the file's size.

DuckDB opens a truncated file without complaint and fails only when a query reaches a missing
block, maybe much later, maybe never for `count(*)`. The file starts with a main header and two
database headers (4 KiB each); the newer database header (higher iteration) holds the number of
blocks and their size, so a whole file is at least 12 KiB + blocks × block size long. Bit flips
are caught by DuckDB's block checksums when a block is read (`full_scan` reads them all).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from scanner.errors import StoreError

HEADER = 4096  # DuckDB's Storage::FILE_HEADER_SIZE
MAGIC = b"DUCK"


@dataclass(frozen=True)
class FileCheck:
    size: int
    expected: int | None  # None: not a file header this check knows how to read

    @property
    def truncated(self) -> bool:
        return self.expected is not None and self.size < self.expected


def check_file(path: str) -> FileCheck:
    """Read the headers of a DuckDB file (no DuckDB, no lock) and the size it should have."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(3 * HEADER)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if size == 0 or head[8:12] != MAGIC:
        return FileCheck(size, None)  # empty (a new store) or not DuckDB: DuckDB says which
    if len(head) < 3 * HEADER:
        return FileCheck(size, 3 * HEADER)
    best = None
    for offset in (HEADER, 2 * HEADER):
        # checksum, iteration, meta block, free list, block count, block allocation size
        _, iteration, _, _, blocks, block_size = struct.unpack_from("<6Q", head, offset)
        if not 0 < block_size <= 1 << 30 or blocks > 1 << 40:
            continue  # an unused (or unknown) header
        if best is None or iteration > best[0]:
            best = (iteration, blocks, block_size)
    if best is None:
        return FileCheck(size, None)
    return FileCheck(size, 3 * HEADER + best[1] * best[2])


def require_whole(path: str) -> None:
    found = check_file(path)
    if found.truncated:
        raise StoreError(
            f"{path}: truncated store: {found.size:,} bytes of {found.expected:,} (the file was cut, e.g. "
            "by a full disk or an interrupted copy); restore it from a backup"
        )


def full_scan(store) -> dict[str, int]:
    """Read every column of every table (each block's checksum is verified on read): rows per
    table, or a StoreError naming the table whose blocks are damaged."""
    tables = (
        store.query(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema = 'main' ORDER BY 1"
        )
        .column(0)
        .to_pylist()
    )
    rows = {}
    for name in tables:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            found = store.query(f"SELECT count(*) AS n, sum(hash(COLUMNS(*))) AS h FROM {quoted}").to_pylist()[0]
        except StoreError as exc:
            raise StoreError(f"{store.path}: table {name} is damaged: {exc}") from exc
        rows[name] = int(found["n"])
    return rows
