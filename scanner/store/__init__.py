"""The DuckDB provenance store (schema, migrations, idempotent Arrow writes, read-only SQL)."""

from scanner.store import reports
from scanner.store.migrations import LATEST as SCHEMA_VERSION
from scanner.store.store import TABLE_KEYS, Store

__all__ = ["SCHEMA_VERSION", "TABLE_KEYS", "Store", "reports"]
