"""Mutation fuzzing of the parsers (and readers) for minutes, on demand: not part of CI.

    python bench/fuzz.py [--minutes M | --seconds S] [--target NAME ...] [--ext ../shared/ext]
                         [--seed N] [--out DIR] [--hang-seconds H]

Each target (tests/_fuzz.py `TARGETS`, plus the corpus readers registered below) is run on
inputs mutated from real seeds under ../shared/ext: the protego robots.txt corpus and
google/robotstxt cases, W3C TDMRep examples, datadiligence header cases, real HTML pages,
warcio/resiliparse WARC and ARC samples. Mutations: bit flips, random bytes, deletions,
duplicated and repeated chunks (hostile sizes), splices of two seeds, format tokens.

A crash is any exception out of a target (its structural assertions included); a hang is one
input taking longer than --hang-seconds (default 10 s: an input of up to 2 MiB is parsed and indexed
whole before its bounded lookups; interrupted by SIGALRM). Both are saved under --out.
Prints per target: executions, executions/s, crashes, hangs, slowest input (ms).

Pluggable: `register(name, seeds=(...))` from tests/_fuzz.py adds a target; a seed kind names a
loader in `SEEDS` below (add one for a new format).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import signal
import sys
import tarfile
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from tests._fuzz import TARGETS, register

TOKENS = [
    b"*",
    b"$",
    b"%",
    b"%2F",
    b"%E3%83%84",
    b"\n",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"User-agent: *\n",
    b"Disallow: /*",
    b"Allow: /",
    b"Content-Usage: train-ai=n\n",
    b'{"location": "/*", "tdm-reservation": 1}',
    b'<content url="/">',
    b"</content>",
    b"<prohibits>ai-train</prohibits>",
    b'<meta name="robots" content="noai">',
    b"[[[[[[[[",
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Encoding: gzip\r\n",
    b"-3\r\n",
    b"ffffffffffff\r\n",
    b"Content-Length: 999999\r\n",
    b"WARC/1.0\r\n",
    b"HTTP/1.1 200 OK\r\n",
    b"\xc2\xb200",
]


# -- seeds ------------------------------------------------------------------------------------------
def _json_values(obj) -> Iterator:
    stack = [obj]
    while stack:
        x = stack.pop()
        yield x
        if isinstance(x, dict):
            stack += x.values()
        elif isinstance(x, list):
            stack += x


def _robots(ext: Path) -> Iterator[bytes]:
    tar_path = ext / "protego-robots-corpus" / "robots_txt_files.tar.gz"
    if tar_path.exists():
        with tarfile.open(tar_path) as tar:
            for n, member in enumerate(m for m in tar if m.isfile()):
                if n >= 300:
                    break
                yield tar.extractfile(member).read()[:65536]
    for name in ("allow_cases.json", "parse_report_cases.json"):
        path = ext / "google-robotstxt" / name
        if path.exists():
            for v in _json_values(json.loads(path.read_text())):
                if isinstance(v, str) and "user-agent" in v.lower():
                    yield v.encode("utf-8", "surrogateescape")
    if (ext / "ai-robots-txt" / "robots.txt").exists():
        yield (ext / "ai-robots-txt" / "robots.txt").read_bytes()


def _tdmrep(ext: Path) -> Iterator[bytes]:
    path = ext / "w3c-tdmrep" / "tdmrep_cases.json"
    if path.exists():
        for v in _json_values(json.loads(path.read_text())):
            if isinstance(v, list) and v and all(isinstance(i, dict) and "location" in i for i in v):
                yield json.dumps(v).encode()
            elif isinstance(v, str) and '"location"' in v:
                yield v.encode()
    yield b'[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://p.example/policy.json"}]'


def _headers(ext: Path) -> Iterator[bytes]:
    path = ext / "datadiligence" / "header_cases.json"
    if path.exists():
        for v in _json_values(json.loads(path.read_text())):
            if isinstance(v, dict) and any(isinstance(k, str) and "-" in k for k in v):
                yield json.dumps(v).encode()
    yield b'{"X-Robots-Tag": ["noai", "GPTBot: noimageai"], "TDM-Reservation": "1"}'


def _html(ext: Path) -> Iterator[bytes]:
    for folder in (ext / "trafilatura-eval-subset" / "html", ext / "article-extraction-benchmark" / "html"):
        if folder.is_dir():
            for n, path in enumerate(sorted(folder.iterdir())):
                if n >= 40:
                    break
                data = path.read_bytes()
                yield (gzip.decompress(data) if path.suffix == ".gz" else data)[:65536]


def _rsl(ext: Path) -> Iterator[bytes]:
    yield (
        b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/a/*" server="https://l.example">'
        b'<license><permits type="usage">ai-train</permits><prohibits type="geo">ru</prohibits>'
        b'<payment type="purchase"><amount currency="EUR">10</amount></payment></license></content></rsl>'
    )


def _xmp(ext: Path) -> Iterator[bytes]:
    yield (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description plus:DataMining='
        b'"http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"/><tdm:reservation>1</tdm:reservation>'
        b"<tdm:policy>https://p.example/x</tdm:policy></x:xmpmeta>"
    )
    yield b'<meta name="tdm:reservation" content="1"/><meta property="tdm:policy">https://p.example</meta>'


def _warc(ext: Path) -> Iterator[bytes]:
    for sub in ("warcio", "resiliparse"):
        folder = ext / "warc-samples" / sub
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.name != "LICENSE.upstream" and path.stat().st_size < 1 << 20:
                    data = path.read_bytes()
                    yield data
                    if data[:2] == b"\x1f\x8b":
                        with contextlib.suppress(OSError, EOFError):
                            yield gzip.decompress(data)


def _http(ext: Path) -> Iterator[bytes]:
    for data in _warc(ext):
        if data[:2] == b"\x1f\x8b":
            continue
        for part in data.split(b"\r\n\r\nHTTP/")[1:20]:
            yield b"HTTP/" + part[:8192]


def _jsonl(ext: Path) -> Iterator[bytes]:
    yield b'{"url": "https://a.example/x", "text": "hello world"}\n{"url": "https://b.example/", "text": "x"}\n'


SEEDS: dict[str, Callable[[Path], Iterator[bytes]]] = {
    "robots": _robots,
    "tdmrep": _tdmrep,
    "headers": _headers,
    "html": _html,
    "rsl": _rsl,
    "xmp": _xmp,
    "warc": _warc,
    "http": _http,
    "jsonl": _jsonl,
}


# -- reader targets (the corpus readers as ingest calls them) --------------------------------------
def _via_file(suffix: str, read) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"fuzz{suffix}"
            path.write_bytes(data)
            for n, _ in enumerate(read(path)):
                assert n <= len(data) + 1, "more records than bytes"

    return run


def _register_readers() -> None:
    from scanner.corpus.http import parse_http_response
    from scanner.corpus.jsonl import read_jsonl
    from scanner.corpus.warc import read_warc

    @register("http-block", seeds=("http",))
    def http_block(data: bytes) -> None:
        response = parse_http_response(data, max_decoded=1 << 20)
        assert len(response.body) <= max(len(data), 1 << 20) + 65536

    register("warc", seeds=("warc",))(_via_file(".warc", read_warc))
    register("warc.gz", seeds=("warc",))(_via_file(".warc.gz", read_warc))
    register("arc", seeds=("warc",))(_via_file(".arc", read_warc))
    register("jsonl", seeds=("jsonl",))(_via_file(".jsonl", read_jsonl))


# -- mutation ---------------------------------------------------------------------------------------
def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        op = rng.randrange(9)
        n = len(buf)
        i = rng.randrange(n + 1)
        if op == 0 and n:
            buf[min(i, n - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:
            buf[min(i, n - 1)] = rng.randrange(256)
        elif op == 2:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        elif op == 3 and n:
            buf[i : i + rng.randrange(1, 64)] = b""
        elif op == 4 and n:
            j = rng.randrange(n)
            buf[i:i] = buf[j : j + rng.randrange(1, 256)]
        elif op == 5 and n:  # a chunk repeated: hostile sizes (thousands of rules, deep nesting)
            j = rng.randrange(n)
            chunk = bytes(buf[j : j + rng.randrange(1, 64)])
            buf[i:i] = chunk * rng.choice((10, 100, 1000, 5000))
        elif op == 6:
            other = rng.choice(pool)
            j = rng.randrange(len(other) + 1)
            buf = buf[:i] + bytearray(other[j:])
        elif op == 7:
            buf[i:i] = rng.choice(TOKENS)
        elif op == 8 and n:
            del buf[i:]
    return bytes(buf[: 2 << 20])


class Hang(BaseException):
    """Raised by SIGALRM in the target (a BaseException, so `except Exception` cannot eat it)."""


def _alarm(signum, frame):
    raise Hang


def fuzz(name: str, seconds: float, pool: list[bytes], rng: random.Random, out: Path, hang: float) -> dict:
    target = TARGETS[name].run
    execs = crashes = hangs = 0
    slowest = 0.0
    signatures: dict[str, str] = {}
    end = time.monotonic() + seconds
    signal.signal(signal.SIGALRM, _alarm)
    while time.monotonic() < end:  # every seed as is first, then mutants of random seeds
        data = pool[execs] if execs < len(pool) else mutate(rng, rng.choice(pool), pool)
        t = time.perf_counter()
        problem = None
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, hang)
                target(data)
            finally:  # the alarm may fire even here: the outer handler still counts it
                signal.setitimer(signal.ITIMER_REAL, 0)
        except Hang:
            hangs += 1
            problem = "hang"
        except Exception as exc:
            crashes += 1
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            problem = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        slowest = max(slowest, time.perf_counter() - t)
        execs += 1
        if problem and problem not in signatures:
            digest = hashlib.sha256(data).hexdigest()[:16]
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}-{digest}.bin").write_bytes(data)
            signatures[problem] = digest
    return {
        "target": name,
        "seeds": len(pool),
        "executions": execs,
        "per_second": round(execs / seconds),
        "crashes": crashes,
        "hangs": hangs,
        "slowest_ms": round(slowest * 1000, 1),
        "findings": signatures,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--target", action="append", default=None)
    ap.add_argument("--no-readers", action="store_true", help="Only the signal parsers.")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "provenance-fuzz")
    ap.add_argument("--hang-seconds", type=float, default=10.0)
    args = ap.parse_args()
    if not args.no_readers:
        _register_readers()
    seconds = args.minutes * 60 if args.minutes is not None else args.seconds
    names = args.target or list(TARGETS)
    print(f"fuzzing {len(names)} targets, {seconds:.0f} s each, seed {args.seed}, findings in {args.out}")
    sys.stdout.flush()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)  # warcio warns on stderr for every broken record: keep the report readable
    for name in names:
        pool = [s for kind in TARGETS[name].seeds for s in SEEDS[kind](args.ext)] or [b""]
        try:
            row = fuzz(name, seconds, pool, random.Random(args.seed), args.out, args.hang_seconds)
        except Exception as exc:  # the harness itself failed: say so on stdout (stderr is muted)
            row = {"target": name, "harness_error": repr(exc), "trace": traceback.format_exc()}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
