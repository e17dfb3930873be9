"""Ending an ingest cleanly: SIGTERM/SIGINT in the parent, parent death in the workers.

The parent turns SIGTERM and SIGINT into `Interrupted` at its next safe point: after a commit,
between records it builds itself, and every second while it waits for the workers' texts
(a second signal: at once), so its cleanup (stop the workers, mark the run `interrupted`) runs
outside any transaction and without waiting for a batch of extraction; committed batches are already
safe. A worker ignores SIGINT (a terminal's Ctrl-C reaches the whole process group; the parent
decides) and ends itself when its parent is gone, even after `kill -9`, which no handler can see: on
Linux the kernel sends it SIGKILL (PR_SET_PDEATHSIG) when its parent dies; a thread also checks
every second that the ingest process still runs (a zombie counts as gone). Workers come from a fork
server, so the server too dies with the ingest process: `scanner.corpus.deathsig`, preloaded into
it, sets the same signal there, and its death then ends every worker it forked.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from scanner.errors import Interrupted

_PR_SET_PDEATHSIG = 1
_TERM_SECONDS = 10.0  # a worker that outlives SIGTERM this long gets SIGKILL


def die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent dies (PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def worker_init(parent_pid: int) -> None:
    """Initializer of every ingest worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    if not _alive(parent_pid):  # the ingest process died before we got here
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="parent-watch").start()


def _alive(pid: int) -> bool:
    """Whether the ingest process still runs. Not `os.getppid()`: a worker of a fork-server pool
    is the fork server's child, and the server, not the ingest process, is its parent."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # killed but not yet reaped by its own parent: a zombie is gone for our purpose
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _watch_parent(parent_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(1.0):
        if not _alive(parent_pid):
            os._exit(1)


class StopRequest:
    """The first SIGTERM/SIGINT asks the job to stop at its next safe point (outside any
    transaction); a second one raises at once."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self) -> None:
        """Call where stopping is safe: raises `Interrupted` when a signal asked for it."""
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[StopRequest]:
    """SIGTERM and SIGINT become a StopRequest while the block runs in the main thread.

    Outside the main thread (the HTTP service, a notebook's worker thread) signals cannot be
    handled here and nothing changes.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    raised: list[int] = []

    def handler(signum: int, _frame) -> None:
        if stop.signum is None:
            stop.signum = signum
            return
        if not raised:  # a second signal: stop now; a third during cleanup is ignored
            raised.append(signum)
            raise Interrupted(stop.signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def stop_workers(pool: Executor) -> None:
    """End a process pool's workers now (they may be mid-task) and release the pool.

    A worker may die while sending a result: a result over 16 KB goes as a header and then a
    body, and a body over the pipe's 64 KB is written as the pool's thread reads it. The thread
    then waits for the rest of that message, for ever: this process holds a write end of the
    result pipe too, so no end-of-file comes, and `shutdown(wait=True)` (and the interpreter's
    exit, which joins that thread) would hang. So: wait until the workers are gone, then close
    our write end; the thread's read ends with end-of-file, which the pool treats as a broken
    pool, and shutdown returns.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    if not _all_ended(procs, _TERM_SECONDS):
        for proc in procs:  # a stopped worker keeps SIGTERM pending; SIGKILL ends it
            with contextlib.suppress(Exception):
                proc.kill()
        _all_ended(procs, _TERM_SECONDS)
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()
    pool.shutdown(wait=True, cancel_futures=True)


def _all_ended(procs: list[BaseProcess], seconds: float) -> bool:
    """Wait until every process has ended (its sentinel is ready), at most `seconds`."""
    deadline = time.monotonic() + seconds
    left = [p.sentinel for p in procs]
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready = wait(left, timeout=remaining)
        left = [s for s in left if s not in ready]
    return True
