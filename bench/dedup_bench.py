"""Dedup benchmark: our MinHash signatures against datasketch `MinHash.bulk` on the same shingles,
and our whole dedup (signatures -> DuckDB band join -> scipy components -> store) against
text-dedup (bench/scale_bench.py runs it at 10^5–10^7 documents for memory).

    python bench/dedup_bench.py [--docs 20000] [--sig-docs 4000] [--rounds 3] [--datatrove]

Like for like: the same corpus, 16×8 bands and 5-word shingles for all, no signature check on
ours (the peers have none), the same number of processes (text-dedup's `num_proc` 1 and 2 beside
ours with 1 and 2 workers), interleaved rounds, wall and CPU seconds (children included: our
worker pool, the peer's subprocess and its workers), and text-dedup's interpreter start-up
measured apart so it can be left out.

`--workers-docs N` runs only 1 process against 2 workers, on N documents: the signatures, the
whole dedup from the store, and the pool's floor, its worker processes alone hashing their parts
from files (1 against 2): what the hashing itself gains from a second process on this machine,
which bounds what the whole dedup can gain. "2 workers" is what `--workers 2` runs: two lanes, the
coordinator and one worker process.

`--tail-docs N` runs only the whole dedup with 2 lanes and prints what follows the last signature,
step by step (each step timed by wrapping it).

`--geometry-docs N` runs only the hashing's working sets: ours (cache-sized runs and permutation
blocks) against the part-sized geometry before it, each in 1 process and in 2 forked processes
side by side, on the same parts.

The corpus is generated here (`make_corpus`): documents of ~3 KB drawn from a Zipf vocabulary,
20 % of them in planted families of near-duplicates with known edit rates (as in
../shared/spec/dedup-notes.md §2.1). Peers run on the same corpus in the same run when installed:

    pip install datatrove tokenizers spacy orjson          # (the dev extra has datatrove)
    pip install --no-deps text-dedup==0.4.0 && pip install click-option-group ftfy regex xxhash

(text-dedup's declared dependencies pull pyspark and a pinned urllib3; its MinHash script needs
none of them.)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from datasketch import MinHash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import corpus_rows, make_corpus
from _harness import Sample, cpu_rate, header, interleaved, rate, ratio, spread

from scanner.dedup import minhash
from scanner.dedup import workers as workers_protocol
from scanner.dedup.clusters import dedup
from scanner.dedup.lsh import bands_for
from scanner.dedup.minhash import SignatureParams, fast_shingles, shingle_hash, shingles, signatures
from scanner.dedup.workers import signature_pool
from scanner.store import Store


def datatrove_dedup(docs: list[str], tmp: Path) -> tuple[float, int] | None:
    """datatrove's four MinHash stages on the same corpus (needs datatrove, tokenizers, spacy)."""
    try:
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.dedup.minhash import (
            MinhashConfig,
            MinhashDedupBuckets,
            MinhashDedupCluster,
            MinhashDedupFilter,
            MinhashDedupSignature,
        )
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.writers import JsonlWriter
    except ImportError as exc:
        print(f"dedup       datatrove not available ({exc}): pip install datatrove tokenizers spacy orjson")
        return None
    import json

    src = tmp / "dt-in"
    src.mkdir()
    (src / "docs.jsonl").write_text("".join(json.dumps({"id": str(i), "text": d}) + "\n" for i, d in enumerate(docs)))
    from datatrove.utils.hashing import HashConfig

    # sha1 (as FineWeb): datatrove's default xxhash64 path fails with the installed xxhash (str input)
    cfg = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8, hash_config=HashConfig(hash_fc="sha1"))
    logs = str(tmp / "dt-logs")
    t = time.perf_counter()
    LocalPipelineExecutor(
        [JsonlReader(str(src)), MinhashDedupSignature(str(tmp / "dt-sig"), config=cfg)], tasks=1, logging_dir=logs + "1"
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupBuckets(str(tmp / "dt-sig"), str(tmp / "dt-buckets"), config=cfg)],
        tasks=cfg.num_buckets,
        workers=1,
        logging_dir=logs + "2",
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupCluster(str(tmp / "dt-buckets"), str(tmp / "dt-remove"), config=cfg)],
        tasks=1,
        logging_dir=logs + "3",
    ).run()
    LocalPipelineExecutor(
        [
            JsonlReader(str(src)),
            MinhashDedupFilter(str(tmp / "dt-remove")),
            JsonlWriter(str(tmp / "dt-out"), compression=None),
        ],
        tasks=1,
        logging_dir=logs + "4",
    ).run()
    elapsed = time.perf_counter() - t
    kept = sum(len(f.read_text().splitlines()) for f in (tmp / "dt-out").glob("*.jsonl"))
    return elapsed, len(docs) - kept


def textdedup_dedup(docs: list[str], tmp: Path, num_proc: int = 1) -> tuple[float, int] | None:
    """text-dedup 0.4.0's MinHash script (xxh3, 16×8, `num_proc` processes) on the same corpus, as
    a subprocess (its CPU seconds count as our child's); (its own timer, documents removed)."""
    try:
        import datasets
        import text_dedup  # noqa: F401
    except ImportError as exc:
        print(f"dedup       text-dedup not available ({exc}): see this file's docstring")
        return None
    import shutil

    if not (tmp / "td-in").exists():
        datasets.Dataset.from_dict({"text": docs}).save_to_disk(str(tmp / "td-in"))
    shutil.rmtree(tmp / "td-out", ignore_errors=True)
    shutil.rmtree(tmp / "td-cache", ignore_errors=True)  # no cached map results between rounds
    args = ["--path", str(tmp / "td-in"), "--local", "--output", str(tmp / "td-out"), "--column", "text"]
    args += ["--b", "16", "--r", "8", "--num_perm", "128", "--ngram", "5", "--hash_func", "xxh3"]
    args += ["--num_proc", str(num_proc), "--min_length", "0", "--cache_dir", str(tmp / "td-cache")]
    env = {**os.environ, "COLUMNS": "250"}  # rich must not wrap its timer lines
    run = subprocess.run([sys.executable, "-m", "text_dedup.minhash", *args], capture_output=True, text=True, env=env)
    log = run.stdout + run.stderr
    total = re.search(r"Total\s*:\s*([0-9.]+)s", log)  # its own timer: excludes interpreter start-up
    after = re.search(r"After\s*:\s*([0-9]+)", log)
    if run.returncode or not total or not after:
        print(f"dedup       text-dedup failed: {log[-500:]}")
        return None
    return float(total.group(1)), len(docs) - int(after.group(1))


def _parts(column: pa.Array) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, UTF-8 bytes, offsets from 0) of each part `signatures` hashes (about 1 MB of
    text each)."""
    parts = []
    for lo, hi in minhash._byte_batches(column):
        part = column.slice(lo, hi - lo)
        offsets = np.frombuffer(part.buffers()[1], dtype=np.int64)[part.offset : part.offset + len(part) + 1]
        data = np.frombuffer(part.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        parts.append((lo, data, offsets - offsets[0]))
    return parts


def _sig_section(docs: list[str], rounds: int) -> None:
    """Signatures in one process: ours (both profiles) and datasketch `MinHash.bulk` on the same
    shingles and the same SHA-1 hash (its default), and the floor: permutations + minima alone on
    hashes already computed (what no hash function can go below)."""
    column = pa.array(docs, pa.large_string())
    ours = signatures(column)
    ours_sha1 = signatures(column, SignatureParams(profile="sha1"))
    theirs = MinHash.bulk([shingles(d) for d in docs], num_perm=128)
    assert all(np.array_equal(a, m.hashvalues) for a, m in zip(ours_sha1, theirs, strict=True))
    for i in range(0, len(docs), max(1, len(docs) // 50)):  # the fast profile, through datasketch itself
        m = MinHash(num_perm=128, hashfunc=shingle_hash)
        m.update_batch(fast_shingles(docs[i]))
        assert np.array_equal(m.hashvalues, ours[i])
    print("signatures  bit-identical: sha1 profile = MinHash.bulk; fast profile = MinHash(hashfunc=shingle_hash)")
    # the parts `signatures` hashes (about 1 MB of text each): one buffer of every text would time
    # temporaries far beyond the cache, not the step
    parts = _parts(column)
    hashed = [(lo, *minhash._fast_hashes(data, offsets, 5)) for lo, data, offsets in parts]
    perms = minhash.permutations()
    print(f"            {sum(len(h) for _, h, _ in hashed):,} shingles in {len(parts)} parts")

    def hash_parts() -> None:
        for _, data, offsets in parts:
            minhash._fast_hashes(data, offsets, 5)

    def floor() -> None:
        out = np.full((len(docs), 128), minhash.EMPTY, dtype=np.uint32)
        for lo, hashes, owner in hashed:
            minhash._minima(out, hashes, owner, perms, lo)

    res = interleaved(
        {
            "ours fast": lambda: signatures(column),
            "ours sha1": lambda: signatures(column, SignatureParams(profile="sha1")),
            "datasketch": lambda: MinHash.bulk([shingles(d) for d in docs], num_perm=128),
            "hash": hash_parts,
            "floor": floor,
        },
        rounds,
    )
    header(f"signatures, one process, {len(docs)} documents", rounds)
    labels = {
        "hash": "ours fast, shingle hashing alone",
        "floor": "floor: 128 permutations + minima on given hashes",
    }
    for name, samples in res.items():
        print(
            f"  {labels.get(name, name):48} {rate(samples, len(docs)):>24} docs/s  "
            f"{cpu_rate(samples, len(docs)):>24} docs/CPU-s"
        )
    print(f"  ours fast ÷ datasketch {ratio(res['ours fast'], res['datasketch'], cpu=True)} CPU")
    print(f"  ours sha1 ÷ datasketch {ratio(res['ours sha1'], res['datasketch'], cpu=True)} CPU (the same hash)")
    print(
        f"  floor ÷ ours fast      {ratio(res['floor'], res['ours fast'], cpu=True)} CPU (share of ours at the floor)"
    )
    per = {k: statistics.median(s.cpu for s in res[k]) / len(docs) * 1e5 for k in ("hash", "floor", "ours fast")}
    print(
        f"  per 100k documents: shingle hashing {per['hash']:.1f} CPU-s, floor (permutations + minima) "
        f"{per['floor']:.1f}, the whole fast profile {per['ours fast']:.1f}"
    )


def _fill(store: Store, docs: list[str]) -> None:
    """The corpus as documents and texts of a real store."""
    for lo in range(0, len(docs), 20_000):
        texts, rows = corpus_rows(docs[lo : lo + 20_000], lo)
        store.write_texts(texts)
        store.write_documents(rows)


def _request_files(column: pa.Array, folder: Path, workers: int) -> list[Path]:
    """The parts `signatures` sends its workers (signatures and the default band keys asked),
    dealt in turn into one file per worker, byte for byte as each would come down its stdin."""
    files = [folder / f"parts-{workers}-{w}.bin" for w in range(workers)]
    outs = [f.open("wb") for f in files]
    b, r = bands_for(0.8, minhash.NUM_PERM)
    for i, (_, data, offsets) in enumerate(_parts(column)):
        head = (0, minhash.NUM_PERM, minhash.SHINGLE_WORDS, minhash.SEED, b, r, len(offsets) - 1, len(data))
        outs[i % workers].write(workers_protocol._REQUEST.pack(*head))
        outs[i % workers].write(offsets.astype("<i8").tobytes())
        outs[i % workers].write(data.tobytes())
    for out in outs:
        out.close()
    return files


def _from_files(files: list[Path]):
    """The floor of the pool: its worker processes (start-up included) reading their parts from
    files in the page cache, side by side, replies thrown away. No coordinator, pipe or store:
    what the hashing alone gains from a second process on this machine."""

    def run() -> None:
        env = os.environ | {"OPENBLAS_NUM_THREADS": "1"}  # as the pool starts them
        procs = []
        for f in files:
            with f.open("rb") as part:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "scanner.dedup.workers"],
                        stdin=part,
                        stdout=subprocess.DEVNULL,
                        cwd=workers_protocol._ROOT,
                        env=env,
                    )
                )
        if any(p.wait() for p in procs):
            raise RuntimeError("a signature worker failed on its request file")

    return run


def _workers_section(n: int, rounds: int) -> None:
    """1 process against 2 workers on a large input, in wall time (the workers' start-up
    included): the signatures step alone, and the whole dedup from the store; and the floor of
    the pool, its workers alone hashing from files, 1 against 2."""
    docs = make_corpus(n)
    column = pa.array(docs, pa.large_string())
    print(f"corpus: {n} generated documents, {sum(len(d) for d in docs) / 1e6:.0f} MB; load {os.getloadavg()}")

    def sigs(workers: int):
        def run() -> None:
            pool = signature_pool(workers)
            try:
                signatures(column, pool=pool)
            finally:
                if pool is not None:
                    pool.shutdown()

        return run

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "d.duckdb") as store:
        _fill(store, docs)
        one_file, two_files = _request_files(column, Path(tmp), 1), _request_files(column, Path(tmp), 2)

        def whole(workers: int):
            return lambda: dedup(store, threshold=0.8, verify=False, workers=workers)

        def forget(name: str) -> None:
            store.query("DELETE FROM dedup_signatures")

        contenders = {
            "signatures, 1 process": sigs(1),
            "signatures, 2 workers": sigs(2),
            "whole dedup, 1 process": whole(1),
            "whole dedup, 2 workers": whole(2),
            "floor, 1 worker": _from_files(one_file),
            "floor, 2 workers": _from_files(two_files),
        }
        res = interleaved(contenders, rounds, forget)
    header(f"1 process vs 2 workers, {n} documents (start-up included)", rounds)
    for name, samples in res.items():
        print(
            f"  {name:24} {rate(samples, n):>22} docs/s  wall {spread([s.wall for s in samples], '{:.1f}')} s, "
            f"CPU {spread([s.cpu for s in samples], '{:.1f}')} s (in workers "
            f"{spread([s.child_cpu for s in samples], '{:.1f}')}), "
            f"steal {spread([s.steal for s in samples], '{:.2f}')} s"
        )
    for step, single in (("signatures", "1 process"), ("whole dedup", "1 process"), ("floor", "1 worker")):
        one, two = res[f"{step}, {single}"], res[f"{step}, 2 workers"]
        print(
            f"  {step}: 2 workers ÷ {single}  {ratio(two, one)} faster in wall time   CPU {ratio(two, one, cpu=True)}"
        )
    print(f"  load after: {os.getloadavg()}")


GEOMETRIES = {  # the hashing's working sets: minhash's constants, set in the forked children
    "cache-sized (ours)": {},
    "part-sized (before)": {"_RUN_BYTES": minhash._TEXT_BATCH, "_BLOCK": 8192, "_GROUP": minhash.NUM_PERM},
}


def _forked(parts: list[tuple[int, np.ndarray, np.ndarray]], processes: int, geometry: dict[str, int]):
    """`sign_part` with band keys over every part, dealt in turn to `processes` forked children
    hashing side by side (as lanes take parts), `geometry`'s constants set in each child."""
    spec, bands = SignatureParams(), bands_for(0.8, minhash.NUM_PERM)
    _ = spec.perms  # drawn once, before the fork

    def run() -> None:
        children = []
        for lane in range(processes):
            pid = os.fork()
            if pid == 0:  # the child hashes its parts and leaves without Python's teardown
                status = 0
                try:
                    for name, value in geometry.items():
                        setattr(minhash, name, value)
                    for _, data, offsets in parts[lane::processes]:
                        minhash.sign_part(spec, data, offsets, bands)
                except BaseException:
                    status = 1
                os._exit(status)
            children.append(pid)
        if any(os.waitpid(pid, 0)[1] for pid in children):
            raise RuntimeError("a forked hashing process failed")

    return run


def _geometry_section(n: int, rounds: int) -> None:
    """The hashing's working sets, 1 process against 2 on the same parts: ours (runs of
    `_RUN_BYTES` of text, blocks of `_GROUP` permutations × `_BLOCK` shingles) against the
    part-sized geometry before it (each ~1 MB part hashed at once, blocks of 128 × 8,192, 4 MiB;
    its one buffer is now reused, where the code before allocated each block afresh)."""
    column = pa.array(make_corpus(n), pa.large_string())
    parts = _parts(column)
    print(f"corpus: {n} generated documents in {len(parts)} parts; load {os.getloadavg()}")
    contenders = {
        f"{name}, {k} process{'es' if k > 1 else ''}": _forked(parts, k, geometry)
        for name, geometry in GEOMETRIES.items()
        for k in (1, 2)
    }
    res = interleaved(contenders, rounds)
    header(f"signatures by working set, {n} documents, forked processes", rounds)
    for name, samples in res.items():
        print(
            f"  {name:34} {rate(samples, n):>22} docs/s  wall {spread([s.wall for s in samples], '{:.2f}')} s, "
            f"CPU {spread([s.cpu for s in samples], '{:.2f}')} s"
        )
    ours, before = GEOMETRIES
    for k in ("1 process", "2 processes"):
        print(f"  {ours} ÷ {before}, {k}: {ratio(res[f'{ours}, {k}'], res[f'{before}, {k}'])} faster in wall time")
    for name in GEOMETRIES:
        one, two = res[f"{name}, 1 process"], res[f"{name}, 2 processes"]
        print(f"  {name}: 2 processes ÷ 1  {ratio(two, one)} faster in wall time")


def _timed_steps(log: list[tuple[str, float, float]]) -> list:
    """Wrap the dedup's steps with timers appending (step, start, end) to `log`; returns what to
    restore. The steps: the lanes' parts, the store's writes and reads, the band join."""
    from scanner.dedup import buckets, clusters
    from scanner.dedup.workers import SignaturePool
    from scanner.store import dedup_work

    steps = [(SignaturePool, "_run"), (SignaturePool, "shutdown"), (Store, "write_dedup_signatures")]
    steps += [(buckets.BandFiles, "write"), (buckets, "shared_buckets"), (buckets, "star_edges")]
    steps += [(clusters, "_kept_edges"), (clusters, "connected_components")]
    steps += [(dedup_work, name) for name in ("add_index", "add_edges", "add_members", "add_similarities")]
    steps += [(dedup_work, name) for name in ("replace_clusters", "cluster_counts", "removed_by_source")]
    restore = []
    for owner, name in steps:
        original = getattr(owner, name)
        label = f"{owner.__name__.rsplit('.', 1)[-1]}.{name}"  # e.g. buckets.shared_buckets, Store.write_...

        def timed(*args, _f=original, _label=label, **kwargs):
            t = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                log.append((_label, t, time.perf_counter()))

        setattr(owner, name, timed)
        restore.append((owner, name, original))
    return restore


def _tail_section(n: int, rounds: int) -> None:
    """What follows the last signature with 2 lanes: the serial tail, step by step (each step's
    time after the last part came back), median and spread over the rounds."""
    from scanner.dedup.clusters import BATCH

    if n < BATCH:
        raise SystemExit(f"--tail-docs needs {BATCH} documents or more: fewer are hashed without lanes")
    docs = make_corpus(n)
    log: list[tuple[str, float, float]] = []
    tails: list[float] = []
    totals: list[float] = []
    per_step: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "d.duckdb") as store:
        _fill(store, docs)
        restore = _timed_steps(log)
        try:
            for _ in range(rounds):
                store.query("DELETE FROM dedup_signatures")
                log.clear()
                t = time.perf_counter()
                dedup(store, threshold=0.8, verify=False, workers=2)
                end = time.perf_counter()
                last = max(e for name, _, e in log if name.endswith("._run"))
                totals.append(end - t)
                tails.append(end - last)
                steps = {name: 0.0 for name, _, _ in log if not name.endswith("._run")}
                for name, a, b in log:
                    if name in steps and b > last:
                        steps[name] += b - max(a, last)
                for name, seconds in steps.items():
                    per_step.setdefault(name, []).append(seconds)
        finally:
            for owner, name, original in restore:
                setattr(owner, name, original)
    header(f"the serial tail of the whole dedup, 2 lanes, {n} documents", rounds)
    whole, tail = spread(totals, "{:.2f}"), spread(tails, "{:.3f}")
    print(f"  whole dedup {whole} s; after the last signature {tail} s, of which:")
    for name, values in sorted(per_step.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"    {name:44} {spread(values, '{:.3f}')} s")
    print("  (the rest of the tail: Python between the steps, the transactions' commits, the scratch tables)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--sig-docs", type=int, default=4_000, help="documents for the one-process signature section")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--datatrove", action="store_true", help="also run datatrove's 4 stages (slow: spaCy words)")
    ap.add_argument("--workers-docs", type=int, default=0, help="only 1 vs 2 workers, on this many documents")
    ap.add_argument("--geometry-docs", type=int, default=0, help="only the hashing's working sets, 1 vs 2 processes")
    ap.add_argument("--tail-docs", type=int, default=0, help="only the steps after the last signature, 2 lanes")
    args = ap.parse_args()
    if args.tail_docs:
        _tail_section(args.tail_docs, args.rounds)
        return
    if args.workers_docs:
        _workers_section(args.workers_docs, args.rounds)
        return
    if args.geometry_docs:
        _geometry_section(args.geometry_docs, args.rounds)
        return
    docs = make_corpus(args.docs)
    mb = sum(len(d) for d in docs) / 1e6
    print(f"corpus: {len(docs)} generated documents, {mb:.0f} MB")
    _sig_section(docs[: args.sig_docs], args.rounds)

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "d.duckdb") as store:
        _fill(store, docs)
        found: dict = {}

        def ours(workers: int):
            def run() -> None:
                found["ours"] = dedup(store, threshold=0.8, verify=False, workers=workers)["near_duplicates"]

            return run

        def peer(num_proc: int):
            def run() -> None:
                out = textdedup_dedup(docs, Path(tmp), num_proc)
                if out is None:
                    raise SystemExit("text-dedup failed or is not installed (see this file's docstring)")
                found[f"td{num_proc}"] = out

            return run

        def startup() -> None:
            subprocess.run([sys.executable, "-c", "import text_dedup.minhash"], check=True)

        def forget(name: str) -> None:  # every round hashes every document again
            store.query("DELETE FROM dedup_signatures")

        contenders = {
            "ours, 1 process": ours(1),
            "ours, 2 workers": ours(2),
            "text-dedup, num_proc 1": peer(1),
            "text-dedup, num_proc 2": peer(2),
            "text-dedup start-up": startup,
        }
        res = interleaved(contenders, args.rounds, forget)
        header(f"whole dedup, {len(docs)} documents, 16×8 bands, 5-word shingles, no signature check", args.rounds)
        n = len(docs)
        for name, samples in res.items():
            kids = spread([s.child_cpu for s in samples], "{:.1f}")
            print(
                f"  {name:24} {rate(samples, n):>22} docs/s  {cpu_rate(samples, n):>22} docs/CPU-s  "
                f"wall {spread([s.wall for s in samples], '{:.1f}')} s, "
                f"CPU {spread([s.cpu for s in samples], '{:.1f}')}"
                f" s (in children {kids})"
            )
        up = statistics.median(s.cpu for s in res["text-dedup start-up"])
        own_timer = spread([found["td1"][0]], "{:.1f}")
        print(f"  text-dedup's own timer (last round, num_proc 1): {own_timer} s; its start-up {up:.1f} CPU-s")
        o1, o2 = res["ours, 1 process"], res["ours, 2 workers"]
        t1, t2 = res["text-dedup, num_proc 1"], res["text-dedup, num_proc 2"]
        less = [Sample(s.wall, s.cpu - up) for s in t1]
        print(f"  ours ÷ text-dedup, 1 process each  {ratio(o1, t1, cpu=True)} CPU   {ratio(o1, t1)} wall")
        print(f"  the same, text-dedup's start-up CPU left out  {ratio(o1, less, cpu=True)} CPU")
        print(f"  ours ÷ text-dedup, 2 processes each  {ratio(o2, t2, cpu=True)} CPU   {ratio(o2, t2)} wall")
        print(f"  ours 2 workers ÷ 1 process  {ratio(o2, o1)} faster in wall time   CPU {ratio(o2, o1, cpu=True)}")
        per = [s.child_cpu / 2 for s in o2]
        print(
            f"  ours 2 workers: CPU-s per worker {spread(per, '{:.1f}')} (signatures), main process "
            f"{spread([s.cpu - s.child_cpu for s in o2], '{:.1f}')} (store, join, components); "
            f"1 process: {spread([s.cpu for s in o1], '{:.1f}')}"
        )
        print(
            f"  duplicates found (candidates, as the peers): ours {found['ours']}, "
            f"text-dedup {found['td1'][1]} ({100 * (found['ours'] - found['td1'][1]) / max(found['td1'][1], 1):+.1f} %)"
        )
        if args.datatrove:
            out = datatrove_dedup(docs, Path(tmp))
            if out:
                print(f"  datatrove 4 stages, 1 process (1 run): {n / out[0]:.0f} docs/s, {out[1]} removed")


if __name__ == "__main__":
    main()
