"""Showing a long ingest: a Rich bar on a terminal, a plain line every few seconds elsewhere.

Both read the tracker on their own clock (a thread), so the display moves however long one
batch takes: bytes of the input (known up front), percent, ETA, records/s, MB/s, current file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
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
    stop = threading.Event()
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

            thread = threading.Thread(target=_every, args=(0.25, stop, paint), daemon=True)
            thread.start()
            try:
                yield tracker
            finally:
                stop.set()
                thread.join()
                paint()
        return

    def line() -> None:
        console.print(tracker.snapshot().line(label), markup=False, highlight=False, soft_wrap=True)

    thread = threading.Thread(target=_every, args=(LINE_SECONDS, stop, line), daemon=True)
    thread.start()
    try:
        yield tracker
    finally:
        stop.set()
        thread.join()
        line()  # the last line: where it ended


def _every(seconds: float, stop: threading.Event, fn) -> None:
    while not stop.wait(seconds):
        fn()
