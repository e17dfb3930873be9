"""dedup with `--engine ray` on a real local Ray cluster of two workers: row for row the same
signatures and clusters as on one machine, resumable, and a clear error where Ray is absent."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from scanner import api
from scanner.store import Store
from tests._cli import refused_without_ray
from tests._documents import with_text
from tests.conftest import copy_demo

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]'); the Ray engine is not tested")


@pytest.fixture(scope="module")
def local_ray():
    from scanner.dedup.ray_engine import start

    start(None, 2)
    yield
    ray.shutdown()


def _corpus(store: Store, n: int = 3000) -> None:
    """Documents of random words with planted near-duplicate families, texts included."""
    rnd = random.Random(11)
    vocab = [f"w{i}" for i in range(3000)]
    docs, texts = [], []
    base: list[str] = []
    for i in range(n):
        if base and rnd.random() < 0.3:
            words = list(rnd.choice(base).split())
            for _ in range(rnd.randint(0, 6)):
                words[rnd.randrange(len(words))] = rnd.choice(vocab)
        else:
            words = rnd.choices(vocab, k=rnd.randint(60, 200))
        text = " ".join(words)
        base.append(text)
        doc, row = with_text(i, text)
        docs.append(doc)
        texts.append(row)
    store.write_texts(texts)
    store.write_documents(docs)


def _rows(store: Store) -> tuple[list, list]:
    clusters = store.query(
        "SELECT method, doc_id, cluster_id, is_representative, similarity FROM dup_clusters ORDER BY ALL"
    ).to_pylist()
    sigs = store.query("SELECT doc_id, params, signature FROM dedup_signatures ORDER BY ALL").to_pylist()
    return clusters, sigs


@pytest.mark.parametrize("corpus", ["demo", "synthetic"])
def test_ray_equals_one_machine_row_for_row(local_ray, corpus, demo_file: Path, tmp_path: Path) -> None:
    if corpus == "demo":
        (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
        one, two = copy_demo(demo_file, tmp_path / "a"), copy_demo(demo_file, tmp_path / "b")
    else:
        one, two = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
        with Store.open(one) as s:
            _corpus(s)
        shutil.copy(one, two)
    with Store.open(one) as s:
        s.query("DELETE FROM dedup_signatures")
        local = api.dedup(s, threshold=0.7)
        expected = _rows(s)
    with Store.open(two) as s:
        s.query("DELETE FROM dedup_signatures")
        distributed = api.dedup(s, threshold=0.7, engine="ray")
        got = _rows(s)
    assert got == expected
    assert distributed["signatures_computed"] == local["signatures_computed"] > 0
    assert local["near_duplicates"] > 0 or corpus == "demo"
    assert not (two.parent / f"{two.name}.staging").exists() or not any((two.parent / f"{two.name}.staging").iterdir())


def test_ray_run_resumes_from_what_was_merged(local_ray, tmp_path: Path) -> None:
    """A run killed after some shards were merged: the next computes only the rest, and the
    store ends as a clean run leaves it."""
    clean, resumed = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    with Store.open(clean) as s:
        _corpus(s)
    shutil.copy(clean, resumed)
    with Store.open(clean) as s:
        api.dedup(s, threshold=0.7, engine="ray")
        expected = _rows(s)
    with Store.open(resumed) as s:
        api.dedup(s, threshold=0.7)  # every signature computed, as if all shards had merged ...
        s.query("DELETE FROM dedup_signatures WHERE doc_id > (SELECT median(doc_id) FROM documents)")  # ... half
        stats = api.dedup(s, threshold=0.7, engine="ray")
        assert 0 < stats["signatures_computed"] < s.count("documents")
        assert _rows(s) == expected


def test_without_ray_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    """A real CLI process in which `import ray` fails, as on a machine without the extra."""
    refused_without_ray("dedup", "--engine", "ray", "--store", str(tmp_path / "s.duckdb"))


def test_a_partition_task_writes_its_star_edges_and_their_manifest(tmp_path: Path) -> None:
    """The task of one band partition, run as Ray runs it but in this process: buckets are (band,
    key), the root is the bucket's smallest doc_id, a lone row makes no edge, the rows of a bucket
    may be in several files; the manifest's rows and sha256 are checked, a changed shard refused."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scanner.dedup.ray_engine import edge_shard, verified
    from scanner.errors import ScannerError

    folder = tmp_path / "p003"
    folder.mkdir()
    rows = [(0, 5, "b"), (0, 5, "c"), (1, 5, "e"), (0, 6, "a"), (2, 9, "f")], [(0, 5, "a"), (1, 5, "d"), (2, 9, "g")]
    for i, part in enumerate(rows):
        band, key, doc = zip(*part, strict=True)
        table = pa.table({"band": pa.array(band, pa.int16()), "key": pa.array(key, pa.uint64()), "doc_id": doc})
        pq.write_table(table, folder / f"signatures-{i:05d}.parquet")
    entry = edge_shard(str(folder), str(tmp_path / "edges-p003.parquet"))
    edges = sorted(tuple(r.values()) for r in verified(entry).read().to_pylist())
    assert edges == [("a", "b"), ("a", "c"), ("d", "e"), ("f", "g")]
    assert entry["rows"] == 4
    pq.write_table(pa.table({"root": ["a"], "doc_id": ["z"]}), entry["path"])
    with pytest.raises(ScannerError, match="sha256"):
        verified(entry)
