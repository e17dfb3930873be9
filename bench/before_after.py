"""Before/after benchmark of two checkouts of this project: is a refactor any slower?

    python bench/before_after.py --before /tmp/before --after . [--rounds 3] [--only a,b,c]
    python bench/before_after.py --before /tmp/before --after . --callgrind   # (a)-(c), instructions

Why: issue 16 asks that a refactor leave the benchmarks no slower. On a shared, loaded machine one
timing of each checkout measures the load as much as the code, so each workload runs in its own
subprocess per checkout (PYTHONPATH = that checkout, nothing else of ours on the path), the two
checkouts interleaved round by round with the order rotated, and the figure read is CPU seconds
(user + sys), not wall time: the timed section's own getrusage (self + reaped children) is the
"work" column, and wait4's rusage of the whole child (interpreter start, imports, setup) is
printed beside it. Per workload: median and min–max of each, and the median (min–max) of the
per-round after ÷ before ratios. Each child also prints a digest of its answers (verdict counts,
rule counts, near-duplicates), which must be equal for both checkouts: same work, same result.

Workloads (each checkout's own public API; the shims for names that moved are in `Api`):
  a  robots: parse every file of protego's corpus of 4,231 real robots.txt (no parse cache)
  b  verdict: `decide()` on robots-only evidence, new URLs of 500 origins whose files are parsed
  c  checker: `Checker.check` cold (a new checker in a new process: store load + parsing, 4 URLs
     per origin) and warm (new URLs of origins that answered 40 before), 2,000 origins
  d  bulk: `decide_documents` over a store of 100k documents on 10k origins (built once per
     checkout, since schema versions differ; each round decides a fresh copy)
  e  ingest: the bundled demo sample (declare + `ingest`, one process, a new store)
  f  dedup: MinHash dedup of 20k generated ~3 KB documents (bench/dedup_bench.make_corpus),
     no signature check, one process, a fresh copy of the store each round

`--callgrind` runs (a)-(c) on small inputs under `valgrind --tool=callgrind --instr-atstart=no`;
the child signals when its setup is done and the parent switches instrumentation on with
`callgrind_control -i on` only around the timed section, so the instruction count (Ir) is the
workload's alone: load-independent, and deterministic with PYTHONHASHSEED=0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
WORKLOADS = {
    "a": "robots parse, 4,231 real files",
    "b": "decide(), robots-only evidence",
    "c": "Checker.check (cold, warm)",
    "d": "decide_documents, 100k docs",
    "e": "ingest, demo sample",
    "f": "dedup, 20k docs",
}
CALLGRIND = ("a", "b", "c")
SIZES = {  # full runs and --callgrind runs (tiny: valgrind runs Python ~50x slower)
    "files": (None, 150),
    "decide_origins": (500, 60),
    "decide_calls": (50_000, 1_500),
    "origins": (2000, 100),
    "warm_urls": (50_000, 1_500),
    "docs": (100_000, 0),
    "doc_origins": (10_000, 0),
    "dedup_docs": (20_000, 0),
}


# ---------------------------------------------------------------- child side (one checkout)


class Api:
    """The few names that moved between the checkouts (92f19fa: scanner/decide.py, robots `_parse`,
    `store.insert(table, rows)`; main: scanner/decide/, `parse_uncached`, `write_documents`),
    resolved once so the workloads read the same for both."""

    def __init__(self) -> None:
        from scanner.signals import robots

        self.robots = robots
        self.parse_uncached: Callable = getattr(robots, "parse_uncached", None) or robots._parse

    def write(self, store, table: str, rows: list[dict]) -> None:
        writer = getattr(store, f"write_{table}", None)
        if writer is not None:
            writer(rows)
        else:
            store.insert(table, rows)


def corpus(ext: Path, limit: int | None) -> list[bytes]:
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()]
    return bodies[:limit] if limit else bodies


def observations(bodies: list[bytes], n: int, host: str) -> list[tuple]:
    from datetime import UTC, datetime

    from scanner.corpus.records import sha256_hex
    from scanner.evidence import Observation

    seen = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        body = bodies[i % len(bodies)]
        out.append(
            (
                body,
                Observation(
                    sha256_hex(body), "robots.txt", f"https://{host}{i}.example/robots.txt", seen, "import", 200
                ),
            )
        )
    return out


def build(root: Path, data: Path, ext: Path, api: Api) -> None:
    """The stores (c), (d), (f) read, written once by this checkout's own code (its schema). The
    documents of (d) come from the checkout's own bench/decide_bench.build (the same at both
    commits but for the store's write call); the corpus of (f) from this file's dedup_bench,
    whose imports exist at both commits."""
    from scanner.evidence import write_observations
    from scanner.store import Store

    path = list(sys.path)  # `scanner` is imported already, so it stays the checkout's
    sys.path.insert(0, str(root / "bench"))
    from decide_bench import build as build_docs

    sys.path[:] = path  # this file's folder first again (the benches put their checkout first)
    from _corpus import corpus_rows, make_corpus

    sys.path[:] = path

    bodies = corpus(ext, None)
    for name, origins in (("checker", SIZES["origins"][0]), ("checker-small", SIZES["origins"][1])):
        if (data / f"{name}.duckdb").exists():
            continue
        with Store.open(data / f"{name}.duckdb") as store:
            write_observations(store, observations(bodies, origins, "s"))
    if not (data / "decide.duckdb").exists():
        with Store.open(data / "decide.duckdb") as store:
            build_docs(store, ext, SIZES["docs"][0], SIZES["doc_origins"][0])
    if not (data / "dedup.duckdb").exists():
        texts, rows = corpus_rows(make_corpus(SIZES["dedup_docs"][0]))
        with Store.open(data / "dedup.duckdb") as store:
            api.write(store, "texts", texts)
            api.write(store, "documents", rows)


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Timer:
    """The timed sections of one child: CPU and wall seconds, and under callgrind the hand-shake
    that has the parent switch instrumentation on and off around each section."""

    def __init__(self, handshake: bool) -> None:
        self.handshake = handshake
        self.results: dict[str, dict] = {}

    def _signal(self, word: str) -> None:
        if self.handshake:
            print(word, flush=True)
            sys.stdin.readline()

    def run(self, name: str, fn: Callable[[], object]) -> None:
        self._signal("START " + name)
        c, t = _cpu(), time.perf_counter()
        digest = fn()
        wall, cpu = time.perf_counter() - t, _cpu() - c
        self._signal("STOP " + name)
        self.results[name] = {"cpu": cpu, "wall": wall, "digest": digest}


def _robots_parse(api: Api, ext: Path, small: bool, timer: Timer) -> None:
    bodies = corpus(ext, SIZES["files"][small])
    parse, dialect = api.parse_uncached, api.robots.RFC9309
    parse(b"User-agent: *\nDisallow: /x\n", dialect)  # first-call set-up, not timed
    timer.run("a robots parse", lambda: sum(len(g.rules) for b in bodies for g in parse(b, dialect).groups))


def _verdicts(api: Api, ext: Path, small: bool, timer: Timer) -> None:
    from collections import Counter
    from datetime import UTC, datetime

    from scanner.corpus.records import sha256_hex
    from scanner.decide import Artefact, Evidence, decide, make_policy

    seen = datetime(2025, 1, 1, tzinfo=UTC)
    n, calls = SIZES["decide_origins"][small], SIZES["decide_calls"][small]
    evidence = [
        Evidence(robots=Artefact("robots.txt", f"https://s{i}.example/robots.txt", b, sha256_hex(b), seen))
        for i, b in enumerate(corpus(ext, n))
    ]
    policy = make_policy("any-ai-trainer")
    paths = ("/", "/news/a.html", "/search?q=1", "/wp-admin/x", "/img/a.jpg", "/about/team")
    for i, ev in enumerate(evidence):  # files parsed, per-agent rule sets built: not timed
        decide(f"https://s{i}.example/warm", ev, policy)
    jobs = [(f"https://s{i % n}.example{paths[i % 6]}{i}", evidence[i % n]) for i in range(calls)]

    def work() -> dict:
        return dict(Counter(str(decide(url, ev, policy).verdict) for url, ev in jobs))

    timer.run("b decide", work)


def _checker(api: Api, data: Path, small: bool, timer: Timer) -> None:
    from collections import Counter

    from scanner.hook.checker import Checker

    path = data / ("checker-small.duckdb" if small else "checker.duckdb")
    origins, count = SIZES["origins"][small], SIZES["warm_urls"][small]
    paths = ("/", "/news/a.html", "/search?q=1", "/wp-admin/x", "/img/a.jpg", "/about/team")

    def urls(n: int, tag: str) -> list[str]:
        return [f"https://s{i % origins}.example{paths[i % 6]}{tag}{i // origins}" for i in range(n)]

    Checker(path, policy="generic").check("https://no-evidence.example/")  # registry, policy: not timed
    box: dict = {}
    cold = urls(4 * origins, "c")

    def cold_run() -> dict:
        box["checker"] = checker = Checker(path, policy="generic")
        return dict(Counter(str(checker.check(u).verdict) for u in cold))

    timer.run("c check cold", cold_run)
    warm = box["checker"]
    for u in urls(40 * origins, "warm"):
        warm.check(u)
    new = urls(count, "n")
    timer.run("c check warm", lambda: dict(Counter(str(warm.check(u).verdict) for u in new)))


def _fresh_copy(src: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="before_after-"))
    shutil.copy(src, tmp / src.name)
    return tmp / src.name


def _bulk(api: Api, data: Path, timer: Timer) -> None:
    from scanner import api as public
    from scanner.store import Store

    copy = _fresh_copy(data / "decide.duckdb")
    try:
        with Store.open(copy) as store:

            def work() -> dict:
                stats = public.decide_documents(store, "any-ai-trainer")
                return {k: stats[k] for k in ("allowed", "reserved", "unknown")}

            timer.run("d decide_documents", work)
    finally:
        shutil.rmtree(copy.parent)


def _ingest(api: Api, timer: Timer) -> None:
    from scanner import api as public
    from scanner.demo import sample_dir
    from scanner.manifest import load_manifest
    from scanner.store import Store

    manifest = load_manifest(sample_dir() / "manifest.toml")
    tmp = Path(tempfile.mkdtemp(prefix="before_after-"))
    try:
        with Store.open(tmp / "s.duckdb") as store:

            def work() -> dict:
                public.declare(store, manifest)
                report = public.ingest(store, public.manifest_jobs(manifest), workers=1)
                return {
                    "new": sum(f.documents_new for f in report.files),
                    "records": sum(f.records for f in report.files),
                }

            timer.run("e ingest demo", work)
    finally:
        shutil.rmtree(tmp)


def _dedup(api: Api, data: Path, timer: Timer) -> None:
    from scanner.dedup.clusters import dedup
    from scanner.store import Store

    copy = _fresh_copy(data / "dedup.duckdb")
    try:
        with Store.open(copy) as store:
            timer.run("f dedup", lambda: {"near": dedup(store, threshold=0.8, verify=False)["near_duplicates"]})
    finally:
        shutil.rmtree(copy.parent)


def child(args: argparse.Namespace) -> None:
    import scanner

    root = Path(scanner.__file__).resolve().parent.parent
    if root != args.root.resolve():
        raise SystemExit(f"error: imported scanner from {root}, not {args.root}")
    api, timer = Api(), Timer(args.handshake)
    if args.child == "build":
        build(args.root, args.data, args.ext, api)
    elif args.child == "a":
        _robots_parse(api, args.ext, args.small, timer)
    elif args.child == "b":
        _verdicts(api, args.ext, args.small, timer)
    elif args.child == "c":
        _checker(api, args.data, args.small, timer)
    elif args.child == "d":
        _bulk(api, args.data, timer)
    elif args.child == "e":
        _ingest(api, timer)
    elif args.child == "f":
        _dedup(api, args.data, timer)
    print("RESULT " + json.dumps(timer.results), flush=True)


# ---------------------------------------------------------------- parent side


def _env(checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return env | {"PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _command(checkout: Path, data: Path, ext: Path, workload: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(HERE),
        "--child",
        workload,
        "--root",
        str(checkout),
        "--data",
        str(data),
        "--ext",
        str(ext),
        *extra,
    ]


def _result(out: str) -> dict:
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def run_timed(checkout: Path, data: Path, ext: Path, workload: str) -> tuple[dict, float]:
    """One child: its timed sections' results, and the CPU seconds of the whole child (and what
    it reaped) as wait4 reported them: the growth of our RUSAGE_CHILDREN, children running one
    at a time."""
    before = _children_cpu()
    proc = subprocess.run(
        _command(checkout, data, ext, workload), env=_env(checkout), cwd=data, stdout=subprocess.PIPE, text=True
    )
    if proc.returncode:
        raise SystemExit(f"error: workload {workload} failed in {checkout} (exit {proc.returncode})")
    return _result(proc.stdout), _children_cpu() - before


def run_callgrind(checkout: Path, data: Path, ext: Path, workload: str, tmp: Path) -> dict[str, int]:
    """Instructions (Ir) of each timed section of one small child run under callgrind."""
    out_file = tmp / f"callgrind.{workload}.{checkout.name}.%p"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out_file}",
        *_command(checkout, data, ext, workload, "--small", "--handshake"),
    ]
    log = (tmp / f"valgrind.{workload}.{checkout.name}.log").open("w")  # unread: no pipe to fill
    proc = subprocess.Popen(
        cmd, env=_env(checkout), cwd=data, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    counts: dict[str, int] = {}
    for line in proc.stdout:
        word, _, name = line.strip().partition(" ")
        if word in ("START", "STOP"):
            if word == "STOP":
                subprocess.run(
                    ["callgrind_control", "-d", name.replace(" ", "_"), str(proc.pid)], check=True, capture_output=True
                )
            subprocess.run(
                ["callgrind_control", "-i", "on" if word == "START" else "off", str(proc.pid)],
                check=True,
                capture_output=True,
            )
            proc.stdin.write("go\n")
            proc.stdin.flush()
        elif word == "RESULT":
            break
    proc.communicate()
    log.close()
    if proc.returncode:
        raise SystemExit(f"error: workload {workload} failed under callgrind in {checkout} (see {log.name})")
    for dump in tmp.glob(f"callgrind.{workload}.{checkout.name}.{proc.pid}.*"):
        text = dump.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: dump (\S+)$", text, re.M)
        total = re.search(r"^totals: (\d+)$", text, re.M)
        if label and total:
            counts[label.group(1).replace("_", " ")] = int(total.group(1))
    return counts


def _spread(values: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def rounds_table(args: argparse.Namespace, sides: dict[str, Path], data: dict[str, Path]) -> None:
    cpu: dict[tuple[str, str], list[float]] = {}
    proc_cpu: dict[tuple[str, str], list[float]] = {}
    digests: dict[tuple[str, str], object] = {}
    loads = []
    names = list(sides)
    for r in range(args.rounds):
        for workload in args.only:
            order = names[r % 2 :] + names[: r % 2]
            for side in order:
                loads.append(os.getloadavg()[0])
                results, total = run_timed(sides[side], data[side], args.ext, workload)
                for name, res in results.items():
                    cpu.setdefault((name, side), []).append(res["cpu"])
                    proc_cpu.setdefault((name, side), []).append(total)
                    digests[(name, side)] = res["digest"]
            print(f"  round {r + 1}/{args.rounds} {workload} done (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    rows = sorted({name for name, _ in cpu})
    print(
        f"== before {sides['before']} vs after {sides['after']}: {args.rounds} interleaved rounds, order rotated; "
        f"CPU seconds median (min–max); load average {statistics.median(loads):.1f} "
        f"({min(loads):.1f}–{max(loads):.1f}) on {os.cpu_count()} CPUs"
    )
    print(
        f"  {'workload':22} {'before work CPU':>22} {'after work CPU':>22} {'after÷before':>20}"
        f"   {'child total (wait4) before / after':>36}  same answer"
    )
    for name in rows:
        b, a = cpu[(name, "before")], cpu[(name, "after")]
        ratios = [x / max(y, 1e-9) for x, y in zip(a, b, strict=True)]
        pb, pa = proc_cpu[(name, "before")], proc_cpu[(name, "after")]
        same = (
            "yes"
            if digests[(name, "before")] == digests[(name, "after")]
            else f"NO {digests[(name, 'before')]} / {digests[(name, 'after')]}"
        )
        print(
            f"  {name:22} {_spread(b, '{:.3f}'):>22} {_spread(a, '{:.3f}'):>22} {_spread(ratios, '{:.2f}') + '×':>20}"
            f"   {statistics.median(pb):>16.2f} / {statistics.median(pa):<16.2f}  {same}"
        )


def callgrind_table(args: argparse.Namespace, sides: dict[str, Path], data: dict[str, Path]) -> None:
    counts: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workload in [w for w in args.only if w in CALLGRIND]:
            for side, checkout in sides.items():
                for name, ir in run_callgrind(checkout, data[side], args.ext, workload, Path(tmp)).items():
                    counts.setdefault(name, {})[side] = ir
                print(f"  callgrind {workload} {side} done", file=sys.stderr)
    print("== callgrind instructions (Ir) of the timed sections, small inputs (load-independent, PYTHONHASHSEED=0)")
    small = {k: v[1] for k, v in SIZES.items()}
    print(
        f"   inputs: {small['files']} files (a); {small['decide_calls']} calls on {small['decide_origins']} origins"
        f" (b); {small['origins']} origins, {4 * small['origins']} cold and {small['warm_urls']} warm URLs (c)"
    )
    for name in sorted(counts):
        b, a = counts[name].get("before", 0), counts[name].get("after", 0)
        print(f"  {name:22} before {b:>15,}  after {a:>15,}  after÷before {a / max(b, 1):.3f}×")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--before", type=Path)
    ap.add_argument("--after", type=Path, default=Path("."))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=",".join(WORKLOADS), help="workloads, e.g. a,b,c (default all)")
    ap.add_argument("--callgrind", action="store_true", help="instruction counts of (a)-(c) on small inputs")
    ap.add_argument("--data", type=Path, default=None, help="where the built stores live (kept; default a temp dir)")
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--small", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--handshake", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.ext = args.ext.resolve()
    if args.child:
        child(args)
        return
    if args.before is None:
        ap.error("--before is required")
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    if unknown := [w for w in args.only if w not in WORKLOADS]:
        ap.error(f"unknown workload {unknown[0]!r} (one of {', '.join(WORKLOADS)})")
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    base = args.data or Path(tempfile.mkdtemp(prefix="before_after-data-"))
    data = {side: (base / side) for side in sides}
    for side, checkout in sides.items():
        data[side].mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        run_timed(checkout, data[side], args.ext, "build")
        print(f"  built the {side} stores in {time.perf_counter() - t:.0f} s ({data[side]})", file=sys.stderr)
    for w in args.only:
        print(f"  {w}: {WORKLOADS[w]}", file=sys.stderr)
    if args.callgrind:
        callgrind_table(args, sides, data)
    else:
        rounds_table(args, sides, data)
    if args.data is None:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
