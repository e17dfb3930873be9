"""robots.txt benchmark: our engine against protego on the same real files, agents and URLs.

    python bench/robots_bench.py [--ext ../shared/ext] [--files N] [--repeat R]

Input: the 4,231 real robots.txt files of protego's corpus (../shared/ext/protego-robots-corpus).
For each file: 6 agents x URLs (the corpus index's 2 paths plus one URL per rule of the file,
built from the rule's literal prefix), the same triples for both engines.
Prints parse throughput (files/s) and decision throughput with a hot per-origin cache (parse
once, decide many): the first time each triple is asked (rule sets cached per agent, decisions
shared between agents that fall into the same group) and when the same triples are asked again
(decision memo warm), with the ratios ours / protego. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tarfile
import time
from pathlib import Path

from protego import Protego

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


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--files", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    files = load(args.ext, args.files)
    texts = [body.decode("utf-8", "replace").lstrip("\ufeff") for _, body, _ in files]
    triples = sum(len(urls) * len(AGENTS) for *_, urls in files)

    ours_parse = best_of(args.repeat, lambda: [_parse(body, RFC9309) for _, body, _ in files])
    peer_parse = best_of(args.repeat, lambda: [Protego.parse(t) for t in texts])

    peer = [Protego.parse(t) for t in texts]
    ours: list = []

    def fresh() -> None:  # new parse objects: empty per-agent caches and decision memos
        ours[:] = [_parse(body, RFC9309) for _, body, _ in files]

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

    first = []
    for _ in range(args.repeat):
        fresh()
        t = time.perf_counter()
        decide_ours()
        first.append(time.perf_counter() - t)
    ours_first = min(first)
    ours_again = best_of(args.repeat, decide_ours)  # the same triples again: memos warm
    peer_decide = best_of(args.repeat, decide_peer)

    n = len(files)
    print(f"input: {n} real robots.txt files, {triples} (file, agent, URL) decisions, best of {args.repeat}")
    print(
        f"parse            ours {n / ours_parse:10.0f} files/s  protego {n / peer_parse:9.0f} files/s  "
        f"ratio ours/protego {peer_parse / ours_parse:6.2f}x"
    )
    print(
        f"decide, 1st time ours {triples / ours_first:10.0f} dec/s    "
        f"protego {triples / peer_decide:9.0f} dec/s  "
        f"ratio ours/protego {peer_decide / ours_first:6.2f}x"
    )
    print(
        f"decide, repeated ours {triples / ours_again:10.0f} dec/s    "
        f"protego {triples / peer_decide:9.0f} dec/s  "
        f"ratio ours/protego {peer_decide / ours_again:6.2f}x"
    )


if __name__ == "__main__":
    main()
