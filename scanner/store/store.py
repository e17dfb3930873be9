"""The provenance store: one DuckDB file, the only place in the project that speaks SQL."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import duckdb
import numpy as np
import pyarrow as pa

from scanner.errors import StoreError
from scanner.store import rows as mapping
from scanner.store.keys import KeyFilter
from scanner.store.memory import MemoryLimit, apply, in_effect
from scanner.store.migrations import LATEST, MIGRATIONS
from scanner.version import __version__

if TYPE_CHECKING:
    from scanner.corpus.records import Document
    from scanner.evidence import Observation
    from scanner.manifest import Blocklist, Dataset
    from scanner.signals.model import Signal

# The identity of a row in each table: writing a row whose key exists changes nothing.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "sources": ("source_id",),
    "documents": ("doc_id",),
    "texts": ("text_sha256",),
    "evidence": ("sha256",),
    "observations": ("obs_id",),
    "signals": ("signal_id",),
    "decision_outcomes": ("outcome",),
    "signal_extractions": ("obs_id",),
    "dup_clusters": ("method", "doc_id"),
    "blocklist": ("registrable_domain", "list_name"),
    "dedup_signatures": ("doc_id", "params"),
    "robots_compiled": ("sha256", "rules_version"),
    "robots_compiled_agents": ("sha256", "rules_version", "token"),
    "robots_compiled_rules": ("sha256", "rules_version", "ruleset", "priority"),
}

# Tables without an index (v12: the ones ingest fills; v14: signatures): kept unique by `_append_new`.
# (v16: `dup_clusters` has none either; only `dedup_work` writes it, replacing a method's rows whole.)
UNINDEXED = ("documents", "texts", "evidence", "observations", "dedup_signatures")

# Tables written by their own statements (no generic insert), countable all the same.
_UNKEYED = ("runs", "ingest_checkpoints", "summaries", "decisions", "decision_rows", "decision_sets")

Params: TypeAlias = Sequence[Any] | Mapping[str, Any] | None  # positional `?` or named `$name` parameters

Rows: TypeAlias = pa.Table | pa.RecordBatch | Sequence[Mapping[str, Any]]

# Runs this process started and has not finished: any other `running` row a writer finds on open
# was left by a process that was killed or crashed (DuckDB lets one process write at a time).
_LIVE_RUNS: set[str] = set()
_LIVE_LOCK = threading.Lock()

# A connection for the user's own SQL (`provenance query`, `export SQL`): no file or network
# access (COPY TO, EXPORT DATABASE, ATTACH, read_csv, INSTALL, httpfs), no extension loading, and
# the configuration locked so that SQL cannot turn any of it back on.
SANDBOX = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _as_arrow(rows: Rows) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, pa.RecordBatch):
        return pa.Table.from_batches([rows])
    return pa.Table.from_pylist(list(rows))


# Seconds a command waits for another process's write lock on the store file (a writer that
# releases it between batches holds it for one commit, well under a second).
LOCK_WAIT = float(os.environ.get("PROVENANCE_LOCK_WAIT", "30"))


class Store:
    """A handle on one store file (or ':memory:'). Writers migrate on open; readers never write.

    DuckDB lets one process open a file for writing or several for reading, never both. A
    store opened with `hold_lock=False` keeps no connection between transactions: each commit
    opens the file, writes and closes it, so other processes (`query`, `status`, the service's
    `/reload`) can open it in between. Every open waits up to `LOCK_WAIT` seconds for a lock
    held by another process, retrying with backoff.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection | None,
        path: str,
        read_only: bool,
        *,
        hold_lock: bool = True,
        wait: float = LOCK_WAIT,
        config: dict[str, Any] | None = None,
        memory: MemoryLimit | None = None,
    ) -> None:
        self._conn = con
        self._config = config
        self.memory = memory or None  # applied to every connection this handle opens
        self.path = path
        self.read_only = read_only
        self.hold_lock = hold_lock or path == ":memory:"
        self.wait = wait
        self._lock = threading.RLock()
        self._in_tx = False
        self._pins = 0  # streams and registered tables that need this connection to stay open
        self._keys: dict[str, KeyFilter] = {}  # per UNINDEXED table, built on its first write

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path = "provenance.duckdb",
        *,
        read_only: bool = False,
        hold_lock: bool = True,
        wait: float | None = None,
        sandbox: bool = False,
        memory: MemoryLimit | None = None,
    ) -> Store:
        """`sandbox=True`: read-only, and the SQL run on it cannot reach files or the network (SANDBOX).
        `memory`: DuckDB's memory limit and spill folder, on every connection (`scanner.store.memory`)."""
        path = str(path)
        read_only = read_only or sandbox
        if path != ":memory:":
            p = Path(path)
            if read_only and not p.exists():
                raise StoreError(f"{path}: no such store (run `provenance demo` or `ingest` first)")
            if not read_only:
                p.parent.mkdir(parents=True, exist_ok=True)
        wait = LOCK_WAIT if wait is None else wait
        con = connect(path, read_only, wait, config=dict(SANDBOX) if sandbox else None)
        store = cls(
            con, path, read_only, hold_lock=hold_lock, wait=wait, config=dict(SANDBOX) if sandbox else None,
            memory=memory,
        )
        try:
            apply(con, store.memory)  # before the checks and migrations, which read the whole file
            if path != ":memory:":
                from scanner.store.integrity import require_whole

                require_whole(path, con)  # DuckDB would open a cut file and fail at some later read
            store._check_and_migrate()
            if not read_only:
                store._mark_interrupted_runs()
        except BaseException:
            con.close()
            raise
        store.release()
        return store

    def _mark_interrupted_runs(self) -> None:
        with _LIVE_LOCK:
            live = sorted(_LIVE_RUNS)
        with self.transaction():
            self._con.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?) "
                "WHERE status = 'running' AND NOT list_contains(?::VARCHAR[], run_id)",
                [_now(), live],
            )

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened again (waiting for the lock) if it was released. Opened under
        `_lock`: two threads of a pinned block (decide's reader and writer) that both find it
        released must get the same connection, or one's temporary tables are not the other's."""
        if self._conn is None:
            with self._lock:
                if self._conn is None:
                    con = connect(self.path, self.read_only, self.wait, self._config)
                    try:
                        apply(con, self.memory)  # a new connection starts from DuckDB's defaults
                    except BaseException:
                        con.close()
                        raise
                    self._conn = con
        return self._conn

    def key_filter_bytes(self) -> int:
        """What the writer's key filters hold in Python (8 bytes per stored key, `keys.KeyFilter`),
        outside DuckDB's memory limit."""
        return sum(k.nbytes for k in self._keys.values())

    def memory_in_effect(self) -> dict[str, str]:
        """DuckDB's memory limit and temp directory on this store's connection, as DuckDB reports them."""
        with self._lock, self.pinned():
            return in_effect(self._con)

    def release(self) -> None:
        """Close the file between transactions when opened with `hold_lock=False` (no-op otherwise)."""
        with self._lock:
            if not self.hold_lock and not self._in_tx and not self._pins and self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def pinned(self) -> Iterator[Store]:
        """Keep the connection (and its lock) for the block: temp tables, streams, several reads."""
        with self._lock:
            self._pins += 1
        try:
            yield self
        finally:
            with self._lock:
                self._pins -= 1
            self.release()

    def reader(self) -> Store:
        """A second connection to the same database for reading while this one writes.

        It sees only committed transactions (DuckDB MVCC), so never half a batch. For a store
        opened with `hold_lock=False` this pins the connection until the reader is closed.
        """
        return Store(self._con.cursor(), self.path, read_only=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        has_table = self._scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'")
        if not has_table:
            return 0
        v = self._scalar("SELECT max(version) FROM schema_version")
        return int(v or 0)

    def _check_and_migrate(self) -> None:
        current = self.schema_version
        if current > LATEST:
            raise StoreError(
                f"{self.path}: store schema version {current} is newer than this "
                f"provenance-scanner {__version__} understands (up to {LATEST}); upgrade the tool"
            )
        if current == LATEST:
            return
        if self.read_only:
            raise StoreError(
                f"{self.path}: store schema version {current} is older than {LATEST}; "
                "open it once for writing (any command without read-only access) to migrate"
            )
        if current == 0 and self._has_foreign_tables():
            raise StoreError(f"{self.path}: a DuckDB file, but not a provenance store")
        for version in range(current + 1, LATEST + 1):
            with self.transaction():
                for statement in MIGRATIONS[version]:
                    self._con.execute(statement)
                self._con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, _now(), __version__])

    def _has_foreign_tables(self) -> bool:
        return bool(self._scalar("SELECT count(*) FROM information_schema.tables"))

    # -- transactions and writes -----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together or not at all; nested uses join the outer one."""
        self._require_writable()
        with self._lock:
            if self._in_tx:
                yield self
                return
            self._execute("BEGIN TRANSACTION")
            self._in_tx = True
            try:
                yield self
            except BaseException:
                with suppress(duckdb.Error):  # the first error is the one to report
                    self._con.execute("ROLLBACK")
                raise
            else:
                self._execute("COMMIT")  # disk full, file too large: a StoreError, not a traceback
            finally:
                self._in_tx = False
                self.release()

    def _execute(self, sql: str) -> None:
        try:
            self._con.execute(sql)
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: {_one_line(exc)}") from exc

    # -- typed writers: one per table, so callers never name a table or build its SQL --------
    def write_sources(self, datasets: Sequence[Dataset], manifest: Path | None) -> int:
        """Declared datasets; a row with a known `source_id` replaces it (a user edits a manifest)."""
        return self._insert("sources", [mapping.source_row(ds, manifest) for ds in datasets], replace=True)

    def add_undeclared_source(self, name: str, category: str) -> int:
        """A source for files ingested without a manifest (not declared yet); a known one is kept."""
        return self._insert("sources", [mapping.undeclared_source_row(name, category)])

    def write_blocklist(self, lists: Sequence[Blocklist]) -> int:
        """Blocklisted domains per list; a known (domain, list) row is replaced by the new reason."""
        return self._insert("blocklist", mapping.blocklist_rows(lists), replace=True)

    def write_documents(self, rows: Rows) -> int:
        return self._insert("documents", rows)

    def write_texts(self, rows: Rows) -> int:
        return self._insert("texts", rows)

    def write_corpus_documents(self, docs: Sequence[Document], run_id: str | None) -> int:
        """Documents read from a corpus and their texts, in one transaction; returns the new documents."""
        from scanner.store.documents import documents_table, texts_table

        with self.transaction():
            self.write_texts(texts_table(docs))
            return self.write_documents(documents_table(docs, run_id))

    def write_evidence(self, rows: Rows) -> int:
        """Artefact bodies, content-addressed by sha256: a known body is not stored twice."""
        return self._insert("evidence", rows)

    def write_observations(self, rows: Rows) -> int:
        """Sightings of evidence (where, when, how it was served)."""
        return self._insert("observations", rows)

    def write_sightings(self, items: Sequence[tuple[bytes, Observation]], run_id: str | None) -> tuple[int, int]:
        """Bodies and their sightings in one transaction; returns (new bodies, new sightings)."""
        blobs, sightings = mapping.observation_rows(items, run_id)
        with self.transaction():
            return self.write_evidence(blobs), self.write_observations(sightings)

    def write_signals(
        self, read: Sequence[tuple[mapping.Sighting, Sequence[Signal]]], extracted_at: datetime
    ) -> tuple[int, int]:
        """The statements each sighting gave, and that it was read (how many it gave: the resume
        point of `signals`), in one transaction; returns (new statements, new sightings read)."""
        statements = [row for sighting, found in read for row in mapping.signal_rows(sighting, found)]
        done = [mapping.extraction_row(sighting[0], len(found), extracted_at) for sighting, found in read]
        with self.transaction():
            return self._insert("signals", statements), self._insert("signal_extractions", done)

    def write_dedup_signatures(self, rows: Rows) -> int:
        return self._insert("dedup_signatures", rows)

    def _insert(self, table: str, rows: Rows, *, replace: bool = False) -> int:
        """Insert rows whose key is new (idempotent); returns how many rows were written.

        `replace=True` overwrites rows with the same key instead (declarations such as sources,
        which a user edits). Rows travel as one Arrow table: no per-row statements.
        """
        keys = TABLE_KEYS.get(table)
        if keys is None:
            raise ValueError(f"no idempotent insert for table {table!r}")
        batch = _as_arrow(rows)
        if batch.num_rows == 0:
            return 0
        if table in UNINDEXED and not replace:
            return self._append_new(table, keys, batch)
        key_list = ", ".join(keys)
        with self.transaction(), self._lock:
            self._con.register("_incoming", batch)
            try:
                n = self._scalar(
                    f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO {table} BY NAME "
                    f"SELECT DISTINCT ON ({key_list}) * FROM _incoming"
                )
            finally:
                self._con.unregister("_incoming")
        return int(n)

    def _append_new(self, table: str, keys: tuple[str, ...], batch: pa.Table) -> int:
        """Insert the rows whose key the table lacks: looked up in the in-memory `KeyFilter`, and
        only the flagged rows checked against the table (an anti-join over those keys alone)."""
        cols = ", ".join(keys)
        with self.transaction(), self._lock, self.pinned():
            rows = int(self._scalar(f"SELECT count(*) FROM {table}"))
            known = self._keys.get(table)
            if known is None or known.rows != rows:
                known = self._keys[table] = KeyFilter(self._hashes(f"SELECT hash({cols}) FROM {table}"), rows)
            self._con.register("_incoming", batch)
            flagged = np.zeros(0, dtype=bool)
            try:
                incoming = self._hashes(f"SELECT hash({cols}) FROM _incoming")
                if len(np.unique(incoming)) < len(incoming):  # a key twice: its first row is kept
                    batch = _first_of_each(batch, keys)
                    self._con.register("_incoming", batch)
                    incoming = self._hashes(f"SELECT hash({cols}) FROM _incoming")
                flagged = known.maybe_present(incoming)
                seen = ""
                if flagged.any():
                    mask = pa.array(flagged)
                    self._con.register("_flagged", pa.table({k: batch.column(k).filter(mask) for k in keys}))
                    seen = f"ANTI JOIN (SELECT {cols} FROM {table} SEMI JOIN _flagged USING ({cols})) USING ({cols})"
                # no DISTINCT ON: the batch's keys are unique by now, and grouping whole rows (a
                # signature is 512 bytes, a text up to megabytes) cost a hash table of the batch
                insert = f"INSERT INTO {table} BY NAME SELECT * FROM _incoming {seen}"
                n = int(self._scalar(insert))
            finally:
                self._con.unregister("_incoming")
                if flagged.any():
                    self._con.unregister("_flagged")
            known.add(incoming, rows + n)
        return n

    def _hashes(self, sql: str) -> np.ndarray:
        """The one UBIGINT column of `sql` (DuckDB's `hash()` of keys, never NULL) as NumPy."""
        return np.asarray(next(iter(self._con.execute(sql).fetchnumpy().values())), dtype=np.uint64)

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only")

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, command: str, args: Mapping[str, Any]) -> str:
        """A `running` run record; under a memory bound its args keep the bound asked for and the
        one DuckDB holds (read on the connection the run starts with)."""
        run_id = uuid.uuid4().hex
        with self.transaction():
            if self.memory:
                args = {**args, **self.memory.as_args(), "duckdb": in_effect(self._con)}
            self._con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 'running', ?, NULL, NULL)",
                [run_id, command, json.dumps(args, default=str), _now(), __version__],
            )
        with _LIVE_LOCK:
            _LIVE_RUNS.add(run_id)
        return run_id

    def finish_run(
        self, run_id: str, status: str, stats: Mapping[str, Any], errors: Sequence[Mapping[str, Any]]
    ) -> None:
        with self.transaction():
            self._con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, stats = ?, errors = ? WHERE run_id = ?",
                [_now(), status, json.dumps(stats, default=str), json.dumps(list(errors)), run_id],
            )
        with _LIVE_LOCK:
            _LIVE_RUNS.discard(run_id)

    # -- ingest checkpoints ----------------------------------------------------------------
    def checkpoint(self, file_sha256: str, source_id: str) -> tuple[int, bool]:
        with self.pinned():
            rows = self._con.execute(
                "SELECT records_done, finished FROM ingest_checkpoints WHERE file_sha256 = ? AND source_id = ?",
                [file_sha256, source_id],
            ).fetchall()
        row = rows[0] if rows else None
        return (int(row[0]), bool(row[1])) if row else (0, False)

    def set_checkpoint(self, file_sha256: str, source_id: str, path: str, records_done: int, finished: bool) -> None:
        with self.transaction():
            self._con.execute(
                "INSERT OR REPLACE INTO ingest_checkpoints VALUES (?, ?, ?, ?, ?, ?)",
                [file_sha256, source_id, path, records_done, finished, _now()],
            )

    def _scalar(self, sql: str, params: Params = None) -> Any:
        # fetchall, not fetchone: DuckDB 2 refuses further work while a result is unfinished
        with self.pinned():
            try:
                rows = self._con.execute(sql, params or []).fetchall()
            except duckdb.Error as exc:  # e.g. a damaged file found while reading the catalogue
                raise StoreError(f"{self.path}: {_one_line(exc)}") from exc
        return rows[0][0] if rows else None

    # -- reads -----------------------------------------------------------------------------
    def query(self, sql: str, params: Params = None) -> pa.Table:
        """Run SQL and return Arrow. On a read-only store DuckDB itself refuses writes."""
        with self._lock, self.pinned():
            try:
                rel = self._con.sql(sql, params=params or None)
                if rel is None:  # a statement without a result (e.g. SET)
                    return pa.table({})
                # DuckDB 2 renamed fetch_arrow_table() to to_arrow_table()
                fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
                return fetch()
            except duckdb.Error as exc:
                raise StoreError(f"query failed: {_one_line(exc)}") from exc

    def evidence_as_of(self, origin: str, kind: str, as_of: datetime | None = None) -> dict | None:
        """The newest sighting of an origin's artefact at or before `as_of`, with its bytes."""
        rows = self.query(
            "SELECT o.obs_id, o.evidence_sha256, o.url, o.observed_at, o.http_status, o.via, "
            "o.locator, e.body FROM observations o JOIN evidence e ON e.sha256 = o.evidence_sha256 "
            "WHERE o.origin = ? AND o.kind = ? AND (?::TIMESTAMPTZ IS NULL OR o.observed_at <= ?) "
            "ORDER BY o.observed_at DESC, o.obs_id LIMIT 1",
            [origin, kind, as_of, as_of],
        ).to_pylist()
        return rows[0] if rows else None

    def observations(
        self,
        *,
        origins: Sequence[str] | None = None,
        urls: Sequence[str] | None = None,
        kinds: Sequence[str],
        as_of: datetime | None = None,
    ) -> list[dict]:
        """Sightings (with their bytes) of the given kinds for some origins or URLs, oldest first."""
        where = ["o.kind IN (SELECT unnest(?::VARCHAR[]))"]
        params: list[Any] = [list(kinds)]
        if origins is not None:
            where.append("o.origin IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(origins))
        if urls is not None:
            where.append("o.url IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(urls))
        if as_of is not None:
            where.append("o.observed_at <= ?")
            params.append(as_of)
        return self.query(
            "SELECT o.kind, o.origin, o.url, o.observed_at, o.http_status, o.evidence_sha256, e.body "
            "FROM observations o JOIN evidence e ON e.sha256 = o.evidence_sha256 "
            f"WHERE {' AND '.join(where)} ORDER BY o.observed_at, o.obs_id",
            params,
        ).to_pylist()

    def blocklist(self) -> dict[str, tuple[str, str | None]]:
        rows = self.query("SELECT registrable_domain, list_name, reason FROM blocklist ORDER BY list_name")
        return {r["registrable_domain"]: (r["list_name"], r["reason"]) for r in rows.to_pylist()}

    def stream(self, sql: str, params: Params = None, rows: int = 10_000) -> Iterator[pa.RecordBatch]:
        """Run SQL and yield Arrow record batches as they come, on a cursor of its own, so the
        caller may write to the store between batches (a long read never blocks the writer)."""
        with self.pinned():
            yield from self._stream(sql, params, rows)

    def _stream(self, sql: str, params: Params, rows: int) -> Iterator[pa.RecordBatch]:
        cursor = self._con.cursor()
        try:
            try:
                rel = cursor.sql(sql, params=params or None)
                reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(rows)
            except duckdb.Error as exc:
                raise StoreError(f"query failed: {_one_line(exc)}") from exc
            yield from reader
        finally:
            cursor.close()

    @contextmanager
    def temporary(self, name: str, table: pa.Table) -> Iterator[None]:
        """An Arrow table visible to queries under `name` for the duration of the block."""
        with self._lock, self.pinned():
            self._con.register(name, table)
            try:
                yield
            finally:
                self._con.unregister(name)

    def summaries(self) -> list[dict]:
        return self.query(
            "SELECT version, generated_at, manifest, content_sha256, document FROM summaries ORDER BY version"
        ).to_pylist()

    def add_summary(
        self, version: int, generated_at: datetime, manifest: str, content_sha256: str, document: str
    ) -> None:
        with self.transaction():
            self._con.execute(
                "INSERT INTO summaries VALUES (?, ?, ?, ?, ?)",
                [version, generated_at, manifest, content_sha256, document],
            )

    def count(self, table: str) -> int:
        if table not in TABLE_KEYS and table not in _UNKEYED:
            raise ValueError(f"unknown table {table!r}")
        with self.pinned():
            return int(self._scalar(f"SELECT count(*) FROM {table}"))

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in (*TABLE_KEYS, "decisions", "decision_sets", "runs", "summaries")}


def _first_of_each(batch: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    """The batch with only the first row of each key, in order: `DISTINCT ON` keeps any one of
    them, and a record read twice (ingest's batches commit together, a Ray shard merges in one
    write) keeps its first locator, as when each batch committed alone."""
    numbered = batch.select(list(keys)).append_column("_row", pa.array(np.arange(batch.num_rows)))
    first = numbered.group_by(list(keys), use_threads=False).aggregate([("_row", "min")])
    return batch.take(np.sort(first.column("_row_min").to_numpy()))


def connect(
    path: str, read_only: bool, wait: float = LOCK_WAIT, config: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, waiting with backoff while another process holds its lock."""
    deadline = time.monotonic() + wait
    pause = 0.02
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config or {})
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreError(f"{path}: cannot open as a provenance store: {_one_line(exc)}") from exc
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{path}: another process holds the store's lock (a writer that keeps it for the whole "
                    f"run, or a long query); gave up after {wait:g} s. Retry, or wait longer with "
                    "PROVENANCE_LOCK_WAIT=SECONDS"
                ) from exc
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.5)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot open as a provenance store: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
