"""DuckDB's memory bound for one command: `memory_limit`, and the folder it spills to above it.

Without one DuckDB takes up to 80 % of the machine's RAM for its buffer pool, and a long writer
(ingest, decide, dedup) fills it as the store grows: 2.9 GB at 1M documents, 13.9 GB at 10M. The
store applies the bound to every connection it opens (a store opened with `hold_lock=False`
reconnects for each commit, and a new connection starts from DuckDB's defaults), so one value
holds for the whole run. Values are DuckDB's own syntax, checked by DuckDB before the store opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from scanner.errors import StoreError

# Below this DuckDB fails at once or mid-transaction (the demo's ingest runs out at 16 MB and
# passes at 64 MB), with errors that do not say the limit is the cause.
MIN_BYTES = 95 << 20  # 100MB, which DuckDB holds as 95.3 MiB
_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}


@dataclass(frozen=True, slots=True)
class MemoryLimit:
    """`limit`: e.g. 4GB or 500MiB (None: DuckDB's default). `temp_directory`: where joins, sorts
    and groups spill past it (None: DuckDB's default, `<store>.tmp` beside the store)."""

    limit: str | None = None
    temp_directory: str | None = None

    def __bool__(self) -> bool:
        return bool(self.limit or self.temp_directory)

    def as_args(self) -> dict[str, str]:
        """What a run record keeps of it (only the settings given)."""
        return {k: v for k, v in (("memory_limit", self.limit), ("temp_directory", self.temp_directory)) if v}


class BadMemorySetting(StoreError):
    """A memory limit or temp directory DuckDB would refuse; `setting` names which."""

    def __init__(self, setting: str, value: str, reason: str) -> None:
        self.setting, self.value, self.reason = setting, value, reason
        super().__init__(f"{setting} {value!r}: {reason}")


def checked(memory: MemoryLimit) -> MemoryLimit:
    """`memory` if DuckDB takes it (set on a throwaway in-memory connection) and the temp directory
    is a folder or can be made one; else BadMemorySetting, before any store is opened."""
    if memory.temp_directory:
        folder = Path(memory.temp_directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadMemorySetting("temp_directory", memory.temp_directory, exc.strerror or str(exc)) from None
    con = duckdb.connect(":memory:")
    try:
        apply(con, memory)
        held = in_effect(con)["memory_limit"]
    except duckdb.OutOfMemoryException:  # too small even to read the setting back
        held = "0 bytes"
    finally:
        con.close()
    if memory.limit and _bytes(held) < MIN_BYTES:
        raise BadMemorySetting(
            "memory_limit", memory.limit, "too small for DuckDB to open and write a store; use 100MB or more"
        )
    return memory


def apply(con: duckdb.DuckDBPyConnection, memory: MemoryLimit | None) -> None:
    """Set the bound on a connection (DuckDB settings are per database instance, not per file)."""
    if memory is None:
        return
    for setting, value in (("memory_limit", memory.limit), ("temp_directory", memory.temp_directory)):
        if not value:
            continue
        try:
            con.execute(f"SET {setting} = '{_quoted(value)}'")
        except duckdb.Error as exc:
            reason = " ".join(str(exc).split()).removeprefix("Parser Error: ")
            raise BadMemorySetting(setting, value, reason) from None


def in_effect(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The bound DuckDB holds on this connection, in its own words (e.g. '286.1 MiB' for 300MB)."""
    row = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]
    return {"memory_limit": str(row[0]), "temp_directory": str(row[1])}


def _bytes(held: str) -> float:
    """DuckDB's report of a size ('286.1 MiB', '1000 bytes') in bytes; unknown words: no bound."""
    number, _, unit = held.partition(" ")
    try:
        return float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        return float("inf")


def _quoted(text: str) -> str:
    return text.replace("'", "''")
