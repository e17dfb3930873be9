"""The provenance store on a real DuckDB file: lifecycle, migrations, idempotence, crashes, readers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from scanner.corpus.fields import FieldMap
from scanner.corpus.records import document_row, sha256_hex
from scanner.errors import StoreError
from scanner.evidence import Observation, write_observations
from scanner.manifest import Dataset
from scanner.store import SCHEMA_VERSION, Store
from scanner.store.migrations import MIGRATIONS


def _doc(i: int, source: str = "s") -> dict:
    return document_row(
        doc_id=f"doc{i:06d}",
        source_id=source,
        url=f"https://example.com/{i}",
        origin="https://example.com",
        host="example.com",
        registrable_domain="example.com",
        fetched_at=datetime(2025, 3, 1, tzinfo=UTC),
        content_sha256=f"{i:064x}",
        raw_bytes=100 + i,
        token_count=10,
        content_type="text/html",
        http_status=200,
        record_locator=f"f#{i}",
    )


def test_create_close_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "p.duckdb"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.write_documents([_doc(1), _doc(2)]) == 2
    assert path.exists()
    with Store.open(path) as store:
        assert store.count("documents") == 2
        assert store.schema_version == SCHEMA_VERSION
        versions = store.query("SELECT version FROM schema_version ORDER BY version").column(0)
        assert versions.to_pylist() == list(range(1, SCHEMA_VERSION + 1))


def _store_at(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    """A store file written by hand as schema `version` left it (migrations 1..version), open."""
    con = duckdb.connect(str(path))
    for v in range(1, version + 1):
        for statement in MIGRATIONS[v]:
            con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (?, now(), ?)", [version, f"0.0.{version}"])
    return con


def _primary_keys(store: Store, table: str) -> int:
    rows = store.query(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'", [table]
    )
    return int(rows.column(0)[0].as_py())


def test_migrates_a_v1_file_written_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    for statement in MIGRATIONS[1]:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1, now(), '0.0.1')")
    con.execute(
        "INSERT INTO documents (doc_id, source_id, content_sha256, raw_bytes, modality, "
        "registrable_domain) VALUES ('old', 's', 'abc', 7, 'text', 'example.org')"
    )
    con.execute(  # a decision with its reasons inline, as before v7
        "INSERT INTO decisions VALUES ('d1', 'old', 'https://example.org/', 'generic', '1', 'train-ai', NULL, "
        """'reserved', '{"verdict": "reserved"}', ['e1'], now(), NULL)"""
    )
    con.close()

    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.query("SELECT doc_id FROM documents").column(0).to_pylist() == ["old"]
        per_domain = store.query("SELECT registrable_domain, documents FROM documents_per_domain")
        assert per_domain.to_pylist() == [{"registrable_domain": "example.org", "documents": 1}]
        assert store.count("ingest_checkpoints") == 0
        kept = store.query("SELECT verdict, reasons, evidence_sha256 FROM document_verdicts").to_pylist()
        assert kept == [{"verdict": "reserved", "reasons": '{"verdict": "reserved"}', "evidence_sha256": ["e1"]}]


def test_a_v13_store_migrates_its_signatures_to_a_table_the_writer_keeps_unique(tmp_path: Path) -> None:
    """v14 drops the signatures' ART index (written out at every checkpoint, one per batch of a
    lock-free dedup); the rows stay, and a signature written again is still stored once."""
    path = tmp_path / "v13.duckdb"
    con = _store_at(path, 13)
    con.execute("INSERT INTO dedup_signatures VALUES ('a', 'p', '\\x01'::BLOB), ('b', 'p', '\\x02'::BLOB)")
    con.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert _primary_keys(store, "dedup_signatures") == 0
        again = [
            {"doc_id": "a", "params": "p", "signature": b"\x01"},
            {"doc_id": "a", "params": "q", "signature": b"\x03"},
        ]
        assert store.write_dedup_signatures(again) == 1  # ('a', 'p') was there; ('a', 'q') is new
        assert store.write_dedup_signatures(again) == 0
        rows = store.query("SELECT doc_id, params, signature FROM dedup_signatures ORDER BY ALL").to_pylist()
        assert rows == [
            {"doc_id": "a", "params": "p", "signature": b"\x01"},
            {"doc_id": "a", "params": "q", "signature": b"\x03"},
            {"doc_id": "b", "params": "p", "signature": b"\x02"},
        ]


def test_a_v14_store_migrates_its_signatures_to_an_uncompressed_column(tmp_path: Path) -> None:
    """v15 stores the signatures uncompressed (random words: compression saves nothing and its
    analysis cost the writer a tenth of a dedup); the rows stay, and new ones are stored so too."""
    path = tmp_path / "v14.duckdb"
    con = _store_at(path, 14)
    con.execute("INSERT INTO dedup_signatures SELECT 'd' || i, 'p', repeat('\\x07', 512)::BLOB FROM range(3000) t(i)")
    con.close()
    storage = (
        "SELECT DISTINCT compression FROM pragma_storage_info('dedup_signatures') "
        "WHERE column_name = 'signature' AND segment_type = 'BLOB' ORDER BY ALL"
    )
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.count("dedup_signatures") == 3000
        sigs = np.random.default_rng(1).integers(0, 2**32, size=(5000, 128), dtype=np.uint64).astype("<u4")
        rows = pa.table(
            {
                "doc_id": [f"n{i}" for i in range(5000)],
                "params": ["p"] * 5000,
                "signature": pa.array([r.tobytes() for r in sigs], pa.binary()),
            }
        )
        assert store.write_dedup_signatures(rows) == 5000
        store.query("CHECKPOINT")
        assert store.query(storage).column(0).to_pylist() == ["Uncompressed"]
        got = store.query("SELECT signature FROM dedup_signatures WHERE doc_id = 'n42'").column(0)[0].as_py()
        assert got == sigs[42].tobytes()
        assert store.query("SELECT signature FROM dedup_signatures WHERE doc_id = 'd7'").column(0)[0].as_py() == (
            b"\x07" * 512
        )


def test_a_v15_store_keeps_its_clusters_in_a_table_without_an_index(tmp_path: Path) -> None:
    """v16 drops `dup_clusters`' ART index (committing a dedup's DELETE through it cost 0.41 s at
    32k rows); the rows stay, and the views over the table still read them."""
    path = tmp_path / "v15.duckdb"
    con = _store_at(path, 15)
    con.execute(
        "INSERT INTO documents (doc_id, source_id, content_sha256, raw_bytes, modality) "
        "VALUES ('a', 's', 'x', 1, 'text'), ('b', 's', 'y', 1, 'text')"
    )
    con.execute(
        "INSERT INTO dup_clusters VALUES ('minhash', 'a', 'a', true, 1.0, 'r'), ('minhash', 'b', 'a', false, 0.9, 'r')"
    )
    con.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert _primary_keys(store, "dup_clusters") == 0
        rows = store.query("SELECT doc_id, cluster_id, similarity FROM cluster_provenance ORDER BY doc_id").to_pylist()
        assert rows == [
            {"doc_id": "a", "cluster_id": "a", "similarity": 1.0},
            {"doc_id": "b", "cluster_id": "a", "similarity": 0.9},
        ]


def test_read_only_open_of_an_old_store_asks_for_migration(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    for statement in MIGRATIONS[1]:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1, now(), '0.0.1')")
    con.close()
    with pytest.raises(StoreError, match="older than"):
        Store.open(path, read_only=True)


def test_newer_store_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    Store.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (99, now(), '9.0')")
    con.close()
    with pytest.raises(StoreError, match="version 99 is newer"):
        Store.open(path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(StoreError, match="not a provenance store"):
        Store.open(other)
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store.open(junk)
    assert junk.read_bytes() == b"this is not a database" * 100  # untouched


def test_identical_bytes_are_one_blob_with_two_observations(tmp_path: Path) -> None:
    body = b"User-agent: GPTBot\nDisallow: /\n"
    sha = sha256_hex(body)
    seen = [
        Observation(sha, "robots.txt", "https://a.example/robots.txt", datetime(2025, 1, 1, tzinfo=UTC), "import"),
        Observation(sha, "robots.txt", "https://a.example/robots.txt", datetime(2025, 2, 1, tzinfo=UTC), "import"),
    ]
    with Store.open(tmp_path / "e.duckdb") as store:
        assert write_observations(store, [(body, seen[0])]) == (1, 1)
        assert write_observations(store, [(body, seen[1])]) == (0, 1)
        assert write_observations(store, [(body, seen[1])]) == (0, 0)  # same sighting again
        assert store.count("evidence") == 1
        assert store.count("observations") == 2
        stored = store.query("SELECT body FROM evidence").column(0).to_pylist()
        assert stored == [body]


def test_insert_is_idempotent_and_dedups_within_a_batch(tmp_path: Path) -> None:
    with Store.open(tmp_path / "i.duckdb") as store:
        assert store.write_documents([_doc(1), _doc(1), _doc(2)]) == 2
        assert store.write_documents([_doc(1), _doc(2)]) == 0
        assert store.count("documents") == 2


def test_unindexed_tables_stay_unique_across_handles_and_rollbacks(tmp_path: Path) -> None:
    """Since v12 documents have no index: the writer's key filter must see rows another handle (a
    second process, between our commits) wrote, and forget rows of a transaction rolled back."""
    path = tmp_path / "k.duckdb"
    with Store.open(path, hold_lock=False) as one, Store.open(path, hold_lock=False) as two:
        assert one.write_documents([_doc(i) for i in range(10)]) == 10
        assert two.write_documents([_doc(i) for i in range(5, 15)]) == 5  # 5..9 known to `one` only
        assert one.write_documents([_doc(i) for i in range(20)]) == 5  # 10..14 came from `two`
        with pytest.raises(RuntimeError), one.transaction():
            assert one.write_documents([_doc(i) for i in range(20, 25)]) == 5
            raise RuntimeError("rolled back")
        assert one.write_documents([_doc(i) for i in range(18, 25)]) == 5  # 20..24 were never stored
        assert one.count("documents") == 25
        assert one.query("SELECT count(DISTINCT doc_id) FROM documents").column(0)[0].as_py() == 25
    with Store.open(path, read_only=True) as store:
        keys = store.query(
            "SELECT count(*) FROM duckdb_constraints() "
            "WHERE table_name = 'documents' AND constraint_type = 'PRIMARY KEY'"
        ).column(0)
        assert keys[0].as_py() == 0 and store.schema_version == SCHEMA_VERSION


@pytest.mark.parametrize("fold_at", [8, 1 << 18])
def test_the_key_filter_answers_as_a_set_of_every_key_written(monkeypatch: pytest.MonkeyPatch, fold_at: int) -> None:
    """Bounded fuzz of the writer's key filter against a Python set: batches of 0 to 300 keys,
    repeats within and across batches: runs merged and folded into the sorted keys (a fold at 8
    keys), and runs merged alone (the real bound, 262,144, above the at most 123,700 keys written here)."""
    from scanner.store import keys

    monkeypatch.setattr(keys, "_FOLD_AT", fold_at)
    rng = np.random.default_rng(fold_at)
    stored = rng.integers(0, 2**64, 500, dtype=np.uint64, endpoint=False)
    known, truth = keys.KeyFilter(stored, 500), set(stored.tolist())
    for _ in range(400):
        fresh = rng.integers(0, 2**64, int(rng.integers(0, 300)), dtype=np.uint64, endpoint=False)
        seen = rng.choice(np.fromiter(truth, dtype=np.uint64), 5)
        batch = np.concatenate([fresh, seen, fresh[:3]])
        assert known.maybe_present(batch).tolist() == [int(h) in truth for h in batch]
        truth.update(batch.tolist())
        known.add(batch, len(truth))
        assert known.rows == len(truth)
    assert known.nbytes >= 8 * len(truth)  # every key held once at least, repeats at most once more per batch


def test_replace_updates_declarations(tmp_path: Path) -> None:
    ds = Dataset("d", "1", None, "2.1", ("text",), "CC-BY-4.0", None, None, True, (), FieldMap())
    with Store.open(tmp_path / "r.duckdb") as store:
        store.write_sources([ds], Path("m.toml"))
        store.write_sources([replace(ds, licence="CC0-1.0")], Path("m.toml"))
        assert store.query("SELECT source_id, licence, manifest FROM sources").to_pylist() == [
            {"source_id": "d@1", "licence": "CC0-1.0", "manifest": "m.toml"}
        ]


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "t.duckdb") as store:
        store.write_documents([_doc(1)])
        with pytest.raises(RuntimeError), store.transaction():
            store.write_documents([_doc(2), _doc(3)])
            raise RuntimeError("boom between tables")
        assert store.count("documents") == 1


_CRASH_MID_TRANSACTION = """
import os, sys
from dataclasses import replace
from datetime import UTC, datetime
sys.path.insert(0, {tests!r})
from test_store import _doc
from scanner.store import Store
store = Store.open({path!r})
store.write_documents([_doc(i) for i in range(10)])      # batch 1: committed
with store.transaction():
    store.write_documents([_doc(i) for i in range(10, 20)])  # batch 2: never committed
    os._exit(3)                                              # the process dies here
"""


def test_a_crash_between_batches_keeps_only_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    script = _CRASH_MID_TRANSACTION.format(tests=str(Path(__file__).parent), path=str(path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    with Store.open(path) as store:
        ids = store.query("SELECT doc_id FROM documents ORDER BY doc_id").column(0).to_pylist()
    assert ids == [f"doc{i:06d}" for i in range(10)]


def test_reader_sees_only_committed_batches_while_writer_works(tmp_path: Path) -> None:
    batch, batches = 50, 40
    with Store.open(tmp_path / "rw.duckdb") as store:
        reader = store.reader()
        seen: list[int] = []
        done = threading.Event()

        def write() -> None:
            for b in range(batches):
                with store.transaction():
                    # two statements per batch: a reader must never see only the first
                    store.write_documents([_doc(b * batch + i) for i in range(batch // 2)])
                    store.write_documents([_doc(b * batch + i) for i in range(batch // 2, batch)])
                time.sleep(0.005)  # let the reader in between batches (not a timing assertion)
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        while not done.is_set():
            seen.append(reader.count("documents"))
        writer.join()
        seen.append(reader.count("documents"))
        reader.close()
    assert all(n % batch == 0 for n in seen), sorted(set(seen))
    assert seen[-1] == batch * batches
    assert len(set(seen)) > 2  # the reader really read while the writer was between batches


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    Store.open(path).close()
    with Store.open(path, read_only=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.write_documents([_doc(1)])
        with pytest.raises(StoreError, match="read-only"):
            store.query("DELETE FROM documents")
    with pytest.raises(StoreError, match="no such store"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)


def test_memory_store() -> None:
    with Store.open(":memory:") as store:
        assert store.write_documents([_doc(1)]) == 1


def test_v7_wide_decisions_become_narrow_rows(tmp_path: Path) -> None:
    """v8 keeps (doc_id, outcome, set) per document; the `decisions` view gives the old columns."""
    path = tmp_path / "v7.duckdb"
    con = _store_at(path, 7)
    con.execute(
        "INSERT INTO documents (doc_id, source_id, url, content_sha256, raw_bytes, modality) "
        "VALUES ('doc', 's', 'https://example.org/a', 'abc', 7, 'text')"
    )
    con.execute("""INSERT INTO decision_outcomes VALUES ('o1', 'allowed', '{"verdict": "allowed"}', ['e1'])""")
    for run, at in (("r1", "2025-01-01"), ("r2", "2025-02-01")):
        con.execute(
            "INSERT INTO decisions VALUES (?, 'doc', 'https://example.org/a', 'generic', '1', 'train-ai', NULL, "
            "'allowed', NULL, NULL, ?::TIMESTAMPTZ, ?, 'o1')",
            [f"id-{run}", at, run],
        )
    con.close()
    with Store.open(path) as store:
        assert store.count("decision_rows") == 2 and store.count("decision_sets") == 2
        rows = store.query("SELECT url, verdict, evidence_sha256, run_id FROM document_verdicts").to_pylist()
        newest = {"url": "https://example.org/a", "verdict": "allowed", "evidence_sha256": ["e1"], "run_id": "r2"}
        assert rows == [newest]
