"""Scale benchmark: ingest -> decide -> dedup on a synthetic corpus, each stage a real CLI process,
printing wall time, the stage's own peak RSS (from wait4, not the parent's) and the store size.

    python bench/scale_bench.py [--docs 100000 1000000] [--memory-limit 4GB] [--workdir DIR]
    python bench/scale_bench.py --write-path [--docs 100000 1000000 10000000]

`--write-path` measures the store writer alone (no extraction): synthetic typed documents with
their texts go through `Store.write_corpus_documents` in ingest's batches of 256; the store is
filled to each size with the same writer in batches of 50,000, and the next 100k rows are timed
there. Seconds per 100k rows at 100k, 1M and 10M documents should not grow.

    python bench/scale_bench.py --ray-ingest [--docs 40000] [--files 8] [--rounds 2]

`--ray-ingest` splits the corpus into `--files` JSONL files and runs `ingest --engine ray` with a
local Ray of 1 and of 2 workers, and the local engine with 2 processes, interleaved per round, each
a CLI process into a fresh store; prints documents/s (median of the rounds) and the 2/1 ratio.

    python bench/scale_bench.py --ray-equivalence [--docs 100000] [--files 8]

`--ray-equivalence` builds the same corpus into two stores, one through the local engine and one
through `--engine ray` (a local Ray of 2 workers), stage by stage as CLI processes: ingest (JSONL
files, one in eight records an HTML page with a robots meta tag), the same real robots.txt files
of 2,000 origins imported into both (`--ext`), decide, dedup. It then compares the stores table by
table (documents, texts, evidence, observations, decisions, clusters, signatures; run ids left
out): row counts and an md5 over the sorted md5s of the rows. Prints wall time per stage per
engine (CPU is the coordinator's alone: Ray's workers are not its children) and exits 1 on any
difference.

Documents are ~3 KB of Zipf-drawn words with 20 % planted near-duplicate families
(bench/dedup_bench.py's `make_corpus`), written as JSONL with URLs over 10k origins. Ingest writes
are checked for flatness: seconds per 100k rows is printed for each size, and should not grow.
The floor printed beside decide is DuckDB writing the same number of narrow rows and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._corpus import make_corpus


def write_corpus(path: Path, n: int) -> int:
    with path.open("w", encoding="utf-8") as f:
        for i, text in enumerate(make_corpus(n)):
            url = f"https://site{i % 10_000}.example/a/{i}"
            f.write(json.dumps({"id": f"doc{i}", "url": url, "text": text, "date": "2025-01-01T00:00:00Z"}) + "\n")
    return path.stat().st_size


def run_stage(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one CLI process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "scanner", *args], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"stage {args[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def narrow_floor(n: int) -> float:
    """Seconds for DuckDB to write n (doc id, outcome id, run id) rows: the floor under decide."""
    import duckdb

    con = duckdb.connect(":memory:")
    start = time.perf_counter()
    con.execute(
        "CREATE TABLE t AS SELECT 'doc' || range::VARCHAR AS doc_id, (range % 97)::INTEGER AS outcome, "
        f"'run' AS run_id FROM range({n})"
    )
    return time.perf_counter() - start


def synthetic_documents(start: int, n: int) -> list:
    """n typed documents (ids as ingest makes them) with a short text each."""
    from scanner.corpus.records import Document, document_id, sha256_hex

    docs = []
    for i in range(start, start + n):
        text = f"document {i} of the write-path bench"
        host = f"site{i % 10_000}.example"
        url = f"https://{host}/a/{i}"
        content = sha256_hex(text)
        docs.append(
            Document(
                doc_id=document_id("bench", url, None, content),
                source_id="bench", url=url, origin=f"https://{host}", host=host,
                registrable_domain=host, fetched_at=None, content_sha256=content,
                raw_bytes=len(text), text_sha256=sha256_hex(text), token_count=7, modality="text",
                content_type="text/plain", language="en", http_status=200, record_locator=f"bench:{i}", text=text,
            )
        )
    return docs


def write_path(sizes: list[int], workdir: Path | None) -> None:
    """Seconds per 100k rows written by the store writer at each store size (see the module doc)."""
    from scanner.store import Store

    print(f"write path: Store.write_corpus_documents, batches of 256; load {os.getloadavg()[0]:.1f}")
    head = ("docs in store", "s per 100k rows", "cpu s", "store MB", "floor s/100k", "floor cpu s")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (14, 16, 7, 9, 12, 11), strict=True)))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "w.duckdb"
        with Store.open(path) as store:
            stored = 0
            for size in sorted(sizes):
                while stored < size:  # fill with the same writer, in large batches
                    n = min(50_000, size - stored)
                    store.write_corpus_documents(synthetic_documents(stored, n), "fill")
                    stored += n
                batches = [synthetic_documents(stored + k, 256) for k in range(0, 100_000, 256)]
                wall, cpu = time.perf_counter(), time.process_time()
                written = sum(store.write_corpus_documents(b, "timed") for b in batches)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                stored += written
                again = sum(store.write_corpus_documents(b, "again") for b in batches[:40])  # idempotent
                assert written == sum(len(b) for b in batches) and again == 0
                mb = path.stat().st_size / 1e6
                floor_wall, floor_cpu = append_floor(store, batches)
                print(
                    f"{size:>14,} {wall / written * 1e5:>16.2f} {cpu:>7.1f} {mb:>9.0f} "
                    f"{floor_wall / written * 1e5:>12.2f} {floor_cpu:>11.1f}",
                    flush=True,
                )


def append_floor(store, batches: list) -> tuple[float, float]:
    """(wall s, CPU s) of the same batches appended with a plain INSERT (no key check, no index)
    to copies of the tables at the same size, one transaction per batch: the floor under ours."""
    from scanner.store.documents import documents_table, texts_table

    store.query("CREATE OR REPLACE TABLE floor_docs AS SELECT * FROM documents")
    store.query("CREATE OR REPLACE TABLE floor_texts AS SELECT * FROM texts")
    wall, cpu = time.perf_counter(), time.process_time()
    for docs in batches:
        with store.transaction(), store.temporary("d", documents_table(docs, "floor")), store.temporary(
            "t", texts_table(docs)
        ):
            store.query("INSERT INTO floor_texts BY NAME SELECT * FROM t")
            store.query("INSERT INTO floor_docs BY NAME SELECT * FROM d")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.query("DROP TABLE floor_docs; DROP TABLE floor_texts")
    return wall, cpu


def ray_ingest(n: int, files: int, rounds: int, workdir: Path | None, env: dict[str, str]) -> None:
    """documents/s of `ingest --engine ray` with 1 and 2 local workers, and of the local engine."""
    import statistics

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        whole = Path(tmp) / "corpus.jsonl"
        write_corpus(whole, n)
        parts = [Path(tmp) / f"part-{k}.jsonl" for k in range(files)]
        outs = [p.open("w", encoding="utf-8") for p in parts]
        with whole.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                outs[i % files].write(line)
        for out in outs:
            out.close()
        engines = {
            "ray x1": ["--engine", "ray", "--workers", "1"],
            "ray x2": ["--engine", "ray", "--workers", "2"],
            "local x2": ["--workers", "2"],
        }
        rates: dict[str, list[float]] = {k: [] for k in engines}
        for r in range(rounds):
            for name, flags in engines.items():
                store = Path(tmp) / f"{name.replace(' ', '')}-{r}.duckdb"
                cli = ["ingest", *map(str, parts), "--source", "bench", *flags, "--store", str(store)]
                wall, _, _ = run_stage(cli, env)
                rates[name].append(n / wall)
                store.unlink()
        print(f"ray ingest: {n:,} documents in {files} files, {rounds} rounds; load {os.getloadavg()[0]:.1f}")
        for name, got in rates.items():
            print(f"  {name:<9} {statistics.median(got):>9,.0f} docs/s (spread {min(got):,.0f}-{max(got):,.0f})")
        ratio = statistics.median(rates["ray x2"]) / statistics.median(rates["ray x1"])
        print(f"  ray x2 / ray x1: {ratio:.2f}")


EQUIVALENCE_TABLES = {  # what the two engines must write alike; run ids and run times left out
    "documents": "SELECT * EXCLUDE (run_id) FROM documents",
    "texts": "SELECT * FROM texts",
    "evidence": "SELECT * FROM evidence",
    "observations": "SELECT * EXCLUDE (run_id) FROM observations",
    "robots_compiled": "SELECT sha256, rules_version FROM robots_compiled",
    "decisions": "SELECT * EXCLUDE (run_id, decided_at) FROM decisions",
    "dup_clusters": "SELECT * EXCLUDE (run_id) FROM dup_clusters",
    "dedup_signatures": "SELECT * FROM dedup_signatures",
}


def equivalence_corpus(folder: Path, n: int, files: int) -> list[Path]:
    """n generated documents as JSONL over `files` files, URLs over 2,000 origins (those of the
    robots.txt files imported); one record in eight is an HTML page with a robots meta tag."""
    parts = [folder / f"part-{k}.jsonl" for k in range(files)]
    outs = [p.open("w", encoding="utf-8") for p in parts]
    try:
        for i, text in enumerate(make_corpus(n)):
            rec = {"id": f"doc{i}", "url": f"https://site{i % 2000}.example/a/{i}", "date": "2025-01-02T00:00:00Z"}
            if i % 8 == 0:
                meta = f'<meta name="robots" content="{("noai", "noindex", "all")[i % 3]}">'
                rec["html"] = f"<html><head>{meta}</head><body><p>{text}</p></body></html>"
            else:
                rec["text"] = text
            outs[i % files].write(json.dumps(rec) + "\n")
    finally:
        for out in outs:
            out.close()
    return parts


def import_robots(store_path: Path, ext: Path, origins: int = 2000) -> None:
    """The same real robots.txt files (protego's corpus) for `origins` origins into a store."""
    import tarfile
    from datetime import UTC, datetime

    from scanner.corpus.records import sha256_hex
    from scanner.evidence import Observation, write_observations
    from scanner.store import Store

    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [f.read() for m in tar if m.isfile() and (f := tar.extractfile(m)) is not None]
    seen = datetime(2025, 1, 1, tzinfo=UTC)
    obs = [
        (body, Observation(sha256_hex(body), "robots.txt", f"https://site{i}.example/robots.txt", seen, "import", 200))
        for i, body in ((i, bodies[i % len(bodies)]) for i in range(origins))
    ]
    with Store.open(store_path) as store:
        write_observations(store, obs)


def store_digest(store_path: Path) -> dict[str, tuple[int, str]]:
    """(rows, md5 over the sorted md5s of the rows) of each table of EQUIVALENCE_TABLES."""
    from scanner.store import Store

    with Store.open(store_path, read_only=True) as store:
        return {
            name: tuple(
                store.query(
                    f"""SELECT count(*) AS n, coalesce(md5(string_agg(h, '' ORDER BY h)), '') AS digest
                        FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM ({sql}) t)"""
                ).to_pylist()[0].values()
            )
            for name, sql in EQUIVALENCE_TABLES.items()
        }


def ray_equivalence(n: int, files: int, ext: Path, workdir: Path | None, env: dict[str, str]) -> bool:
    """ingest -> robots.txt import -> decide -> dedup through the local engine and through Ray,
    stage by stage interleaved; True when every table is the same row for row."""
    engines = {"local": ["--workers", "2"], "ray": ["--engine", "ray", "--workers", "2"]}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        parts = equivalence_corpus(Path(tmp), n, files)
        stores = {name: Path(tmp) / f"{name}.duckdb" for name in engines}
        print(f"ray equivalence: {n:,} documents in {files} files; {os.cpu_count()} cores", flush=True)
        print(f"{'stage':<7} {'engine':<6} {'wall s':>8} {'coord cpu s':>12} {'load':>5}", flush=True)
        stages = {
            "ingest": lambda store: ["ingest", *map(str, parts), "--source", "bench", "--store", str(store)],
            "decide": lambda store: ["decide", "--store", str(store)],
            "dedup": lambda store: ["dedup", "--store", str(store)],
        }
        for stage, cli in stages.items():
            if stage == "decide":
                for store in stores.values():
                    import_robots(store, ext)
            for name, flags in engines.items():
                wall, cpu, _ = run_stage([*cli(stores[name]), *flags], env)
                print(f"{stage:<7} {name:<6} {wall:>8.1f} {cpu:>12.1f} {os.getloadavg()[0]:>5.1f}", flush=True)
        digests = {name: store_digest(store) for name, store in stores.items()}
    same = True
    print(f"{'table':<17} {'local rows':>11} {'ray rows':>11} same")
    for table in EQUIVALENCE_TABLES:
        (ln, ld), (rn, rd) = digests["local"][table], digests["ray"][table]
        same &= (ln, ld) == (rn, rd)
        print(f"{table:<17} {ln:>11,} {rn:>11,} {'yes' if (ln, ld) == (rn, rd) else 'NO'}  {ld[:12]} {rd[:12]}")
    print("row for row the same" if same else "THE STORES DIFFER")
    return same


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, nargs="+", default=[100_000])
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--write-path", action="store_true", help="time the store writer alone (see above)")
    ap.add_argument("--ray-ingest", action="store_true", help="ingest on Ray with 1 and 2 workers (see above)")
    ap.add_argument(
        "--ray-equivalence", action="store_true", help="the local engine and Ray, row for row (see above)"
    )
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "RAY_USAGE_STATS_ENABLED": "0"}
    if args.write_path:
        write_path(args.docs, args.workdir)
        return
    if args.ray_ingest:
        ray_ingest(args.docs[0], args.files, args.rounds, args.workdir, env)
        return
    if args.ray_equivalence:
        sys.exit(0 if ray_equivalence(args.docs[0], args.files, args.ext, args.workdir, env) else 1)
    print(f"machine: {os.cpu_count()} cores; dedup with DuckDB memory_limit={args.memory_limit}")
    print(f"{'docs':>9} {'stage':<7} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'store MB':>9} {'B/doc':>7} note")
    for n in args.docs:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            corpus, store = Path(tmp) / "corpus.jsonl", Path(tmp) / "s.duckdb"
            size = write_corpus(corpus, n)
            common = ["--store", str(store)]
            stages = [
                ("ingest", ["ingest", str(corpus), "--source", "bench", "--workers", "2", *common]),
                ("decide", ["decide", *common]),
                ("dedup", ["dedup", "--memory-limit", args.memory_limit, "--temp-dir", tmp, *common]),
            ]
            for name, cli in stages:
                wall, cpu, rss = run_stage(cli, env)
                store_mb = store.stat().st_size / 1e6
                note = ""
                if name == "ingest":
                    note = f"{wall / n * 1e5:.1f} s per 100k rows; corpus {size / 1e6:.0f} MB"
                elif name == "decide":
                    floor = narrow_floor(n)
                    note = f"{n / wall:,.0f} docs/s; floor (narrow rows alone) {n / floor:,.0f} rows/s"
                print(
                    f"{n:>9} {name:<7} {wall:>8.1f} {cpu:>8.1f} {rss:>8.0f} {store_mb:>9.0f} "
                    f"{store.stat().st_size / n:>7.0f} {note}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
