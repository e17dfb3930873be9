"""Worker processes for MinHash signatures, cheap to start and cheap to feed, beside this one.

Each worker is `python -m scanner.dedup.workers`: it imports numpy and the hashing module and
nothing else (no DuckDB, Arrow or the caller's `__main__`, which a multiprocessing pool re-imports
in every worker). A part goes down its stdin as one header, the offsets and the UTF-8 bytes of its
texts; the signatures come back as one buffer of little-endian uint32, followed by their LSH band
keys (little-endian uint64) when the header asks for bands, so the coordinator hashes no band
itself. Nothing is pickled. A worker exits when its stdin closes, so it never outlives the
process that started it.
"""

from __future__ import annotations

import os
import queue
import struct
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import IO

import numpy as np

from scanner.dedup.minhash import PROFILES, Bands, SignatureParams, Signed, sign_part

_REQUEST = struct.Struct("<BIIqIIQQ")  # profile index, num_perm, words, seed, b, r (0: no keys), rows, bytes
_REPLY = struct.Struct("<qQ")  # rows (or -1: an error message follows), bytes that follow
PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process (/proc/sys/fs/pipe-max-size)
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the `scanner` package


class SignaturePool:
    """`workers` lanes hashing parts: this process and `workers - 1` worker processes. One thread
    per lane takes the next part: the local lane hashes it here (numpy releases the GIL in its
    loops), a process lane writes it down the pipe and reads its signatures back (pipe I/O
    releases the GIL too). So the coordinator, which reads and writes the store between parts,
    hashes in its spare time, and no core is shared by one process more than there are cores:
    with 2 worker processes beside the coordinator, 2 cores spent 9.9 CPU-s on 100k documents
    where one worker and the local lane spend 9.6."""

    def __init__(self, workers: int) -> None:
        path = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)
        self._procs = [
            subprocess.Popen(  # in _ROOT: `-m` puts the cwd first on the path, and another checkout there would
                [sys.executable, "-m", "scanner.dedup.workers"],  # speak another protocol (a hang, not an error)
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=os.environ | {"PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1"},  # no BLAS here: its thread
                # pool cost each start 0.06 of 0.16 CPU-s, on cores the other workers were starting on
                cwd=_ROOT,
            )
            for _ in range(workers - 1)
        ]
        self._idle: queue.SimpleQueue[subprocess.Popen | None] = queue.SimpleQueue()
        self._idle.put(None)  # the local lane
        for proc in self._procs:
            assert proc.stdin and proc.stdout
            _widen(proc.stdin.fileno())
            _widen(proc.stdout.fileno())
            self._idle.put(proc)
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="signatures")

    def submit(
        self, params: SignatureParams, data: np.ndarray, offsets: np.ndarray, bands: Bands = None
    ) -> Future[Signed]:
        return self._threads.submit(self._run, params, data, offsets, bands)

    def _run(self, params: SignatureParams, data: np.ndarray, offsets: np.ndarray, bands: Bands) -> Signed:
        proc = self._idle.get()
        try:
            if proc is None:
                return sign_part(params, data, offsets, bands)
            return _exchange(proc, params, data, offsets, bands)
        finally:
            self._idle.put(proc)

    def shutdown(self, cancel_futures: bool = False) -> None:
        """Wait for (or cancel) the parts, then close every worker's stdin and reap it."""
        self._threads.shutdown(wait=True, cancel_futures=cancel_futures)
        for proc in self._procs:  # every stdin first: the workers exit side by side, not one after another
            assert proc.stdin
            proc.stdin.close()
        for proc in self._procs:
            assert proc.stdout
            proc.wait()
            proc.stdout.close()


def _widen(pipe: int) -> None:
    """A pipe of PIPE_BYTES, so that a part crosses in a few writes: through the default 64 KiB,
    each MiB took 16 wake-ups of the worker and cost it 0.3 of 3.6 CPU-s per 50k documents in
    system time. Linux only; elsewhere, or past the system's limit, the pipe stays as it is."""
    try:
        import fcntl  # POSIX only

        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def signature_pool(workers: int) -> SignaturePool | None:
    """A pool of `workers` lanes (this process and `workers - 1` worker processes), or None for
    one (hash in this process, between the store's reads and writes)."""
    return SignaturePool(workers) if workers > 1 else None


def _exchange(
    proc: subprocess.Popen, params: SignatureParams, data: np.ndarray, offsets: np.ndarray, bands: Bands
) -> Signed:
    assert proc.stdin and proc.stdout
    rows = len(offsets) - 1
    b, r = bands or (0, 0)
    profile = PROFILES.index(params.profile)
    head = _REQUEST.pack(profile, params.num_perm, params.words, params.seed, b, r, rows, len(data))
    try:
        proc.stdin.write(head)
        proc.stdin.write(offsets.astype("<i8", copy=False).tobytes())
        proc.stdin.write(np.ascontiguousarray(data).data)
        proc.stdin.flush()
    except BrokenPipeError:
        pass  # the reply's absence below says what happened
    status, size = _REPLY.unpack(_read(proc.stdout, _REPLY.size, proc))
    payload = _read(proc.stdout, size, proc)
    if status < 0:
        raise RuntimeError(f"signature worker {proc.pid}: {payload.decode('utf-8', 'replace')}")
    cut = 4 * rows * params.num_perm
    sigs = np.frombuffer(payload, dtype="<u4", count=rows * params.num_perm).reshape(rows, params.num_perm)
    keys = np.frombuffer(payload, dtype="<u8", offset=cut).reshape(rows, b) if b else None
    return Signed(sigs.astype(np.uint32, copy=False), None if keys is None else keys.astype(np.uint64, copy=False))


def _read(source: IO[bytes], size: int, proc: subprocess.Popen | None = None) -> bytes:
    data = source.read(size)
    if len(data) != size:
        who = f"signature worker {proc.pid} exited with status {proc.wait()}" if proc else "signature pool closed"
        raise RuntimeError(f"{who} ({len(data)} of {size} bytes read)")
    return data


@lru_cache(maxsize=8)
def _params(profile: int, num_perm: int, words: int, seed: int) -> SignatureParams:
    return SignatureParams(num_perm, seed, words, PROFILES[profile])


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker's loop: parts in, signatures (or one error line) out, until stdin closes."""
    while head := source.read(_REQUEST.size):
        if len(head) < _REQUEST.size:
            return
        profile, num_perm, words, seed, b, r, rows, size = _REQUEST.unpack(head)
        offsets = np.frombuffer(_read(source, 8 * (rows + 1)), dtype="<i8")
        data = np.frombuffer(_read(source, size), dtype=np.uint8)
        try:
            part = sign_part(_params(profile, num_perm, words, seed), data, offsets, (b, r) if b else None)
            status, payload = rows, [part.signatures.astype("<u4", copy=False).data]
            if part.keys is not None:
                payload.append(part.keys.astype("<u8", copy=False).data)
        except Exception as exc:  # reported to the caller, which raises it there
            status, payload = -1, [memoryview(f"{type(exc).__name__}: {exc}".encode())]
        sink.write(_REPLY.pack(status, sum(p.nbytes for p in payload)))
        for chunk in payload:
            sink.write(chunk)
        sink.flush()


if __name__ == "__main__":
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the signatures
    serve(sys.stdin.buffer, out)
    out.close()
    os._exit(0)  # nothing to tear down: the interpreter's own teardown cost 0.05 s of the run's serial tail
