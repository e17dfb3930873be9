"""Checker benchmark: `Checker.check` in-process against protego's `can_fetch` given the same
per-origin parse cache, in interleaved rounds (wall and CPU seconds, median and spread): new URLs
of warm origins, fully cold, and URLs asked before (protego with a dict memo of its answers; ours
keeps nothing per URL of a shared outcome, so it answers them as new), beside the floor (split the
URL, probe a dict). The HTTP service is measured by bench/hook_bench.py.

    python bench/checker_bench.py [--ext ../shared/ext] [--origins 2000] [--urls 50000] [--rounds 5]

The store holds real robots.txt files of protego's corpus as evidence for `--origins` origins.
Ours does more per call than protego: every signal, the policy, reasons and evidence ids.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from protego import Protego

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import cpu_rate, header, interleaved, rate, ratio

from scanner.corpus.records import sha256_hex
from scanner.decide import cache as decide_cache
from scanner.evidence import Observation, write_observations
from scanner.hook.checker import Checker
from scanner.signals import robots as robots_module
from scanner.store import Store
from scanner.urls import split_url

PATHS = ["/", "/news/a.html", "/search?q=1", "/wp-admin/x", "/img/a.jpg", "/about/team"]


WARM = 40  # URLs an origin has answered before it counts as warm (ours compiles after 32)


def url_list(origins: int, count: int, tag: str) -> list[str]:
    """`count` URLs spread over `origins` origins; a different `tag` gives URLs never seen."""
    return [f"https://s{i % origins}.example{PATHS[i % len(PATHS)]}{tag}{i // origins}" for i in range(count)]


def _origin(url: str) -> str:
    return url[: url.find("/", 8)]  # the scheme://authority of these URLs


def floor(urls: list[str], cache: dict) -> None:
    """The floor of a per-URL answer from a per-origin cache: split the URL, probe a dict."""
    get = cache.get
    for u in urls:
        get(u[: u.find("/", 8)])


def cold_caches() -> None:
    """Forget every parsed file and cached path, as in a new process."""
    decide_cache.clear()
    robots_module.clear_caches()
    split_url.cache_clear()


def in_process(path: Path, bodies: list[bytes], warm: Checker, count: int, rounds: int) -> None:
    """`Checker.check` against protego `can_fetch` given the same per-origin parse cache (a dict
    origin -> parsed file), interleaved rounds: new URLs of warm origins (the hook's usual case),
    fully cold (nothing parsed: protego parses inside the timer too, from bytes), and URLs asked
    before (ours: the same path as new URLs; protego: a dict memo of its answers)."""
    origins = {f"https://s{i}.example": b for i, b in enumerate(bodies)}
    probe = dict.fromkeys(origins, True)
    warm_urls = url_list(len(bodies), count, "w")
    for u in url_list(len(bodies), WARM * len(bodies), "warm"):  # files parsed, rule sets compiled
        warm.check(u)
    for u in warm_urls:
        warm.check(u)
    peer_cache = {o: Protego.parse(b.decode("utf-8", "replace").lstrip("\ufeff")) for o, b in origins.items()}
    for u in warm_urls:
        peer_cache[_origin(u)].can_fetch(u, "*")
    print(f"input: {len(bodies)} origins with real robots.txt, {count} URLs per round, policy generic (agent *)")
    print(f"warm origin: it has answered {WARM} URLs before (protego's cache holds its parsed file)")
    print("ours: every signal, the policy, reasons and evidence ids; protego: robots.txt allow/deny only")

    state: dict = {"round": 0}

    def fresh(name: str) -> None:
        state["round"] += 1
        state["urls"] = url_list(len(bodies), count, f"n{state['round']}-")

    def ours_new() -> None:
        check = warm.check
        for u in state["urls"]:
            check(u)

    def peer_new() -> None:
        for u in state["urls"]:
            peer_cache[_origin(u)].can_fetch(u, "*")

    def floor_new() -> None:
        floor(state["urls"], probe)

    header("Checker.check, new URLs of warm origins", rounds)
    new = interleaved({"ours": ours_new, "protego": peer_new, "floor": floor_new}, rounds, fresh)
    _report(new, count, ("protego", "floor"))

    cold_count = min(count, 4 * len(bodies))
    cold_urls = url_list(len(bodies), cold_count, "c")
    box: dict = {}

    def cold(name: str) -> None:
        cold_caches()
        box["checker"] = Checker(path, policy="generic")  # a new checker: nothing cached

    def ours_cold() -> None:
        check = box["checker"].check
        for u in cold_urls:
            check(u)

    def peer_cold() -> None:
        cache: dict = {}
        for u in cold_urls:
            o = _origin(u)
            p = cache.get(o)
            if p is None:
                p = cache[o] = Protego.parse(origins[o].decode("utf-8", "replace").lstrip("\ufeff"))
            p.can_fetch(u, "*")

    header(f"cold: a new checker, {cold_count} URLs ({cold_count // len(bodies)} per origin, parsing included)", rounds)
    cold_res = interleaved({"ours": ours_cold, "protego": peer_cold}, rounds, cold)
    _report(cold_res, cold_count, ("protego",))

    memo: dict = {}

    def ours_again() -> None:
        check = warm.check
        for u in warm_urls:
            check(u)

    def peer_again() -> None:  # protego with a dict memo of its answers
        get = memo.get
        for u in warm_urls:
            key = (u, "*")
            found = get(key)
            if found is None:
                found = memo[key] = peer_cache[_origin(u)].can_fetch(u, "*")

    peer_again()
    header("URLs asked before (ours: as new URLs, nothing kept per URL; protego: a dict memo)", rounds)
    again = interleaved({"ours": ours_again, "protego+memo": peer_again}, rounds)
    _report(again, count, ("protego+memo",))

    fresh_many = Checker(path, policy="generic")
    t = time.perf_counter()
    fresh_many.check_many(warm_urls)
    many_cold = time.perf_counter() - t
    t = time.perf_counter()
    fresh_many.check_many(warm_urls)
    many_warm = time.perf_counter() - t
    print(
        f"check_many     first pass {count / many_cold:10.0f} URLs/s   cached {count / many_warm:10.0f} URLs/s (1 run)"
    )


def _report(res: dict, items: int, peers: tuple[str, ...]) -> None:
    for name, samples in res.items():
        print(f"  {name:13} {rate(samples, items):>28} URLs/s wall   {cpu_rate(samples, items):>28} URLs/CPU-s")
    for peer in peers:
        print(
            f"  ours ÷ {peer:13} {ratio(res['ours'], res[peer])} wall   {ratio(res['ours'], res[peer], cpu=True)} CPU"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--origins", type=int, default=2000)
    ap.add_argument("--urls", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tarfile.open(args.ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()][: args.origins]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.duckdb"
        with Store.open(path) as store:
            seen = datetime(2025, 1, 1, tzinfo=UTC)
            write_observations(
                store,
                [
                    (
                        b,
                        Observation(
                            sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", seen, "import", 200
                        ),
                    )
                    for i, b in enumerate(bodies)
                ],
            )
        checker = Checker(path, policy="generic")
        in_process(path, bodies, checker, args.urls, args.rounds)


if __name__ == "__main__":
    main()
