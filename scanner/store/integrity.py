"""Is a store file whole? A cheap check of the blocks DuckDB uses against the file's size.

DuckDB opens a truncated file without complaint and fails only when a query reaches a missing
block, maybe much later, maybe never for `count(*)`. After its three 4 KiB headers the file holds
fixed-size blocks; blocks in use have distinct ids, so a whole file is at least
12 KiB + used blocks x block size long (free blocks, e.g. ones DuckDB cut off the end at a
checkpoint, need not exist). Bit flips are caught by DuckDB's block checksums when a block is read
(`full_scan` reads them all).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from scanner.errors import StoreError

HEADERS = 3 * 4096  # DuckDB's main header and two database headers


@dataclass(frozen=True)
class FileCheck:
    size: int
    expected: int  # at least this many bytes

    @property
    def truncated(self) -> bool:
        return self.size < self.expected


def check_file(path: str, con) -> FileCheck | None:
    """The file's size against what its open DuckDB connection `con` says is in use (None: nothing
    persisted yet)."""
    rows = con.execute("SELECT used_blocks, block_size FROM pragma_database_size() LIMIT 1").fetchall()
    if not rows or not rows[0][0]:
        return None
    used, block_size = int(rows[0][0]), int(rows[0][1])
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return FileCheck(size, HEADERS + used * block_size)


def require_whole(path: str, con) -> None:
    found = check_file(path, con)
    if found is not None and found.truncated:
        raise StoreError(
            f"{path}: truncated store: {found.size:,} bytes, but its blocks in use need at least "
            f"{found.expected:,} (the file was cut, e.g. by a full disk or an interrupted copy); "
            "restore it from a backup"
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
