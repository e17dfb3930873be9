"""How far an ingest is: bytes of the input read (known up front), records, current file.

The tracker only counts; a face (the CLI's bar, a log line) reads `snapshot()` on its own clock,
so the display moves every second however long one batch takes. Counting is thread-safe: pool
workers' results arrive on executor threads.

Position inside a file: WARC and ARC locators carry the record's byte offset in the file (exact);
for other formats the payload bytes read so far, scaled by the file's compression ratio where it
is cheap to know (gzip trailer, zstd frame header, Parquet metadata), capped at the file size.
"""

from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import zstandard


@dataclass(frozen=True, slots=True)
class Snapshot:
    total_bytes: int
    done_bytes: int
    records: int
    payload_bytes: int
    files_done: int
    files_total: int
    current: str | None
    seconds: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else 0.0

    @property
    def eta_seconds(self) -> float | None:
        f = self.fraction
        return self.seconds * (1 - f) / f if 0 < f < 1 and self.seconds > 0 else None

    def line(self, label: str = "ingest") -> str:
        """One plain line for logs and CI (no terminal control codes)."""
        secs = max(self.seconds, 1e-6)
        eta = f", ETA {_duration(self.eta_seconds)}" if self.eta_seconds is not None else ""
        current = f", file {self.current}" if self.current else ""
        return (
            f"{label}: {self.fraction * 100:5.1f}% of {_mb(self.total_bytes)} "
            f"(file {min(self.files_done + 1, self.files_total)}/{self.files_total}), {self.records:,} records, "
            f"{self.records / secs:,.0f} rec/s, {self.done_bytes / secs / 1e6:,.1f} MB/s{eta}{current}"
        )


class Tracker:
    """Progress of one ingest run over files of known sizes."""

    def __init__(self, total_bytes: int = 0, files_total: int = 0) -> None:
        self.total_bytes = total_bytes
        self.files_total = files_total
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._finished_bytes = 0
        self._files_done = 0
        self._records = 0
        self._payload = 0
        self._current: str | None = None
        self._size = 0
        self._position = 0
        self._ratio = 1.0

    def begin_file(self, path: Path, size: int) -> None:
        with self._lock:
            self._current, self._size, self._position = path.name, size, 0
            self._ratio = compression_ratio(path, size)

    def advance(self, records: int, payload_bytes: int, offset: int | None = None) -> None:
        """`records` more done; `offset` the byte offset reached in the file, when known."""
        with self._lock:
            self._records += records
            self._payload += payload_bytes
            if offset is not None:
                self._position = max(self._position, offset)
            else:
                self._position += int(payload_bytes * self._ratio)
            self._position = min(self._position, self._size)

    def end_file(self) -> None:
        with self._lock:
            self._finished_bytes += self._size
            self._files_done += 1
            self._current, self._size, self._position = None, 0, 0

    def __call__(self, records: int, payload_bytes: int = 0) -> None:
        """The older (records, payload bytes) progress callback."""
        self.advance(records, payload_bytes)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                self.total_bytes,
                self._finished_bytes + self._position,
                self._records,
                self._payload,
                self._files_done,
                self.files_total,
                self._current,
                time.monotonic() - self._start,
            )


def record_offset(locator: str) -> int | None:
    """The byte offset in a WARC/ARC locator (`name#offset`); None for line or row locators."""
    _, sep, tail = locator.rpartition("#")
    return int(tail) if sep and tail.isdigit() else None


def compression_ratio(path: Path, size: int) -> float:
    """Bytes on disk per byte of decoded content, estimated cheaply (1.0 when unknown)."""
    name = path.name.lower()
    try:
        if path.is_dir() or name.endswith((".warc.gz", ".warc.lz4", ".arc.gz")):
            return 1.0  # WARC locators carry offsets; folders advance by shard
        if name.endswith(".gz") and size >= 18:
            with path.open("rb") as fh:
                fh.seek(-4, 2)
                isize = struct.unpack("<I", fh.read(4))[0]  # decoded size mod 2^32
            return size / isize if isize > size else 0.25
        if name.endswith((".zst", ".zstd")):
            with path.open("rb") as fh:
                content = zstandard.frame_content_size(fh.read(18))
            return size / content if content > 0 else 0.25
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            return min(1.0, size / decoded) if decoded else 1.0
    except Exception:  # an estimate must never stop an ingest (pyarrow's and zstd's errors vary)
        return 1.0
    return 1.0


def _mb(n: int) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
