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

    python bench/scale_bench.py --fill [--docs 1000000 10000000] [--memory-limit 4GB] [--ingest-rate 20000]
                                [--writers-unbounded]

`--fill` makes the 10M figures feasible on a small machine: a fresh store is filled to N documents
through ingest's own writer (each batch committed as ingest's `_write` does: documents and texts
by `Store.write_corpus_documents`, evidence, observations, compiled robots rules; a real robots.txt
per origin, a header sighting on one document in 20), with ingest's extraction (token count,
language detection) SKIPPED and labelled so; then `decide` and `dedup` run as CLI processes. Every
stage runs under `--memory-limit` with the temp folder beside the store (the fill opens the store
as `ingest --memory-limit --temp-dir` does); `--writers-unbounded` leaves the fill and decide at
DuckDB's default (80 % of RAM), as before they had the option. The fill prints, per step, its RSS
and peak, DuckDB's buffer manager's own account and the key filters' bytes. After each stage:
wall, CPU, peak RSS, store size and bytes per document; after dedup, the store's tables, files
left beside it and the texts' compression. The real CLI ingest's documents per CPU-second (1
worker, `--ingest-rate` documents) is printed beside it. Every process is started by a small
launcher begun first (see `run_process`), so its peak RSS is its own.

    python bench/scale_bench.py --commit-cost PREFILLED [--docs 50000] [--code DIR]

`--commit-cost` times the real CLI ingest (1 worker, the store opened lock-free as the CLI opens
it) of `--docs` documents into an empty store and into a copy of PREFILLED (a store made by
`--fill-into`), counting its commits (outermost `Store.transaction`s, by a wrapper in the ingest
process) and the CPU and wall time inside them (the rows' writes and the commit); prints CPU-s,
wall s and commits per 100k documents at both store sizes. `--code DIR`
runs another checkout's scanner (e.g. `git archive` of the commit before) on the same corpus.

Documents are ~3 KB of Zipf-drawn words with 20 % planted near-duplicate families
(bench/dedup_bench.py's `make_corpus`), written as JSONL with URLs over 10k origins. Ingest writes
are checked for flatness: seconds per 100k rows is printed for each size, and should not grow.
The floor printed beside decide is DuckDB writing the same number of narrow rows and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._corpus import make_corpus


def write_corpus(path: Path, n: int) -> int:
    with path.open("w", encoding="utf-8") as f:
        for i, text in enumerate(make_corpus(n)):
            url = f"https://site{i % 10_000}.example/a/{i}"
            f.write(json.dumps({"id": f"doc{i}", "url": url, "text": text, "date": "2025-01-01T00:00:00Z"}) + "\n")
    return path.stat().st_size


# The stages are started by a small launcher process begun before this one grows: Linux carries a
# process's peak RSS across fork and exec, so a stage forked from a parent holding a corpus (or
# lingua's models) would report the parent's peak as its own. The launcher's ~10 MB is the floor.
_LAUNCHER = r"""
import json, os, subprocess, sys
for line in sys.stdin:
    argv, env, show = json.loads(line)
    p = subprocess.Popen(argv, env=env, stdout=2 if show else subprocess.DEVNULL)
    _, status, u = os.wait4(p.pid, 0)
    print(json.dumps([status, u.ru_utime + u.ru_stime, u.ru_maxrss]), flush=True)
"""
_launcher: subprocess.Popen | None = None


def start_launcher() -> None:
    global _launcher
    if _launcher is None:
        _launcher = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )


def run_process(argv: list[str], env: dict[str, str], show: bool = False) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB from wait4) of one process, started by the launcher."""
    start_launcher()
    assert _launcher is not None and _launcher.stdin is not None and _launcher.stdout is not None
    sys.stdout.flush()
    start = time.perf_counter()
    _launcher.stdin.write(json.dumps([argv, env, show]) + "\n")
    _launcher.stdin.flush()
    status, cpu, maxrss = json.loads(_launcher.stdout.readline())
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv[1:3]} failed with status {status}")
    return wall, cpu, maxrss / 1024


def run_stage(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one CLI process."""
    return run_process([sys.executable, "-m", "scanner", *args], env)


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
# --- --fill: the store filled through ingest's writer, then the real decide and dedup CLI stages ---

FILL_BATCH = 20_000  # documents per fill transaction (ingest commits 256; the writer is the same)
FILL_HEADER_SHARE = 20  # one document in 20 carries an X-Robots-Tag header sighting, as a crawl's would


class FastCorpus:
    """`make_corpus`'s documents (Zipf words of six letters or more, 250-560 words, 20 % of
    documents starting a family of 1-4 near-duplicates) drawn with NumPy, ~30x faster, so a 10M
    store can be filled in the session. Deterministic per batch start; not the same texts as
    `make_corpus`, the same shape."""

    def __init__(self) -> None:
        import numpy as np

        from bench._corpus import _word

        self.np = np
        self.vocab = np.array([_word(i) for i in range(50_000)], dtype=object)
        weights = 1 / np.arange(1, 50_001)
        self.cum = np.cumsum(weights / weights.sum())

    def texts(self, start: int, n: int) -> list[str]:
        np = self.np
        rng = np.random.default_rng(start)
        out: list[str] = []
        while len(out) < n:
            k = int(rng.integers(250, 561))
            words = np.searchsorted(self.cum, rng.random(k))
            out.append(" ".join(self.vocab[words].tolist()))
            if rng.random() < 0.2:
                for _ in range(int(rng.integers(1, 5))):
                    rate = 0.0 if rng.random() < 0.1 else rng.uniform(0, 0.06 if rng.random() < 0.7 else 0.2)
                    variant = words.copy()
                    hit = rng.random(k) < rate
                    variant[hit] = rng.integers(0, 50_000, int(hit.sum()))
                    out.append(" ".join(self.vocab[variant].tolist()))
        return out[:n]


def fill_batch(corpus: FastCorpus, start: int, n: int, language: str | None) -> tuple[list, list]:
    """(documents, evidence sightings) of records start..start+n as the JSONL ingest of
    `write_corpus` builds them, minus the extraction (token count = words, language given)."""
    from scanner.corpus.records import Document, document_id, sha256_hex
    from scanner.evidence import Observation

    when = datetime(2025, 1, 1, tzinfo=UTC)
    header = json.dumps([["x-robots-tag", "noai, noimageai"]], separators=(",", ":")).encode()
    header_sha = sha256_hex(header)
    docs, evidence = [], []
    for i, text in enumerate(corpus.texts(start, n), start):
        host = f"site{i % 10_000}.example"
        url = f"https://{host}/a/{i}"
        sha = sha256_hex(text)
        docs.append(
            Document(
                doc_id=document_id("bench", url, when, sha), source_id="bench", url=url, origin=f"https://{host}",
                host=host, registrable_domain=host, fetched_at=when, content_sha256=sha, raw_bytes=len(text),
                text_sha256=sha, token_count=text.count(" ") + 1, modality="text", content_type="text/plain",
                language=language, http_status=None, record_locator=f"corpus.jsonl:{i + 1}", text=text,
            )
        )
        if i % FILL_HEADER_SHARE == 0:
            obs = Observation(header_sha, "headers", url, when, "corpus-record", 200, (), f"corpus.jsonl:{i + 1}")
            evidence.append((header, obs))
    return docs, evidence


def write_fill(store, docs: list, evidence: list) -> int:
    """One batch as ingest's `_write` commits it: documents, texts, bodies, sightings, rules."""
    from scanner.evidence import compile_rules
    from scanner.store.rows import observation_rows

    blobs, sightings = observation_rows(evidence, "fill")
    with store.transaction():
        new = store.write_corpus_documents(docs, "fill")
        store.write_evidence(blobs)
        store.write_observations(sightings)
        compile_rules(store, evidence)
    return new


def robots_sightings(ext: Path, origins: int) -> list:
    """A real robots.txt file (protego's corpus) per origin, captured before the documents."""
    import tarfile

    from scanner.corpus.records import sha256_hex
    from scanner.evidence import Observation

    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [f.read() for m in tar if m.isfile() and (f := tar.extractfile(m))]
    seen = datetime(2024, 12, 1, tzinfo=UTC)
    return [
        (b, Observation(sha256_hex(b), "robots.txt", f"https://site{i}.example/robots.txt", seen, "corpus-record", 200))
        for i, b in enumerate(bodies[i % len(bodies)] for i in range(origins))
    ]


def ingest_rate(n: int, workdir: Path | None, env: dict[str, str]) -> tuple[float, float]:
    """(documents per CPU-s, documents per wall s) of the real CLI ingest, 1 worker, n documents."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        write_corpus(corpus, n)
        wall, cpu, _ = run_stage(["ingest", str(corpus), "--source", "bench", "--workers", "1",
                                  "--store", str(Path(tmp) / "r.duckdb")], env)
    return n / cpu, n / wall


def store_report(store: Path, tmp: Path) -> str:
    """What the store keeps after dedup: its tables' rows, leftover scratch files beside it, and
    the compression DuckDB chose for the texts."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    tables = con.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY estimated_size DESC"
    ).fetchall()
    comp = con.execute(
        "SELECT compression, count(*) FROM pragma_storage_info('texts') WHERE column_name = 'text' "
        "AND segment_type = 'VARCHAR' GROUP BY ALL ORDER BY 2 DESC"
    ).fetchall()
    texts = con.execute("SELECT sum(strlen(text)) FROM texts").fetchone()[0] or 0
    con.close()
    left = sorted(p.name for p in tmp.iterdir() if p.name not in {"s.duckdb", "s.duckdb.wal"})
    rows = ", ".join(f"{t} ~{r:,}" for t, r in tables[:8])
    return (
        f"  tables (estimated rows): {rows}\n"
        f"  band/scratch tables in store: {[t for t, _ in tables if 'band' in t or 'scratch' in t] or 'none'}; "
        f"files left beside the store: {left or 'none'}\n"
        f"  texts: {texts / 1e6:,.0f} MB of text; segments by compression {comp}"
    )


def fill_store(store: Path, n: int, ext: Path, memory_limit: str | None, temp_dir: Path | None) -> None:
    """Fill a fresh store to n documents through ingest's writer (run as a process of its own),
    under DuckDB's memory limit as `ingest --memory-limit --temp-dir` opens the store. Each
    progress line gives the process's RSS and peak, and what DuckDB's buffer manager holds: the
    rest is Python's (batches, the KeyFilters' 8 B per stored key, Arrow copies)."""
    from scanner import api
    from scanner.corpus.text_stats import detect_language

    corpus = FastCorpus()
    language = detect_language(corpus.texts(0, 1)[0])
    wall = time.perf_counter()
    step = max(250_000, n // 20 // FILL_BATCH * FILL_BATCH)  # a line every step documents
    with api.open_store(store, memory=api.memory_bound(memory_limit, temp_dir)) as st:
        print(f"  fill under DuckDB memory_limit {st.memory_in_effect()['memory_limit']}", flush=True)
        write_fill(st, [], robots_sightings(ext, 10_000))
        done, mark = 0, time.perf_counter()
        with ThreadPoolExecutor(1) as pool:  # the next batch is drawn while DuckDB writes one
            ahead = pool.submit(fill_batch, corpus, 0, min(FILL_BATCH, n), language)
            while done < n:
                k = min(FILL_BATCH, n - done)
                docs, evidence = ahead.result()
                if done + k < n:
                    ahead = pool.submit(fill_batch, corpus, done + k, min(FILL_BATCH, n - done - k), language)
                assert write_fill(st, docs, evidence) == k
                done += k
                if done // step > (done - k) // step or done == n:
                    now = time.perf_counter()
                    rss, hwm = _rss_mb()
                    keys = st.key_filter_bytes() / 1e6
                    print(f"  fill {done:>10,} docs  {now - wall:>7.0f} s  last {step // 1000}k {now - mark:>5.0f} s  "
                          f"store {store.stat().st_size / 1e6:,.0f} MB  RSS {rss:,.0f} MB (peak {hwm:,.0f})  "
                          f"DuckDB {_duckdb_mb(st):,.0f} MB  key filters {keys:,.0f} MB  "
                          f"load {os.getloadavg()[0]:.1f}  {time.strftime('%H:%M:%S')}", flush=True)
                    mark = now


def _rss_mb() -> tuple[float, float]:
    """(RSS, peak RSS) of this process in MB, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _duckdb_mb(store) -> float:
    """What DuckDB's buffer manager holds now (its own account, under memory_limit)."""
    rows = store.query("SELECT sum(memory_usage_bytes)::BIGINT AS b FROM duckdb_memory()").to_pylist()
    return (rows[0]["b"] or 0) / 1e6


def fill_run(sizes: list[int], memory_limit: str, workdir: Path | None, env: dict[str, str], ext: Path,
             rate_docs: int, writers_unbounded: bool = False) -> None:
    """Fill a fresh store to n documents through ingest's writer, then decide and dedup as CLI
    processes; one line per stage (see the module doc). Every stage runs under `memory_limit`
    (the fill as `ingest --memory-limit` opens the store); `writers_unbounded`: only dedup does,
    the fill and decide get DuckDB's default (80 % of RAM), as before the writers had the option."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    bounded = "dedup" if writers_unbounded else "fill, decide and dedup"
    print(f"machine: {os.cpu_count()} cores; load {load}; {bounded} with DuckDB memory_limit={memory_limit}",
          flush=True)
    if rate_docs:
        per_cpu, per_wall = ingest_rate(rate_docs, workdir, env)
        print(f"real CLI ingest, 1 worker, {rate_docs:,} docs: {per_cpu:,.0f} docs per CPU-s "
              f"({per_wall:,.0f} docs/s wall); load {os.getloadavg()[0]:.1f}", flush=True)
    print("FILL: ingest's extraction (token count, language detection) SKIPPED; the rows go through "
          "Store.write_corpus_documents + evidence/observations + compile_rules, as ingest's batches do")
    print(f"{'docs':>10} {'stage':<7} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'store MB':>9} {'B/doc':>7} note",
          flush=True)
    me = str(Path(__file__).resolve())
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp_name:
            tmp = Path(tmp_name)
            store = tmp / "s.duckdb"
            bound = ["--memory-limit", memory_limit, "--temp-dir", str(tmp)]
            writers = [] if writers_unbounded else bound
            fill = [sys.executable, me, "--fill-into", str(store), "--docs", str(n), "--ext", str(ext), *writers]
            wall, cpu, rss = run_process(fill, env, show=True)
            _line(n, "fill", wall, cpu, rss, store, f"{n / wall:,.0f} docs/s; extraction skipped; "
                  f"load {os.getloadavg()[0]:.1f}")
            common = ["--store", str(store)]
            stages = [
                ("decide", ["decide", *writers, *common]),
                ("dedup", ["dedup", *bound, *common]),
            ]
            for name, cli in stages:
                wall, cpu, rss = run_stage(cli, env)
                _line(n, name, wall, cpu, rss, store, f"{n / wall:,.0f} docs/s; load {os.getloadavg()[0]:.1f} "
                      f"{time.strftime('%H:%M:%S')}")
            run_process([sys.executable, me, "--report-on", str(store)], env, show=True)


# --- --commit-cost: ingest's commits into an empty and a prefilled store (issue #21) ---

_COUNTING_INGEST = r"""
import atexit, contextlib, json, sys, time
from scanner.store import store as s
out, seen, plain = sys.argv[1], {"commits": 0, "cpu": 0.0, "wall": 0.0}, s.Store.transaction

@contextlib.contextmanager
def counted(self):
    if self._in_tx:
        yield self
        return
    cpu, wall = time.process_time(), time.perf_counter()
    with plain(self) as st:
        yield st
    seen["commits"] += 1
    seen["cpu"] += time.process_time() - cpu
    seen["wall"] += time.perf_counter() - wall

s.Store.transaction = counted
atexit.register(lambda: open(out, "w").write(json.dumps(seen)))
sys.argv = ["provenance", *sys.argv[2:]]
from scanner.cli import main
main()
"""


def commit_cost(n: int, prefilled: Path, code: Path, workdir: Path | None, env: dict[str, str]) -> None:
    """CPU-s and commits per 100k documents of the CLI ingest of n documents, empty vs prefilled."""
    import duckdb

    with duckdb.connect(str(prefilled), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    stage_env = env | {"PYTHONPATH": str(code.resolve())}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        size = write_corpus(corpus, n)
        print(f"commit cost: CLI ingest of {n:,} docs ({size / 1e6:,.0f} MB JSONL), 1 worker, code {code}; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        for label, start in (("empty", None), (f"{stored:,} docs", prefilled)):
            store = Path(tmp) / "s.duckdb"
            for leftover in (store, Path(f"{store}.wal")):
                leftover.unlink(missing_ok=True)
            if start is not None:
                shutil.copyfile(start, store)
            count = Path(tmp) / "commits"
            argv = [sys.executable, "-P", "-c", _COUNTING_INGEST, str(count), "ingest", str(corpus),
                    "--source", "bench", "--workers", "1", "--store", str(store)]
            wall, cpu, rss = run_process(argv, stage_env)
            seen = json.loads(count.read_text())
            per = 1e5 / n
            print(f"  into {label:>14}: {cpu * per:6.1f} CPU-s and {wall * per:6.1f} wall s per 100k docs; "
                  f"{seen['commits'] * per:6.1f} commits per 100k ({seen['commits']} in all), inside them "
                  f"{seen['cpu'] * per:5.1f} CPU-s {seen['wall'] * per:5.1f} wall s per 100k; peak {rss:,.0f} MB; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)


def _line(n: int, stage: str, wall: float, cpu: float, rss: float, store: Path, note: str) -> None:
    size = store.stat().st_size
    print(f"{n:>10} {stage:<7} {wall:>8.1f} {cpu:>8.1f} {rss:>8.0f} {size / 1e6:>9.0f} {size / n:>7.0f} {note}",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, nargs="+", default=[100_000])
    ap.add_argument("--memory-limit", default=None, help="DuckDB's memory limit (default 4GB)")
    ap.add_argument("--temp-dir", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--writers-unbounded", action="store_true",
                    help="with --fill: the fill and decide without --memory-limit (DuckDB's default), dedup with it")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--write-path", action="store_true", help="time the store writer alone (see above)")
    ap.add_argument("--ray-ingest", action="store_true", help="ingest on Ray with 1 and 2 workers (see above)")
    ap.add_argument(
        "--ray-equivalence", action="store_true", help="the local engine and Ray, row for row (see above)"
    )
    ap.add_argument("--ext", type=Path, default=Path(os.environ.get("PROVENANCE_EXT", "../shared/ext")))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--fill", action="store_true", help="fill through ingest's writer, then CLI decide, dedup")
    ap.add_argument("--ingest-rate", type=int, default=20_000, help="with --fill: docs of real ingest timed")
    ap.add_argument("--fill-into", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--commit-cost", type=Path, metavar="PREFILLED", help="ingest's commits, empty vs PREFILLED")
    ap.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent,
                    help="with --commit-cost: the checkout whose scanner ingests")
    ap.add_argument("--report-on", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "RAY_USAGE_STATS_ENABLED": "0"}
    if args.write_path:
        write_path(args.docs, args.workdir)
        return
    if args.fill_into:  # a fill started by `--fill`: bounded only when given the limit
        fill_store(args.fill_into, args.docs[0], args.ext, args.memory_limit, args.temp_dir)
        return
    args.memory_limit = args.memory_limit or "4GB"
    if args.report_on:
        print(store_report(args.report_on, args.report_on.parent), flush=True)
        return
    start_launcher()  # before this process grows (see run_process)
    if args.fill:
        fill_run(args.docs, args.memory_limit, args.workdir, env, args.ext, args.ingest_rate, args.writers_unbounded)
        return
    if args.commit_cost:
        commit_cost(args.docs[0], args.commit_cost, args.code, args.workdir, env)
        return
    if args.ray_ingest:
        ray_ingest(args.docs[0], args.files, args.rounds, args.workdir, env)
        return
    if args.ray_equivalence:
        sys.exit(0 if ray_equivalence(args.docs[0], args.files, args.ext, args.workdir, env) else 1)
    print(f"machine: {os.cpu_count()} cores; every stage with DuckDB memory_limit={args.memory_limit}")
    print(f"{'docs':>9} {'stage':<7} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'store MB':>9} {'B/doc':>7} note")
    for n in args.docs:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            corpus, store = Path(tmp) / "corpus.jsonl", Path(tmp) / "s.duckdb"
            size = write_corpus(corpus, n)
            common = ["--store", str(store), "--memory-limit", args.memory_limit, "--temp-dir", tmp]
            stages = [
                ("ingest", ["ingest", str(corpus), "--source", "bench", "--workers", "2", *common]),
                ("decide", ["decide", *common]),
                ("dedup", ["dedup", *common]),
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
