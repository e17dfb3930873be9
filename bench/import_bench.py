"""Bulk evidence import: `import_many` (one run, batched writes) against the named peer, the
one-by-one `import_evidence` that `provenance evidence import` calls once per file, on the real
4,231 robots.txt files of the protego corpus laid out as HOST/robots.txt (folder, tar, CSV index).

    PYTHONPATH=. PROVENANCE_EXT=../shared/ext python bench/import_bench.py [--rounds 3] [--peer-files 300]

Rounds are interleaved (ours, peer, ours, ...), each on a fresh store; prints files/s per round,
the median, the spread (min-max), the floor (the slowest round) and the ratio of medians. The target
is at least 1,000 files/s for ours.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from scanner.evidence import import_evidence
from scanner.evidence_import import import_many
from scanner.store import Store

WHEN = datetime(2019, 7, 1, tzinfo=UTC)


def layout(ext: Path, work: Path) -> tuple[Path, Path, Path, list[tuple[Path, str]]]:
    folder, files = work / "hosts", []
    with tarfile.open(ext / "protego-robots-corpus" / "robots_txt_files.tar.gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            host = member.name.split("/", 1)[1].replace("_", ":") if ":" not in member.name else member.name
            host = host.split(":")[0]  # protego replaced ':' (a port) by '_': keep the host
            target = folder / host / "robots.txt"
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            files.append((target, f"https://{host}/robots.txt"))
    archive = work / "hosts.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="hosts")
    index = work / "index.csv"
    with index.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "url", "observed_at", "status", "kind", "note"])
        for path, url in files:
            w.writerow([str(path.relative_to(work)), url, WHEN.isoformat(), 200, "robots.txt", "protego 2019"])
    return folder, archive, index, files


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peer-files", type=int, default=300)
    args = ap.parse_args()
    ext = Path(os.environ.get("PROVENANCE_EXT", "../shared/ext"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder, archive, index, files = layout(ext, work)
        n = len(files)
        with Store.open(work / "warm.duckdb") as st:  # one-time imports (pyarrow/duckdb pull in pandas)
            import_evidence(st, files[0][0], url=files[0][1], observed_at=WHEN)
        peer_files = files[: args.peer_files]
        rates: dict[str, list[float]] = {"folder": [], "tar": [], "index": [], "again": [], "peer": []}
        for r in range(args.rounds):
            for name, source, when in (("folder", folder, WHEN), ("tar", archive, WHEN), ("index", index, None)):
                with Store.open(work / f"{name}{r}.duckdb") as st:
                    secs = timed(lambda st=st, s=source, w=when: import_many(st, s, observed_at=w))
                    rates[name].append(n / secs)
                    if name == "folder":  # idempotent: the same again writes nothing
                        start = time.perf_counter()
                        again = import_many(st, folder, observed_at=WHEN)
                        rates["again"].append(n / (time.perf_counter() - start))
                        assert again.sightings_new == 0
            with Store.open(work / f"peer{r}.duckdb") as st:

                def peer(st=st) -> None:
                    for path, url in peer_files:
                        import_evidence(st, path, url=url, observed_at=WHEN)

                rates["peer"].append(len(peer_files) / timed(peer))
        print(f"files: {n} robots.txt (protego corpus); peer on the first {len(peer_files)}; rounds {args.rounds}")
        print("figures measured on a shared, loaded 2-core machine")
        for name, values in rates.items():
            print(
                f"{name:>7}: median {statistics.median(values):8.0f} files/s, spread {min(values):.0f}-"
                f"{max(values):.0f}, floor {min(values):.0f}  rounds {', '.join(f'{v:.0f}' for v in values)}"
            )
        for name in ("folder", "tar", "index"):
            ratio = statistics.median(rates[name]) / statistics.median(rates["peer"])
            print(f"ratio {name} / one-by-one peer: {ratio:.1f}x")
        floor = min(min(rates[k]) for k in ("folder", "tar", "index"))
        print(f"target >= 1000 files/s: {'met' if floor >= 1000 else 'NOT met'} (floor {floor:.0f})")


if __name__ == "__main__":
    main()
