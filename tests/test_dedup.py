"""Deduplication: signatures bit-identical to datasketch, quality on real near-duplicates, the LSH
S-curve, clusters with provenance in the store, incremental and deterministic runs."""

from __future__ import annotations

import gzip
import json
import random
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.dedup.clusters import dedup, signature_rows
from scanner.dedup.lsh import band_keys, bands_for
from scanner.dedup.minhash import (
    PROFILES,
    SignatureParams,
    estimated_jaccard,
    fast_shingles,
    shingle_hash,
    shingles,
    signatures,
)
from scanner.dedup.signature_file import SignatureFile
from scanner.dedup.workers import SignaturePool
from scanner.store import Store
from tests import _report
from tests.conftest import copy_demo


def _datasketch(text: str, num_perm: int = 128, seed: int = 1, profile: str = "fast") -> np.ndarray:
    """datasketch's own MinHash over the profile's shingles: the default (SHA-1) hash for `sha1`,
    our scalar `shingle_hash` for `fast`."""
    if profile == "sha1":
        m = MinHash(num_perm=num_perm, seed=seed)
        grams = shingles(text)
    else:
        m = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash)
        grams = fast_shingles(text)
    for s in grams:
        m.update(s)
    return m.hashvalues


EDGE = [
    "",
    "   ",
    "one",
    "two words",
    "exactly five words right here",
    "Ünïcödé 日本語のテキスト mixed ✓ words",
    "a " * 1000,
    "punctuation, only!!! ... ???",
    "\n\t tabs\tand\nnewlines \r\n",
    "UPPER lower MiXeD 1234 under_score e-mail@example.com",
]


@pytest.mark.parametrize("profile", PROFILES)
def test_signatures_equal_datasketch_on_edge_cases(profile: str) -> None:
    ours = signatures(EDGE, SignatureParams(profile=profile))
    for text, sig in zip(EDGE, ours, strict=True):
        assert np.array_equal(sig, _datasketch(text, profile=profile)), repr(text)
    assert (ours[0] == np.uint32(0xFFFFFFFF)).all()  # empty text: the empty signature
    assert (ours[1] == np.uint32(0xFFFFFFFF)).all()  # blank text: no shingles either
    small = signatures(EDGE, SignatureParams(64, 42, profile=profile))
    assert np.array_equal(small[3], _datasketch(EDGE[3], 64, 42, profile))


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=400), min_size=1, max_size=12))
def test_signatures_equal_datasketch_on_random_texts(profile: str, texts: list[str]) -> None:
    for text, sig in zip(texts, signatures(texts, SignatureParams(profile=profile)), strict=True):
        assert np.array_equal(sig, _datasketch(text, profile=profile))


def test_fast_profile_from_arrow_equals_python_list_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Texts read straight from an Arrow column (as the store returns them), split into small parts
    and runs so texts straddle permutation blocks, and with permutation groups that do not divide
    128, give the same signatures as one list; so does the sha1 profile, run by run."""
    from scanner.dedup import minhash

    rnd = random.Random(2)
    texts = [
        " ".join(rnd.choice(["alpha", "Beta", "γάμμα", "d3lta", "--", "é"]) for _ in range(rnd.randint(0, 900)))
        for _ in range(300)
    ]
    texts.append(" ".join(texts))  # one text longer than 8 batches: hashed without the shared powers
    whole = signatures(texts)
    whole_sha1 = signatures(texts[:40], SignatureParams(profile="sha1"))
    monkeypatch.setattr(minhash, "_TEXT_BATCH", 5000)
    monkeypatch.setattr(minhash, "_RUN_BYTES", 1500)
    monkeypatch.setattr(minhash, "_BLOCK", 333)
    monkeypatch.setattr(minhash, "_GROUP", 48)
    column = pa.chunked_array([pa.array(texts[:120]), pa.array(texts[120:])])
    assert np.array_equal(signatures(column), whole)
    assert np.array_equal(signatures(column.chunk(0).slice(0, 40), SignatureParams(profile="sha1")), whole_sha1)
    assert np.array_equal(signatures(column.chunk(1).slice(7, 50)), whole[127:177])
    assert np.array_equal(signatures(pa.array(texts, pa.large_string()).slice(3)), whole[3:])


def test_our_signatures_load_into_a_datasketch_index() -> None:
    words = [f"word{i}" for i in range(80)]
    texts = [" ".join(words), " ".join([*words[:40], "changed", *words[41:]])]  # J = 71/81
    sigs = signatures(texts)
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    lsh.insert("a", MinHash(num_perm=128, seed=1, hashvalues=sigs[0], scheme="affine32"))
    assert lsh.query(MinHash(num_perm=128, seed=1, hashvalues=sigs[1], scheme="affine32")) == ["a"]


def test_band_choice() -> None:
    assert bands_for(0.8, 128) == (16, 8) and bands_for(0.5, 128) == (32, 4)


def test_quality_on_real_near_duplicates(ext: Path) -> None:
    """Ground truth + trafilatura + readability + goose3 outputs of the same page are copies of one
    article; different pages are distinct. Threshold 0.5, 128 permutations."""
    bench = ext / "article-extraction-benchmark"
    truth = json.loads(gzip.decompress((bench / "ground-truth.json.gz").read_bytes()))
    versions = {"truth": {k: v["articleBody"] for k, v in truth.items()}}
    for tool in ("trafilatura", "readability", "goose3"):
        out = json.loads(gzip.decompress((bench / f"output/{tool}.json.gz").read_bytes()))["output"]
        versions[tool] = {k: v["articleBody"] for k, v in out.items()}
    docs = [(key, tool, text[key]) for tool, text in versions.items() for key in sorted(truth) if text.get(key)]
    sigs = signatures([t for _, _, t in docs])
    b, r = bands_for(0.5, 128)
    keys = band_keys(sigs, b, r)
    buckets: dict[tuple[int, int], list[int]] = {}
    for i in range(len(docs)):
        for band in range(b):
            buckets.setdefault((band, int(keys[i, band])), []).append(i)
    candidates = {pair for members in buckets.values() for pair in combinations(members, 2)}
    found = {(i, j) for i, j in candidates if estimated_jaccard(sigs[i], sigs[j]) >= 0.5}
    same = {(i, j) for i, j in combinations(range(len(docs)), 2) if docs[i][0] == docs[j][0]}
    tp = len(found & same)
    precision, recall = tp / len(found), tp / len(same)
    _report.note(
        f"dedup on article-extraction-benchmark ({len(docs)} versions of 181 articles, threshold 0.5): "
        f"pair precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= 0.99 and recall >= 0.93


def test_detection_follows_the_s_curve() -> None:
    """Pairs of word sets with controlled overlap; per Jaccard bin the share of pairs sharing a
    band key equals 1-(1-s^r)^b within 0.03 (b=16, r=8)."""
    rnd = random.Random(11)
    b, r = 16, 8
    pairs = []
    for _ in range(6000):
        target = rnd.uniform(0.55, 0.95)
        base = [f"w{rnd.randrange(10**9)}" for _ in range(120)]
        shared = round(len(base) * 2 * target / (1 + target))  # |A∩B| for J = target, |A| = |B|
        other = base[:shared] + [f"x{rnd.randrange(10**9)}" for _ in range(len(base) - shared)]
        pairs.append((" ".join(base), " ".join(other)))
    sigs_a = signatures([a for a, _ in pairs])
    sigs_b = signatures([o for _, o in pairs])
    keys_a, keys_b = band_keys(sigs_a, b, r), band_keys(sigs_b, b, r)
    detected = (keys_a == keys_b).any(axis=1)
    exact = np.array(
        [
            len(set(fast_shingles(a)) & set(fast_shingles(o))) / len(set(fast_shingles(a)) | set(fast_shingles(o)))
            for a, o in pairs
        ]
    )
    worst = 0.0
    for low in np.arange(0.3, 0.9, 0.1):
        in_bin = (exact >= low) & (exact < low + 0.1)
        if in_bin.sum() < 150:
            continue
        theory = np.mean(1 - (1 - exact[in_bin] ** r) ** b)
        worst = max(worst, abs(detected[in_bin].mean() - theory))
        assert abs(detected[in_bin].mean() - theory) <= 0.03, (low, detected[in_bin].mean(), theory)
    _report.note(f"dedup LSH S-curve (16×8): largest gap to theory per Jaccard bin {worst:.3f}")


def test_clusters_with_provenance_incremental_and_deterministic(demo_file: Path, tmp_path: Path) -> None:
    with Store.open(copy_demo(demo_file, tmp_path)) as store:  # the demo dedups at 0.8
        first = store.query("SELECT method, cluster_id, doc_id, is_representative FROM dup_clusters ORDER BY ALL")
        stats = dedup(store, threshold=0.8)
        assert stats["signatures_computed"] == 0  # incremental: nothing new to hash
        again = store.query("SELECT method, cluster_id, doc_id, is_representative FROM dup_clusters ORDER BY ALL")
        assert first.to_pylist() == again.to_pylist() and first.num_rows >= 16
        # every cluster pairs a crawled page with its copy in the public extracts dataset
        clusters = store.query(
            "SELECT cluster_id, list(DISTINCT source_id ORDER BY source_id) AS sources "
            "FROM cluster_provenance WHERE method = 'minhash' GROUP BY 1"
        ).to_pylist()
        assert all(c["sources"] == ["article-extracts@2020", "news-crawl@2019-11"] for c in clusters)
        reserved = store.query("SELECT * FROM cluster_verdicts WHERE verdict = 'reserved'").to_pylist()
        assert reserved and all(c["members"] == 2 for c in reserved)
        # exact copies: the same text twice is one exact cluster
        row = store.query("SELECT * FROM documents LIMIT 1").to_pylist()[0]
        store.write_documents([row | {"doc_id": "copy" + row["doc_id"][4:], "url": row["url"] + "?copy"}])
        stats = dedup(store, threshold=0.8)
        assert stats["signatures_computed"] == 1 and stats["exact_duplicates"] == 1
        twice = "SELECT method, doc_id FROM dup_clusters GROUP BY ALL HAVING count(*) > 1"
        assert store.query(twice).num_rows == 0  # no index keeps them unique (v16): the rewrite does


def test_streamed_band_join_finds_exactly_the_pairs_of_a_full_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Band rows written batch by batch into key partitions (the one-machine path: documents
    numbered in an order unrelated to their ids, as they come from the workers) give the star
    edges of grouping every (band, key) of the whole corpus at once in Python, roots the smallest
    doc_id, batch and partition boundaries notwithstanding; so do the Ray tasks' band-key
    partitions of (band, key, doc_id) Parquet rows, grouped one partition at a time."""
    from scanner.dedup import buckets
    from scanner.dedup.clusters import signature_matrix
    from scanner.dedup.lsh import band_rows
    from scanner.dedup.ray_engine import PARTITIONS, _write_partitions
    from scanner.store import dedup_work

    rng = np.random.default_rng(7)
    n = 30_000
    sigs = rng.integers(0, 2**32, size=(n, 128), dtype=np.uint64).astype(np.uint32)
    for i in range(0, n, 7):  # planted: share one or more bands with an earlier document
        j = int(rng.integers(0, i + 1))
        for band in rng.choice(16, size=int(rng.integers(1, 4)), replace=False):
            sigs[i, band * 8 : band * 8 + 8] = sigs[j, band * 8 : band * 8 + 8]
    sigs[5] = 0xFFFFFFFF  # an empty text pairs with nothing, not even another empty text
    sigs[6] = 0xFFFFFFFF
    keys = band_keys(sigs, 16, 8)
    buckets_of: dict[tuple[int, int], list[int]] = {}
    for doc in range(n):
        if doc in (5, 6):
            continue
        for band in range(16):
            buckets_of.setdefault((band, int(keys[doc, band])), []).append(doc)
    expected = {(min(m), d) for m in buckets_of.values() if len(m) > 1 for d in m if d != min(m)}
    ids = [f"d{i:06d}" for i in range(n)]  # ids in position order: the smallest position is the smallest id
    blobs = pa.array([row.astype("<u4").tobytes() for row in sigs], pa.binary())
    arrival = rng.permutation(n)  # document number k is position arrival[k]
    monkeypatch.setattr(buckets, "PARTITION_ROWS", 40_000)  # 480k band rows: 16 partitions
    with Store.open(tmp_path / "j.duckdb") as store:
        store.write_dedup_signatures(pa.table({"doc_id": ids, "params": ["p"] * n, "signature": blobs}))
        (tmp_path / "bands").mkdir()
        files = buckets.BandFiles(tmp_path / "bands", 16 * n)
        numbered = SignatureFile(tmp_path / "bands" / "signatures.u32", 128)
        assert files.partitions == 16
        for start in range(0, n, 4096):  # batches that split buckets across them
            at = arrival[start : start + 4096]
            docs = np.arange(start, start + len(at), dtype=np.int64)
            numbered.append(start, sigs[at])
            files.write(start, pa.array([ids[i] for i in at]), band_rows(sigs[at], docs, 16, 8))
        for path in files.bands:  # each partition of each file a run sorted by key, which the join's sort merges
            reader = pa.ipc.open_file(pa.memory_map(str(path)))
            for p in range(reader.num_record_batches):
                key = reader.get_batch(p)["key"].to_numpy()
                assert (key[1:] >= key[:-1]).all() and (files._partition(key) == p).all()
        with dedup_work.scratch(store):
            assert dedup_work.add_index(store, files.docs) == n
            for root, doc in files.star_edges(lambda d: dedup_work.by_doc_id(store, d)):
                dedup_work.add_edges(store, pa.table({"root": root, "doc": doc}))
            got = set()
            for batch in dedup_work.edges(store, 5000):
                root, doc = batch.column(0).to_numpy(), batch.column(1).to_numpy()
                roots, docs = arrival[root], arrival[doc]
                got |= set(zip(roots.tolist(), docs.tolist(), strict=True))
                assert (numbered.take(root) == sigs[roots]).all()  # an edge's signatures, by document number
                assert (numbered.take(doc) == sigs[docs]).all()
        attached = set(store.query("SELECT database_name FROM duckdb_databases()").column(0).to_pylist())
        assert "dedup_scratch" not in attached  # band rows never stay
        (tmp_path / "staging").mkdir()
        written = []
        for start in range(0, n, 7000):  # shards, as Ray tasks write them, splitting buckets
            part = slice(start, start + 7000)
            shard = tmp_path / "staging" / f"signatures-{start:06d}.parquet"
            written += _write_partitions(pa.chunked_array([pa.array(ids[part])]), sigs[part], (16, 8), shard)
        folders = sorted({str(Path(w["path"]).parent) for w in written})
        assert len(folders) == PARTITIONS
        with dedup_work.scratch(store):
            assert dedup_work.index_signatures(store, "p") == n
            by_number = SignatureFile(tmp_path / "staging" / "signatures.u32", 128)
            for batch in dedup_work.numbered_signatures(store, "p", 5000):  # as the Ray path numbers them
                by_number.append(batch.column(0)[0].as_py(), signature_matrix(batch.column(1), 128))
            assert (by_number.take(np.arange(n)) == sigs).all()  # ids in position order: number k is position k
            for i, folder in enumerate(folders):  # each partition grouped as its Ray task does
                shard = str(tmp_path / "staging" / f"edges-p{i:03d}.parquet")
                dedup_work.partition_star_edges(str(Path(folder) / "*.parquet"), shard, str(tmp_path))
                dedup_work.add_edge_shard(store, shard)
            partitioned = set()
            for batch in dedup_work.edges(store, 5000):
                partitioned |= set(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True))
    assert got == expected == partitioned and len(expected) > 4000


def test_shared_buckets_are_grouped_exactly_by_band_and_key() -> None:
    """The sort finds candidates by the key's top bits alone: rows whose keys share those bits,
    or share a key in another band, are never put in one bucket."""
    from scanner.dedup.buckets import shared_buckets

    n = 1000
    key = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    band = np.zeros(n, dtype=np.int16)
    doc = np.arange(n, dtype=np.int64) + 100
    key[10] = key[11] = key[12]  # a bucket of three in band 0 ...
    band[12] = 1  # ... no: two in band 0, and the third alone in band 1
    key[20] = key[21] ^ np.uint64(1)  # the same top bits, different keys
    key[30] = key[31] = key[40]
    band[30] = band[31] = band[40] = 3
    bucket, members = shared_buckets(band, key, doc)
    groups = {tuple(sorted(members[bucket == g].tolist())) for g in np.unique(bucket)}
    assert groups == {(110, 111), (130, 131, 140)}
    assert list(bucket) == sorted(bucket)  # rows come sorted by bucket, as the star edges need


def test_cluster_policy_leaves_out_copies_of_reserved_works(demo_file: Path, tmp_path: Path) -> None:
    """A reserved crawled page of the demo gets a longer copy on a mirror without evidence: the copy
    becomes its cluster's representative. Counted document by document it stands in for the
    reserved original; in cluster mode the whole cluster is left out of the summary's sizes."""
    from scanner import api
    from scanner.store import reports

    with Store.open(copy_demo(demo_file, tmp_path)) as store:
        row = store.query(
            """SELECT d.* FROM documents d JOIN document_verdicts v USING (doc_id)
            WHERE v.verdict = 'reserved' AND v.policy = 'any-ai-trainer' ORDER BY doc_id LIMIT 1"""
        ).to_pylist()[0]
        mirror = {"url": "https://mirror.example/copy", "origin": "https://mirror.example", "host": "mirror.example"}
        copy = row | mirror | {"doc_id": "f" * 32, "registrable_domain": "mirror.example", "token_count": 10**6}
        store.write_documents([copy])
        api.decide_documents(store, "any-ai-trainer")
        dedup(store, threshold=0.8)
        by_doc = sum(r["documents"] for r in reports.sizes_by_source(store, "any-ai-trainer", True))
        by_cluster = sum(r["documents"] for r in reports.sizes_by_source(store, "any-ai-trainer", "cluster"))
        surviving_copies = store.query(
            """SELECT count(DISTINCT c.doc_id) AS n FROM dup_clusters c
            JOIN document_verdicts v ON v.doc_id = c.doc_id AND v.policy = 'any-ai-trainer' AND v.as_of IS NULL
            WHERE c.is_representative AND v.verdict <> 'reserved'
              AND EXISTS (SELECT 1 FROM dup_clusters o JOIN document_verdicts w ON w.doc_id = o.doc_id
                          WHERE o.method = c.method AND o.cluster_id = c.cluster_id
                            AND w.policy = 'any-ai-trainer' AND w.as_of IS NULL AND w.verdict = 'reserved')"""
        ).to_pylist()[0]["n"]
        assert surviving_copies > 0 and by_cluster == by_doc - surviving_copies


def test_band_keys_are_equal_exactly_when_bands_are_for_odd_and_even_rows() -> None:
    rng = np.random.default_rng(5)
    for b, r in ((20, 3), (16, 8), (1, 128)):
        sigs = rng.integers(0, 4, size=(400, b * r), dtype=np.uint32)  # tiny alphabet: many equal bands
        keys = band_keys(sigs, b, r)
        bands = sigs.reshape(len(sigs), b, r)
        for band in range(b):
            same_values = (bands[:, None, band, :] == bands[None, :, band, :]).all(axis=-1)
            assert np.array_equal(keys[:, None, band] == keys[None, :, band], same_values), (b, r, band)
        assert len(np.unique(keys[0])) == b or r < 8  # the band number is part of the key


@pytest.mark.parametrize("profile", PROFILES)
def test_signatures_in_worker_processes_are_bit_identical_and_in_order(
    profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts hashed in a real process pool (small parts, so there are many and workers finish
    out of order) give exactly the one-process signatures, row for row; the sha1 profile still
    equals plain datasketch."""
    from scanner.dedup import minhash

    rnd = random.Random(9)
    vocab = ["alpha", "Beta", "γάμμα", "d3lta", "--", "é", "word", "x"]
    texts = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(0, 400))) for _ in range(240)]
    texts[17] = None  # a missing text has the empty signature, in its place
    spec = SignatureParams(profile=profile)
    whole = signatures(texts, spec)
    monkeypatch.setattr(minhash, "_TEXT_BATCH", 3000)
    pool = SignaturePool(2)
    try:
        column = pa.chunked_array([pa.array(texts[:100], pa.large_string()), pa.array(texts[100:], pa.large_string())])
        assert np.array_equal(signatures(column, spec, pool), whole)
        assert np.array_equal(signatures(texts, spec, pool), whole)
    finally:
        pool.shutdown()
    assert np.all(whole[17] == minhash.EMPTY)
    for i in (0, 1, 99, 100, 239):
        assert np.array_equal(whole[i], _datasketch(texts[i] or "", profile=profile))


def test_dedup_with_workers_stores_what_one_process_stores(
    demo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dedup(workers=2)` (the CLI's default on two cores) writes the same signatures and clusters
    as one process, from the same store; storing the signatures in one commit at the end (a
    lock-free store, the default STORE_ROWS), every 10 (a batch cut across) or every batch (a
    store holding its lock) changes nothing."""
    from scanner.dedup import clusters

    monkeypatch.setattr(clusters, "BATCH", 7)  # several batches in flight
    results = []
    runs = (("one", 1, False, clusters.STORE_ROWS), ("ten", 2, False, 10), ("held", 2, True, clusters.STORE_ROWS))
    for name, workers, hold_lock, store_rows in runs:
        monkeypatch.setattr(clusters, "STORE_ROWS", store_rows)
        (tmp_path / name).mkdir()
        with Store.open(copy_demo(demo_file, tmp_path / name), hold_lock=hold_lock) as store:
            store.query("DELETE FROM dedup_signatures")
            stats = dedup(store, threshold=0.8, workers=workers)
            sigs = store.query("SELECT doc_id, params, signature FROM dedup_signatures ORDER BY doc_id").to_pylist()
            found = store.query("SELECT method, cluster_id, doc_id FROM dup_clusters ORDER BY ALL").to_pylist()
            results.append((stats["signatures_computed"], sigs, found))
    assert results[0][0] > 10 and results[0] == results[1] == results[2]


def test_pages_of_a_lock_free_store_read_every_unsigned_document_once(demo_file: Path, tmp_path: Path) -> None:
    """A store opened with `hold_lock=False` reads the texts by pages of row ids: together they
    give exactly what the one stream gives (every document with a text and no signature, shared
    texts once per document), however small the pages, with signed documents left out."""
    from scanner.store import reports

    path = copy_demo(demo_file, tmp_path)
    with Store.open(path) as store:
        docs = store.query("SELECT doc_id FROM documents WHERE text_sha256 IN (SELECT text_sha256 FROM texts)")
        signed = sorted(docs.column(0).to_pylist())[::3]
        sigs = np.zeros((len(signed), 128), dtype=np.uint32)
        store.write_dedup_signatures(signature_rows(pa.array(signed), sigs, "p"))
        streamed = _pairs(reports.signatures_missing(store, "p", 5))
    assert streamed and len(streamed) == len(set(streamed)) and not {d for d, _ in streamed} & set(signed)
    with Store.open(path, hold_lock=False) as store:
        for rows in (1, 2, 7, 10_000):
            batches = list(reports.signatures_missing(store, "p", rows))
            assert sorted(_pairs(batches)) == sorted(streamed), rows
            sizes = [b.num_rows for b in batches]  # shards and worker batches are cut by these
            assert set(sizes[:-1]) <= {rows} and 0 < sizes[-1] <= rows, (rows, sizes)
        pages = reports.signatures_missing(store, "p", 2)
        next(pages)
        assert list(tmp_path.glob("*.dedup-missing*"))  # the documents picked once, kept beside the store
        pages.close()  # a caller stopping early (a killed run's finally) leaves no scratch file
    assert not list(tmp_path.glob("*.dedup-missing*"))


def _pairs(batches) -> list[tuple[str, str]]:
    return [(r["doc_id"], r["text"]) for b in batches for r in b.to_pylist()]


def test_a_near_duplicate_cluster_is_represented_by_most_tokens_then_earliest_fetch_then_smallest_id(
    tmp_path: Path,
) -> None:
    """The representative rule, as exact clusters apply it: most tokens; among those the earliest
    fetched (a document without a fetch time comes last); then the smallest id."""
    from datetime import UTC, datetime

    from scanner.corpus.records import document_row

    rnd = random.Random(3)
    at = [datetime(2025, 1, d, tzinfo=UTC) for d in (1, 2, 3)]

    def family(prefix: str, fetched: list, tokens: list[int]) -> list[tuple[str, str, object, int]]:
        """Near-duplicate texts (one word changed each), with their ids, fetch times and token counts."""
        base = [f"w{rnd.randrange(10**9)}" for _ in range(400)]  # each family its own words
        out = []
        for k, (when, count) in enumerate(zip(fetched, tokens, strict=True)):
            words = list(base)
            words[k * 7] = f"{prefix}{k}"
            out.append((f"{prefix}-{k}", " ".join(words), when, count))
        return out

    cases = {
        "tokens": (family("a", [at[0], at[1], None], [10, 99, 10]), "a-1"),  # most tokens, fetched later
        "fetched": (family("b", [at[2], None, at[1]], [5, 5, 5]), "b-2"),  # a tie: the earliest; None last
        "ids": (family("c", [None, None, None], [7, 7, 7]), "c-0"),  # no fetch times: the smallest id
    }
    with Store.open(tmp_path / "r.duckdb") as store:
        for docs, _ in cases.values():
            store.write_texts([{"text_sha256": f"t-{i}", "text": text} for i, text, _, _ in docs])
            store.write_documents(
                [
                    document_row(doc_id=i, source_id="s", content_sha256=f"c-{i}", text_sha256=f"t-{i}",
                                 fetched_at=when, token_count=count)
                    for i, _, when, count in docs
                ]
            )
        dedup(store, threshold=0.8)
        reps = store.query(
            "SELECT doc_id FROM dup_clusters WHERE method = 'minhash' AND is_representative ORDER BY doc_id"
        ).column(0).to_pylist()
        members = store.query("SELECT count(*) FROM dup_clusters WHERE method = 'minhash'").column(0)[0].as_py()
    assert members == 9
    assert reps == sorted(rep for _, rep in cases.values())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 300), max_size=8), st.integers(0, 2**32 - 1))
def test_the_signature_file_returns_each_documents_signature_by_its_number(sizes: list[int], seed: int) -> None:
    """Batches of any size appended in number order come back row for row, in the order asked,
    repeats included, across the take's mapping chunks; a number outside the file is refused."""
    import tempfile

    from scanner.dedup import signature_file

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        file = SignatureFile(Path(tmp) / "s.u32", 16)
        matrix = rng.integers(0, 2**32, (sum(sizes), 16), dtype=np.uint32)
        first = 0
        for size in sizes:
            file.append(first, matrix[first : first + size])
            first += size
        assert file.rows == len(matrix)
        assert file.take(np.zeros(0, dtype=np.int64)).shape == (0, 16)
        if len(matrix):
            docs = rng.integers(0, len(matrix), 1 + int(rng.integers(0, 40)))
            chunk = signature_file.TAKE_ROWS
            try:
                signature_file.TAKE_ROWS = 7  # several mappings per take
                assert (file.take(docs) == matrix[docs]).all()
            finally:
                signature_file.TAKE_ROWS = chunk
        with pytest.raises(IndexError):
            file.take(np.array([len(matrix)]))
        with pytest.raises(IndexError):
            file.take(np.array([-1]))


def test_the_signature_file_refuses_rows_out_of_order_or_of_another_width(tmp_path: Path) -> None:
    file = SignatureFile(tmp_path / "s.u32", 4)
    file.append(0, np.ones((3, 4), dtype=np.uint32))
    with pytest.raises(ValueError, match="document 5 appended after 3 rows"):
        file.append(5, np.ones((1, 4), dtype=np.uint32))
    with pytest.raises(ValueError, match="not \\(4,\\)"):
        file.append(3, np.ones((1, 8), dtype=np.uint32))
    assert file.rows == 3 and (file.take(np.array([2, 0])) == 1).all()


@pytest.mark.skipif(sys.platform != "linux", reason="pipe sizes are set on Linux only")
def test_the_pool_widens_its_workers_pipes() -> None:
    """Both pipes of every worker hold a whole part, as the pool starts them by default."""
    import fcntl

    from scanner.dedup import workers

    pool = SignaturePool(3)
    try:
        for proc in pool._procs:
            assert proc.stdin and proc.stdout
            assert fcntl.fcntl(proc.stdin.fileno(), fcntl.F_GETPIPE_SZ) == workers.PIPE_BYTES
            assert fcntl.fcntl(proc.stdout.fileno(), fcntl.F_GETPIPE_SZ) == workers.PIPE_BYTES
    finally:
        pool.shutdown()


def test_a_pool_of_n_lanes_is_this_process_and_n_minus_1_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workers 2` starts one worker process: the coordinator hashes too, between its store
    writes. Both lanes take parts, the signatures are those of one process, and the worker exits
    cleanly when its stdin closes."""
    import threading

    from scanner.dedup import minhash, workers

    lanes: set[str] = set()
    seen = threading.Lock()
    exchange, local = workers._exchange, workers.sign_part

    def spy(name, real):
        def call(*args, **kwargs):
            with seen:
                lanes.add(name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(workers, "_exchange", spy("process", exchange))
    monkeypatch.setattr(workers, "sign_part", spy("local", local))
    monkeypatch.setattr(minhash, "_TEXT_BATCH", 2000)
    texts = [" ".join(f"w{(i * 7 + j) % 311}" for j in range(300)) for i in range(400)]  # ~200 parts
    pool = SignaturePool(2)
    try:
        assert len(pool._procs) == 1
        assert np.array_equal(signatures(texts, pool=pool), signatures(texts))
    finally:
        pool.shutdown()
    assert lanes == {"process", "local"}
    assert [proc.returncode for proc in pool._procs] == [0]


def test_the_first_step_is_small_and_the_rest_are_whole_batches() -> None:
    """The lanes start on the first vector of documents; the later ones are grouped back into
    steps of at least a batch, every row kept, in order."""
    from scanner.dedup.clusters import _ramped

    batches = [pa.record_batch({"doc_id": [f"d{i}" for i in range(lo, lo + 3)]}) for lo in range(0, 33, 3)]
    steps = list(_ramped(iter(batches), 7))
    assert [t.num_rows for t in steps] == [3, 9, 9, 9, 3]
    assert [d for t in steps for d in t.column("doc_id").to_pylist()] == [f"d{i}" for i in range(33)]
    assert list(_ramped(iter([]), 7)) == []
