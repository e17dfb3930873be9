"""Showing a long ingest: a Rich bar on a terminal, a plain line every few seconds elsewhere.

Both read the tracker on their own clock (a thread), so the display moves however long one
batch takes: bytes of the input (known up front), percent, ETA, records/s, MB/s, current file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from scanner.corpus.progress import Tracker

# Seconds between plain progress lines when stderr is not a terminal (logs, CI, notebooks).
LINE_SECONDS = float(os.environ.get("PROVENANCE_PROGRESS_SECONDS", "5"))


@contextmanager
def ingest_progress(console: Console, label: str = "ingest") -> Iterator[Tracker]:
    tracker = Tracker()
    if console.is_terminal:
        columns = (
            TextColumn(f"{label} [cyan]{{task.fields[file]}}"),
            BarColumn(bar_width=20),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[records]:,} records, {task.fields[rate]:,.0f} rec/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True, refresh_per_second=4) as bar:
            task = bar.add_task(label, total=None, file="", records=0, rate=0.0)

            def paint() -> None:
                snap = tracker.snapshot()
                bar.update(
                    task,
                    total=snap.total_bytes or None,
                    completed=snap.done_bytes,
                    file=snap.current or "",
                    records=snap.records,
                    rate=snap.records / max(snap.seconds, 1e-6),
                )

            with _repeating(0.25, paint):
                yield tracker
        return

    def line() -> None:
        console.print(tracker.snapshot().line(label), markup=False, highlight=False, soft_wrap=True)

    with _repeating(LINE_SECONDS, line):
        yield tracker


@contextmanager
def _repeating(seconds: float, fn: Callable[[], None]) -> Iterator[None]:
    """`fn` every `seconds` on its own thread while the block runs, and once more when it ends
    (where it ended), however the block ends."""
    stop = threading.Event()

    def every() -> None:
        while not stop.wait(seconds):
            fn()

    thread = threading.Thread(target=every, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        fn()
