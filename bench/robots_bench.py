"""robots.txt benchmark: our engine against protego on the same real files, agents and URLs.

    python bench/robots_bench.py [--ext ../shared/ext] [--files N] [--rounds R]

Input: the 4,231 real robots.txt files of protego's corpus (../shared/ext/protego-robots-corpus).
For each file: 6 agents x URLs (the corpus index's 2 paths plus one URL per rule of the file,
built from the rule's literal prefix), the same triples for both engines.
Then the worst case (issue 17): hostile files filled to the 512 KB parse limit with tens of
thousands of wildcard rules (`Disallow: /*xN`, `/*N*y$`, `/a/*xN*z`), asked about 8 KB URLs
built to hit as many rules as possible; per-URL CPU time over interleaved rounds (floor, median,
worst; how many hit the match budget; the worst wall clock, which a loaded machine inflates),
ours against protego on a few of the same URLs; the one-time parse and index build per file apart.
Target: worst ≤ 5 ms per 8 KB URL. `--hostile-only` skips the corpus part.
Prints parse throughput (files/s) and decision throughput with a hot per-origin cache (parse
once, decide many): the first time each triple is asked (rule sets cached per agent, decisions
shared between agents that fall into the same group) and when the same triples are asked again
(decision memo warm), with the ratios ours / protego. Like for like: protego parses from the
same bytes inside the timer, and on repeated triples gets a dict memo as ours has; rounds are
interleaved, wall and CPU seconds printed with median and spread. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tarfile
import time
from pathlib import Path

from protego import Protego

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import cpu_rate, header, interleaved, rate, ratio

from scanner.signals.robots import BUDGET_REASON, RFC9309, parse_robots, parse_uncached
from tests._hostile import hostile_robots

AGENTS = ("GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "Googlebot", "ProvenanceScannerBot")


def load(ext: Path, limit: int | None) -> list[tuple[str, bytes, list[str]]]:
    corpus = ext / "protego-robots-corpus"
    index = {}
    for line in gzip.decompress((corpus / "index.jsonl.gz").read_bytes()).splitlines():
        row = json.loads(line)
        index[row["file"].rsplit("/", 1)[-1]] = row
    out = []
    with tarfile.open(corpus / "robots_txt_files.tar.gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            row = index[member.name.rsplit("/", 1)[-1]]
            body = tar.extractfile(member).read()
            base = f"http://{row['host']}"
            urls = [base + "/", base + "/some/page.html"]
            for group in parse_robots(body).groups:
                for rule in group.rules[:20]:
                    prefix = rule.value.split("*", 1)[0].rstrip("$") or "/"
                    urls.append(base + prefix + "x")
            out.append((row["host"], body, urls))
            if limit and len(out) >= limit:
                break
    return out


def hostile_urls(k: int) -> list[str]:
    """8 KB URLs full of the hostile rules' literals (many candidate rules, most failing late)."""
    runs = (
        "".join(f"x{i}" for i in range(k * 100, k * 100 + 3000)),
        "".join(f"{i}y" for i in range(k * 50, k * 50 + 3000)),
        "".join(str(i) for i in range(k * 10, k * 10 + 3000)),
        "a/" + "".join(f"x{i}z" for i in range(k * 70, k * 70 + 3000)),
        "x" * 8190,
    )
    return ["http://example.com/" + r[:8170] for r in runs]


def _spread(ts: list[float]) -> str:
    """floor / median / worst (max) of CPU seconds, in ms."""
    ts = sorted(ts)
    return f"{ts[0] * 1e3:7.2f} / {ts[len(ts) // 2] * 1e3:7.2f} / {ts[-1] * 1e3:7.2f}" if ts else "-"


def hostile(rounds: int, peer_urls: int) -> None:
    print(f"hostile files: CPU ms per 8 KB URL, {rounds} interleaved rounds (fresh URL each time: no memo)")
    specs = ("/*x%d", "/*%d*y$", "/a/*x%d*z")
    files = {spec: hostile_robots(spec) for spec in specs}
    parsed, peers = {}, {}
    for spec, body in files.items():  # one-time costs per file, apart from the per-URL figures
        c = time.process_time()
        parsed[spec] = parse_robots(body)
        parse_s = time.process_time() - c
        c = time.process_time()
        parsed[spec].ruleset("GPTBot").compiled()
        build_s = time.process_time() - c
        c = time.process_time()
        peers[spec] = Protego.parse(body.decode())
        peer_parse_s = time.process_time() - c
        print(
            f"  {spec:10s} {len(body)} bytes, {len(parsed[spec].groups[0].rules)} rules: ours parse"
            f" {parse_s * 1e3:.0f} ms + index build {build_s * 1e3:.0f} ms CPU (once per file and agent"
            f" group); protego parse {peer_parse_s * 1e3:.0f} ms"
        )
    cpu: dict[str, list[float]] = {spec: [] for spec in specs}  # this process's CPU time
    wall: dict[str, list[float]] = {spec: [] for spec in specs}
    peer: dict[str, list[float]] = {spec: [] for spec in specs}
    budget_hits = dict.fromkeys(specs, 0)
    for r in range(rounds):  # rounds interleave the files and engines, so noise spreads over all
        for spec in specs:
            urls = [f"{url}?r{r}" for url in hostile_urls(r)]
            for url in urls:
                t, c = time.perf_counter(), time.process_time()
                e = parsed[spec].explain(url, "GPTBot")
                cpu[spec].append(time.process_time() - c)
                wall[spec].append(time.perf_counter() - t)
                budget_hits[spec] += e.reason == BUDGET_REASON
            if r < peer_urls:  # protego costs 0.01-0.5 s per URL: one URL per round, kinds in turn
                c = time.process_time()
                peers[spec].can_fetch(urls[r % len(urls)], "GPTBot")
                peer[spec].append(time.process_time() - c)
    print("  file        ours floor / median / worst ms  (wall worst) budget hits | protego floor / median / worst ms")
    for spec in specs:
        ours, theirs = sorted(cpu[spec]), sorted(peer[spec] or [0.0])
        speedup = theirs[len(theirs) // 2] / max(ours[len(ours) // 2], 1e-6)
        print(
            f"  {spec:10s} {_spread(ours)}  ({max(wall[spec]) * 1e3:7.2f})  {budget_hits[spec]:4d}/{len(ours)}"
            f" | {_spread(peer[spec])} on {len(peer[spec])} URLs; protego ÷ ours (median) {speedup:5.0f}x"
        )
    worst = max(max(ts) for ts in cpu.values())
    print(f"  worst per 8 KB URL: {worst * 1e3:.2f} ms CPU (target 5 ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--hostile-only", action="store_true")
    ap.add_argument("--hostile-rounds", type=int, default=10)
    ap.add_argument("--peer-urls", type=int, default=3, help="protego URLs per hostile file (0.5 s each)")
    args = ap.parse_args()
    if args.hostile_only:
        hostile(args.hostile_rounds, args.peer_urls)
        return
    files = load(args.ext, args.files)
    triples = sum(len(urls) * len(AGENTS) for *_, urls in files)
    n = len(files)
    print(f"input: {n} real robots.txt files, {triples} (file, agent, URL) decisions")

    # parse: both from the bytes as fetched (protego's decoding inside the timer)
    parse = interleaved(
        {
            "ours": lambda: [parse_uncached(body, RFC9309) for _, body, _ in files],
            "protego": lambda: [
                Protego.parse(body.decode("utf-8", "replace").lstrip("\ufeff")) for _, body, _ in files
            ],
        },
        args.rounds,
    )
    header("parse, bytes in", args.rounds)
    _report(parse, n, "files")

    ours: list = []
    peer: list = []

    def fresh(name: str) -> None:  # new parse objects: empty per-agent caches and decision memos
        ours[:] = [parse_uncached(body, RFC9309) for _, body, _ in files]
        peer[:] = [Protego.parse(body.decode("utf-8", "replace").lstrip("\ufeff")) for _, body, _ in files]

    def decide_ours() -> None:
        for robots, (_, _, urls) in zip(ours, files, strict=True):
            allowed = robots.allowed
            for url in urls:  # a pipeline asks about one URL for every agent of its policy
                for agent in AGENTS:
                    allowed(url, agent)

    def decide_peer() -> None:
        for robots, (_, _, urls) in zip(peer, files, strict=True):
            can_fetch = robots.can_fetch
            for url in urls:
                for agent in AGENTS:
                    can_fetch(url, agent)

    first = interleaved({"ours": decide_ours, "protego": decide_peer}, args.rounds, fresh)
    header("decide, each triple asked once (files parsed outside the timer)", args.rounds)
    _report(first, triples, "decisions")

    memo: dict = {}

    def decide_peer_memo() -> None:  # protego with the same kind of memo ours keeps
        get = memo.get
        for i, (robots, (_, _, urls)) in enumerate(zip(peer, files, strict=True)):
            for url in urls:
                for agent in AGENTS:
                    key = (i, url, agent)
                    if get(key) is None:
                        memo[key] = robots.can_fetch(url, agent)

    def floor() -> None:  # a dict probe per triple: no memo can answer faster
        get = memo.get
        for i, (_, _, urls) in enumerate(files):
            for url in urls:
                for agent in AGENTS:
                    get((i, url, agent))

    fresh("")
    decide_ours()
    decide_peer_memo()
    again = interleaved({"ours": decide_ours, "protego+memo": decide_peer_memo, "floor": floor}, args.rounds)
    header("decide, the same triples again (ours: its memo; protego: a dict memo)", args.rounds)
    _report(again, triples, "decisions")
    hostile(args.hostile_rounds, args.peer_urls)


def _report(res: dict, items: int, unit: str) -> None:
    for name, samples in res.items():
        print(f"  {name:13} {rate(samples, items):>30} {unit}/s   {cpu_rate(samples, items):>30} {unit}/CPU-s")
    for name in list(res)[1:]:
        print(
            f"  ours ÷ {name:13} {ratio(res['ours'], res[name])} wall   {ratio(res['ours'], res[name], cpu=True)} CPU"
        )


if __name__ == "__main__":
    main()
