"""robots.txt benchmark: our engine against protego on the same real files, agents and URLs.

    python bench/robots_bench.py [--ext ../shared/ext] [--files N] [--rounds R]

Input: the 4,231 real robots.txt files of protego's corpus (../shared/ext/protego-robots-corpus).
For each file: 6 agents x URLs (the corpus index's 2 paths plus one URL per rule of the file,
built from the rule's literal prefix), the same triples for both engines.
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
from pathlib import Path

from protego import Protego

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import cpu_rate, header, interleaved, rate, ratio

from scanner.signals.robots import RFC9309, _parse, parse_robots

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    files = load(args.ext, args.files)
    triples = sum(len(urls) * len(AGENTS) for *_, urls in files)
    n = len(files)
    print(f"input: {n} real robots.txt files, {triples} (file, agent, URL) decisions")

    # parse: both from the bytes as fetched (protego's decoding inside the timer)
    parse = interleaved(
        {
            "ours": lambda: [_parse(body, RFC9309) for _, body, _ in files],
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
        ours[:] = [_parse(body, RFC9309) for _, body, _ in files]
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


def _report(res: dict, items: int, unit: str) -> None:
    for name, samples in res.items():
        print(f"  {name:13} {rate(samples, items):>30} {unit}/s   {cpu_rate(samples, items):>30} {unit}/CPU-s")
    for name in list(res)[1:]:
        print(
            f"  ours ÷ {name:13} {ratio(res['ours'], res[name])} wall   {ratio(res['ours'], res[name], cpu=True)} CPU"
        )


if __name__ == "__main__":
    main()
