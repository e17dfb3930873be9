"""The `provenance` command: a thin face over scanner.api. No logic lives here, only wiring.

Every command takes --store; commands that print results take --json (one JSON document on
stdout, nothing else). User mistakes are one line on stderr and exit code 2.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

import scanner.api as api
from scanner.cli_progress import ingest_progress
from scanner.errors import Interrupted, ScannerError
from scanner.version import __version__

app = typer.Typer(
    help="Training-data provenance and copyright scanner.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
evidence_app = typer.Typer(help="Add and inspect stored evidence.", no_args_is_help=True)
manifest_app = typer.Typer(help="Validate manifests.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
app.add_typer(manifest_app, name="manifest")

out = Console(soft_wrap=True, emoji=False)  # data is printed verbatim: no :emoji: codes from it
err = Console(stderr=True, soft_wrap=True, emoji=False)

StoreOpt = Annotated[Path, typer.Option("--store", help="Provenance store file.", envvar="PROVENANCE_STORE")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="DuckDB memory limit, e.g. 4GB (default: 80 % of RAM); above it joins and sorts spill to --temp-dir.",
        envvar="PROVENANCE_MEMORY_LIMIT",
    ),
]
TempDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--temp-dir", help="Where DuckDB spills (default: <store>.tmp beside the store).", envvar="PROVENANCE_TEMP_DIR"
    ),
]
DEFAULT_STORE = Path("provenance.duckdb")
EXIT_INCOMPLETE = 3  # ran, but the input is incomplete or failed its checks (README "Exit codes")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode("ascii")
    return str(value)


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, default=_jsonable, ensure_ascii=False) + "\n")


@contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """Records, documents/s and MB/s on stderr while ingest runs (hidden when not a terminal)."""
    columns = (
        TextColumn(label),
        TextColumn("{task.completed:,} records"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None, rate="")
        start, seen = time.monotonic(), [0, 0]

        def advance(records: int, payload_bytes: int = 0) -> None:
            seen[0] += records
            seen[1] += payload_bytes
            secs = max(time.monotonic() - start, 1e-6)
            bar.update(task, advance=records, rate=f"{seen[0] / secs:,.0f} rec/s, {seen[1] / secs / 1e6:,.1f} MB/s")

        yield advance


@contextmanager
def origins_bar(label: str, console: Console | None = None) -> Iterator[Any]:
    """Origins done/total, origins/s and the time left, on stderr (hidden when not a terminal)."""
    console = console or err
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("origins"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None, rate="")
        start, seen = time.monotonic(), [0]

        def advance(origins: int, payload_bytes: int = 0) -> None:
            seen[0] += origins
            bar.update(task, advance=origins, rate=f"{seen[0] / max(time.monotonic() - start, 1e-6):,.1f}/s")

        yield advance, lambda n: bar.update(task, total=n)


# -- commands ----------------------------------------------------------------------------------
@app.command()
def demo(store: StoreOpt = DEFAULT_STORE, json_out: JsonOpt = False) -> None:
    """Run the main job end to end on the bundled real sample."""
    with api.open_store(store) as st, progress_bar("demo: ingest") as advance:
        result = api.demo(st, progress=advance, out_dir=Path(store).resolve().parent)
        per_domain = api.largest_domains(st, 10)
    doc = {
        "store": str(store),
        "ingest": result.ingest.as_dict(),
        "robots_txt_imported": result.robots_imported,
        "counts": result.counts,
        "top_domains": per_domain,
        "summary_version": result.summary_version,
        "summary_files": result.summary_files,
    }
    if json_out:
        emit_json(doc)
        return
    out.print(f"[bold]Demo store:[/bold] {store}")
    _print_ingest(result.ingest)
    _print_totals(result.ingest, store, hint=False)
    out.print(f"robots.txt evidence imported: {result.robots_imported}")
    _print_rows("Decisions (policy any-ai-trainer, each document as of its fetch time)", [result.decisions])
    out.print(
        "allowed: no opt-out applies to the document's URL; reserved: an opt-out applies (robots.txt, "
        "TDMRep, meta noai, ...); unknown: no usable evidence for its origin as of its fetch time "
        "(nothing fetched or imported yet: `fetch-signals` or `evidence import` adds some)",
        markup=False,
        highlight=False,
    )
    d = result.dedup
    if d:
        out.print(
            f"Dedup: {d.get('exact_duplicates', 0)} exact copies in {d.get('exact_clusters', 0)} clusters, "
            f"{d.get('near_duplicates', 0)} near-duplicates in {d.get('minhash_clusters', 0)} MinHash clusters "
            "(threshold 0.8); every member is kept, one representative per cluster",
            markup=False,
            highlight=False,
        )
    _print_rows("Largest domains", per_domain)
    _print_rows("Store contents", [{"table": k, "rows": v} for k, v in result.counts.items()])
    out.print(f"EU public summary (draft): {', '.join(result.summary_files)}", markup=False)
    out.print(f"Next: {_command()} status www.nytimes.com --show-evidence --store {store}", markup=False)


KeyOpt = Annotated[str | None, typer.Option(help="Field (dotted path) holding it in JSONL/Parquet/HF records.")]


@app.command()
def ingest(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Corpus files, folders (read recursively) or quoted globs ('data/**/*.jsonl.zst')."),
    ] = None,
    manifest: Annotated[Path | None, typer.Option(help="Manifest declaring the datasets.")] = None,
    source: Annotated[str | None, typer.Option(help="Dataset name the files belong to.")] = None,
    workers: Annotated[
        int, typer.Option(help="Processes for text extraction (with --engine ray: CPUs of a local Ray cluster).")
    ] = os.cpu_count() or 1,
    engine: Annotated[str, typer.Option(help="local | ray (a Ray task per file; the [ray] extra)")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one).")] = None,
    max_bad_records: Annotated[
        str | None,
        typer.Option("--max-bad-records", help="Exit 3 when more records than N (or P%) are bad."),
    ] = None,
    extractor: Annotated[
        str,
        typer.Option(help="trafilatura (best F1) | resiliparse (several times faster, lower F1: first-pass audits)"),
    ] = "trafilatura",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List files, formats, sizes and field map; read nothing.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Ingest a sample: stop after this many records.", min=1)] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            help="Records per batch. Batches commit together (the write lock is held per commit) once they "
            f"hold {api.COMMIT_BUDGET.held_bytes >> 20} MB of text or {api.COMMIT_BUDGET.records:,} records, "
            f"or {api.COMMIT_BUDGET.seconds:g} s after the last commit (and at least "
            f"{1 / api.COMMIT_BUDGET.commit_share:g} times as long as it took).",
            min=1,
        ),
    ] = 256,
    text_key: KeyOpt = None,
    url_key: KeyOpt = None,
    date_key: KeyOpt = None,
    id_key: KeyOpt = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Read corpora (WARC/ARC, JSONL, Parquet, HF dataset folders) into documents and evidence.

    The store's write lock is held only while a commit is written: `query`, `status`, `check`,
    `report` and the service's /reload work while it runs.
    """
    bad_limit = api.BadRecordLimit.parse(max_bad_records)
    api.require_engine(engine)  # before the store or the progress line: the error stands alone
    memory = api.memory_bound(memory_limit, temp_dir)
    jobs = api.ingest_jobs(paths or (), manifest, source, text=text_key, url=url_key, date=date_key, id=id_key)
    plan = api.plan_ingest(jobs.targets)
    if dry_run:
        _print_plan(plan, json_out)
        return
    with api.open_store(store, hold_lock=False, memory=memory) as st:
        jobs.declare(st)
        with ingest_progress(err) as tracker:
            report = api.ingest(
                st,
                plan.jobs,
                workers=workers,
                tracker=tracker,
                extractor=extractor,
                limit=limit,
                batch_size=batch_size,
                unknown=plan.unknown,
                failed=plan.failed,
                engine=engine,
                address=address,
            )
    if json_out:
        emit_json(report.as_dict())
    else:
        _print_ingest(report)
        _print_totals(report, store)
    problems = report.problems(bad_limit)
    for problem in problems:
        err.print(f"ingest incomplete: {problem}", markup=False, highlight=False)
    if problems:
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_plan(plan: api.IngestPlan, json_out: bool) -> None:
    doc = plan.as_dict()
    if json_out:
        emit_json(doc)
        return
    rows = [
        {
            "file": f["path"],
            "format": f["format"] or "?",
            "MB": "" if f["bytes"] is None else f"{f['bytes'] / 1e6:,.2f}",
            "source": f["source"],
        }
        for f in doc["files"]
    ]
    _print_rows(f"Would ingest {len(rows)} files, {doc['total_bytes'] / 1e6:,.1f} MB", rows)
    maps = {json.dumps(f["fields"]): f["fields"] for f in doc["files"] if f["format"] not in ("warc", "arc")}
    for fm in maps.values():
        out.print(
            "Field map (JSONL, Parquet, HF; first present wins): "
            + "; ".join(f"{k}: {', '.join(v)}" for k, v in fm.items()),
            markup=False,
            highlight=False,
        )
    if any(f["format"] in ("warc", "arc") for f in doc["files"]):
        out.print(
            "WARC/ARC: url WARC-Target-URI, date WARC-Date, id WARC-Record-ID, text extracted from the HTML body",
            markup=False,
        )
    for p in doc["unknown_files"]:
        err.print(f"skip: {p}: not a supported corpus format", markup=False)
    for f in doc["failed"]:
        err.print(f"error: {f['file']}: {f['reason']}", markup=False)


def _command() -> str:
    """How this command was invoked, for next-step hints that can be pasted as they are."""
    import shutil

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "provenance"
    if argv0.endswith("__main__.py"):
        return "python -m scanner"
    name = Path(argv0).name
    found = shutil.which(name)
    return name if found and Path(found).resolve() == Path(argv0).resolve() else argv0


def _print_totals(report: api.IngestReport, store: Path, hint: bool = True) -> None:
    t = report.totals()
    parts = [f"{t['documents_new']:,} new"]
    if t["documents_already_stored"]:
        parts.append(
            f"{t['documents_already_stored']:,} already stored (an earlier run, or a copy earlier in this one)"
        )
    other = []
    if t["other_records"]:
        other.append(
            f"{t['other_records']:,} records without a document "
            "(robots.txt captures, WARC requests/metadata, blank lines)"
        )
    if t["bad_records"]:
        other.append(f"{t['bad_records']:,} bad records skipped")
    files = f"{t['files']} files"
    if t["files_already_done"]:
        files += f" ({t['files_already_done']} already ingested)"
    if t["files_unknown"]:
        files += f", {t['files_unknown']} unknown files skipped"
    if t["files_failed"]:
        files += f", {t['files_failed']} unreadable"
    out.print(
        f"Totals: {files}; {t['records']:,} records → {t['documents']:,} documents: {', '.join(parts)}"
        + (f"; {'; '.join(other)}" if other else "")
        + f"; {t['evidence_new']:,} new evidence items.",
        markup=False,
        highlight=False,
    )
    for note in report.warnings():
        err.print(f"warning: {note}", markup=False, highlight=False)
    if not hint:
        return
    cmd, st = _command(), f" --store {store}" if Path(store) != DEFAULT_STORE else ""
    out.print(
        f"Next: {cmd} dedup{st}  (near-duplicate clusters), then {cmd} decide{st} (a verdict per document)",
        markup=False,
        highlight=False,
    )


@evidence_app.command("import")
def evidence_import(
    path: Annotated[Path, typer.Argument(help="The artefact (robots.txt, tdmrep.json, ...).")],
    url: Annotated[str, typer.Option(help="URL it was served at.")],
    observed_at: Annotated[str, typer.Option(help="When it was seen (ISO 8601).")],
    status: Annotated[int, typer.Option(help="HTTP status it was served with (100..599).")] = 200,
    kind: Annotated[api.EvidenceKind | None, typer.Option(help="Artefact kind; guessed from the URL.")] = None,
    note: Annotated[str | None, typer.Option(help="Where it came from (kept for the chain of custody).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Add an artefact seen elsewhere as historical evidence."""
    when = api.parse_time(observed_at, "--observed-at")
    with api.open_store(store) as st:
        doc = api.import_artefact(
            st,
            path,
            url=url,
            observed_at=when,
            http_status=status,
            kind=kind.value if kind else None,
            warn=lambda m: err.print(f"warning: {m}", markup=False),
            note=note,
        )
    if json_out:
        emit_json(doc)
    else:
        out.print(
            f"stored {doc['kind']} for {doc['origin']} observed {when.isoformat()} "
            f"(sha256 {doc['evidence_sha256'][:16]}…)",
            markup=False,
        )
    if doc["outcome"]:
        err.print(
            f"warning: {path} is an HTML or challenge page, not a robots.txt: recorded as {doc['outcome']}",
            markup=False,
        )
    for w in doc["warnings"]:
        err.print(f"warning: {w}", markup=False)


@evidence_app.command("import-many")
def evidence_import_many(
    source: Annotated[Path, typer.Argument(help="An index (.csv/.jsonl), or a folder or tar of HOST/robots.txt.")],
    observed_at: Annotated[str | None, typer.Option(help="For a folder or tar: when all were seen (ISO 8601).")] = None,
    scheme: Annotated[str, typer.Option(help="For a folder or tar: the scheme they were served over.")] = "https",
    status: Annotated[int, typer.Option(help="For a folder or tar: the HTTP status they were served with.")] = 200,
    note: Annotated[str | None, typer.Option(help="For a folder or tar: where they came from.")] = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Add many artefacts at once (idempotent). Index columns: path, url, observed_at, status,
    kind, note. A WARC of captures goes through `provenance ingest` instead."""
    when = api.parse_time(observed_at, "--observed-at") if observed_at else None
    memory = api.memory_bound(memory_limit, temp_dir)
    with api.open_store(store, memory=memory) as st, progress_bar("import") as advance:
        report = api.import_many(
            st, source, observed_at=when, scheme=scheme, http_status=status, note=note, progress=advance
        )
    doc = report.as_dict()
    if json_out:
        emit_json(doc)
    else:
        out.print(
            f"read {doc['read']}: {doc['sightings_new']} new sightings ({doc['already_stored']} already stored), "
            f"{doc['blobs_new']} new files, {doc['not_robots']} not robots.txt, {len(doc['problems'])} problems",
            markup=False,
        )
        for p in doc["problems"][:20]:
            err.print(f"problem: {p['where']}: {p['reason']}", markup=False, emoji=False, highlight=False)
    if report.problems and not report.read - len(report.problems):
        raise typer.Exit(1)


@evidence_app.command("verify")
def evidence_verify(
    pack: Annotated[Path, typer.Argument(help="An evidence pack zip.")],
    key: Annotated[Path | None, typer.Option(help="The signer's public key (PEM) to trust.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-check an evidence pack offline: member names, checksums, signature, and the verdict
    re-derived from its artefacts. Exit 0: signed by --key and consistent; 1: problems;
    2: usage error; 3: consistent but unsigned; 4: consistent, signed, no --key to trust."""
    result = api.verify_pack(pack, key=key)
    if json_out:
        emit_json(result.as_dict())
    else:
        for p in result.problems:
            err.print(f"problem: {p}", markup=False, emoji=False, highlight=False)
        out.print(f"{pack}: {result.summary}", markup=False, emoji=False, highlight=False)
        if result.rederived:
            out.print(f"  verdict {result.rederived}, re-derived with {result.engine}", markup=False, emoji=False)
    raise typer.Exit(int(result.outcome))


keys_app = typer.Typer(help="Signing keys for evidence packs.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def keys_init(
    prefix: Annotated[Path, typer.Argument(help="Writes PREFIX.key (private) and PREFIX.pub.")] = Path(
        "provenance-signing"
    ),
    json_out: JsonOpt = False,
) -> None:
    """Create an Ed25519 key pair for signing evidence packs (never overwrites)."""
    pair = api.init_keys(prefix)
    doc = {"private_key": str(pair.private), "public_key": str(pair.public), "key_id": pair.key_id}
    if json_out:
        emit_json(doc)
    else:
        out.print(
            f"wrote {pair.private} (keep it secret) and {pair.public} (give it to whoever verifies); "
            f"key id {pair.key_id}",
            markup=False,
        )


@app.command("evidence-pack")
def evidence_pack(
    target: Annotated[str, typer.Argument(help="A URL, or a domain (judged at its home page).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The zip to write.")],
    agent: Annotated[str | None, typer.Option(help="One agent's view (product token).")] = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = "any-ai-trainer",
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    sign: Annotated[Path | None, typer.Option("--sign", help="Sign with this private key (keys init).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Export the decision, its reasons, the raw evidence and its chain of custody as a verifiable zip."""
    when = api.parse_as_of(as_of) if as_of else None
    with api.open_store(store, read_only=True) as st:
        result = api.export_pack(
            st, target, output, agent=agent, as_of=when, policy=policy, own_token=own_token, sign_key=sign
        )
    if json_out:
        emit_json(result)
    else:
        out.print(
            f"wrote {result['pack']}: verdict {result['verdict']} for {result['url']}, {result['artefacts']} artefacts"
            f"{', signed' if result['signed'] else ', unsigned'}",
            markup=False,
        )


@app.command()
def report(
    by: Annotated[str, typer.Option(help="domain | source | month, or several: domain,month")] = "domain",
    policy: PolicyOpt = "any-ai-trainer",
    agent: Annotated[str | None, typer.Option(help="One agent's view (product token).")] = None,
    as_of: AsOfOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Documents allowed, reserved and unknown (never checked) per domain, source or month of
    collection; decisions missing for the policy and --as-of are made first."""
    when = api.parse_as_of(as_of) if as_of else None
    with api.open_store(store) as st:
        doc = api.report(st, by, policy=policy, agent=agent, as_of=when)
    if json_out:
        emit_json(doc)
        return
    moment = f", as of {when.isoformat()}" if when else ", each document as of its fetch time"
    _print_rows(
        f"Verdicts under {doc['policy']} v{doc['policy_version']}{moment}, by {', '.join(doc['by'])}", doc["rows"]
    )
    t = doc["totals"]
    out.print(
        f"{t['documents']} documents: {t['allowed']} allowed, {t['reserved']} reserved, {t['unknown']} unknown",
        markup=False,
    )


@manifest_app.command("check")
def manifest_check(
    path: Annotated[Path, typer.Argument(help="Manifest TOML file.")], json_out: JsonOpt = False
) -> None:
    """Validate a manifest and list what it declares."""
    doc = api.manifest_check(path)
    if json_out:
        emit_json(doc)
    else:
        out.print(f"{path}: valid")
        _print_rows(
            "Datasets",
            [{"source": d["source"], "category": d["category"], "files": len(d["files"])} for d in doc["datasets"]],
        )


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the store's tables and views.")],
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Run read-only SQL over the store (no writes, no file or network access; see `export`)."""
    with api.open_store(store, sandbox=True) as st:
        table, json_columns = api.query_table(st, sql)
    rows = table.to_pylist()
    if json_out:
        for row in rows:  # JSON columns as JSON, not strings inside strings
            for c in json_columns:
                if isinstance(row[c], str):
                    row[c] = json.loads(row[c])
        emit_json({"columns": table.column_names, "rows": rows})
    else:
        _print_rows(None, rows, table.column_names)


PolicyOpt = Annotated[str, typer.Option(help="any-ai-trainer | own-token | generic | strict-literal | strict")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Use evidence seen at or before (ISO 8601; a date alone: end of that day, UTC)."),
]


@app.command()
def export(
    sql: Annotated[str | None, typer.Argument(help="SQL whose result to write (read-only, as `query`).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="FILE.parquet | .csv | .jsonl")] = None,
    verdict: Annotated[
        str | None, typer.Option(help="Write the corpus with this verdict: allowed | reserved | unknown (comma list).")
    ] = None,
    policy: PolicyOpt = "any-ai-trainer",
    cluster: Annotated[str | None, typer.Option(help="representative: one document per duplicate cluster.")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Write a query's result, or the kept / dropped corpus (text plus provenance), to a file."""
    if output is None:
        raise ScannerError("give -o FILE.parquet|.csv|.jsonl")
    if (sql is None) == (verdict is None):
        raise ScannerError("give either SQL or --verdict allowed|reserved|unknown, not both or neither")
    if cluster not in (None, "representative"):
        raise ScannerError(f"--cluster {cluster!r}: use representative")
    with api.open_store(store, sandbox=True) as st:
        if sql is not None:
            doc = api.export_query(st, sql, output)
        else:
            verdicts = [v.strip() for v in (verdict or "").split(",") if v.strip()]
            doc = api.export_corpus(st, output, verdicts, policy=policy, representatives=cluster == "representative")
    if json_out:
        emit_json(doc)
        return
    out.print(f"wrote {doc['path']}: {doc['rows']:,} rows ({doc['format']}, {doc['bytes']:,} bytes)", markup=False)
    if doc.get("undecided"):
        err.print(
            f"note: {doc['undecided']:,} documents have no decision under {doc['policy']} and are not in the file: "
            f"run `provenance decide --policy {doc['policy']}`",
            markup=False,
        )


@app.command()
def check(
    url: Annotated[str, typer.Argument(help="The URL to judge.")],
    agent: Annotated[str | None, typer.Option(help="One agent's view (product token).")] = None,
    robots: Annotated[Path | None, typer.Option(help="Judge by this robots.txt file alone.")] = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = "any-ai-trainer",
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    google: Annotated[bool, typer.Option(help="With --robots: read it exactly as google/robotstxt.")] = False,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """allowed / reserved / unknown for a URL, with the reasons and evidence (for scripts and hooks)."""
    when = api.parse_as_of(as_of) if as_of else None
    if robots is not None:
        decision = api.check(url, agent, robots=robots, policy=policy, own_token=own_token)
        explained = api.robots_check(url, agent or "*", robots=robots, dialect=api.robots_dialect(google)).as_dict()
    else:
        with api.open_store(store, read_only=True) as st:
            decision = api.check(url, agent, store=st, as_of=when, policy=policy, own_token=own_token)
        explained = None
    doc = decision.as_dict() | ({"robots": explained} if explained else {})
    if json_out:
        emit_json(doc)
        return
    _print_decision(doc)
    if explained:
        out.print(f"  robots.txt: {explained['explanation']}", markup=False)
        for finding in explained["lint"]:
            out.print(f"  lint {finding['code']} (line {finding['line']}): {finding['message']}", markup=False)


@app.command()
def status(
    target: Annotated[str, typer.Argument(help="A URL, or a domain (judged at its home page).")],
    agent: Annotated[str | None, typer.Option(help="One agent's view (product token).")] = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = "any-ai-trainer",
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    show_evidence: Annotated[bool, typer.Option(help="Print the stored robots.txt.")] = False,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """The verdict with every reason and the evidence behind it, as a legal team asks for it."""
    when = api.parse_as_of(as_of) if as_of else None
    with api.open_store(store, read_only=True) as st:
        report = api.status(target, agent, store=st, as_of=when, policy=policy, own_token=own_token)
    if json_out:
        emit_json(report)
        return
    _print_decision(report["decision"])
    out.print(f"  rests on evidence for {report['origin']}", markup=False, emoji=False, highlight=False)
    for ev in report["evidence"]:
        age = f" ({ev['kind']} seen {ev['age']})" if ev.get("age") else ""
        out.print(
            f"  evidence {ev['kind']} {ev['url']} observed {ev['observed_at']} HTTP {ev['http_status']} "
            f"sha256 {ev['sha256']}{age}",
            markup=False,
            emoji=False,
            highlight=False,
        )
        if show_evidence and ev.get("text"):
            _print_verbatim(ev["text"])
    for w in report["warnings"]:
        err.print(f"warning: {w}", markup=False, emoji=False, highlight=False)


def _print_verbatim(text: str) -> None:
    """The artefact exactly as stored, numbered like the `line N` locators that cite it (no Rich
    markup or emoji codes interpreted: the bytes are evidence)."""
    out.file.flush()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(str(len(lines)))
    sys.stdout.write("".join(f"    {n:>{width}} | {line}\n" for n, line in enumerate(lines, start=1)))
    sys.stdout.flush()


@app.command()
def history(
    target: Annotated[str, typer.Argument(help="A URL, or a domain (its home page).")],
    agent: Annotated[str | None, typer.Option(help="One agent's rules and view (product token).")] = None,
    policy: PolicyOpt = "any-ai-trainer",
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text | json | html")] = "text",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Every sighting of a site's robots.txt in order: when it changed, the agent's rule diff, and
    each date the verdict flipped."""
    if fmt not in ("text", "json", "html"):
        raise ScannerError(f"--format {fmt!r}: use text, json or html")
    with api.open_store(store, read_only=True) as st:
        doc = api.history(target, agent, store=st, policy=policy, own_token=own_token)
    if fmt == "json":
        text = json.dumps(doc, default=_jsonable, ensure_ascii=False) + "\n"
    else:
        text = api.render_history(doc, fmt)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", markup=False)
    else:
        sys.stdout.write(text)
    for w in doc["warnings"]:
        err.print(f"warning: {w}", markup=False, emoji=False, highlight=False)


@app.command("decide")
def decide_cmd(
    policy: PolicyOpt = "any-ai-trainer",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge every document as of this time (default: each at its own fetch time)."),
    ] = None,
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    engine: Annotated[str, typer.Option(help="local | ray (by origin on a Ray cluster; the [ray] extra)")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one).")] = None,
    workers: Annotated[int | None, typer.Option(help="CPUs of a local Ray cluster (default: all).")] = None,
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Write a decision per document under a named policy."""
    when = api.parse_as_of(as_of) if as_of else None
    memory = api.memory_bound(memory_limit, temp_dir)
    with api.open_store(store, hold_lock=False, memory=memory) as st, progress_bar("decide") as advance:
        stats = api.decide_documents(
            st,
            policy,
            as_of=when,
            own_token=own_token,
            progress=advance,
            engine=engine,
            address=address,
            workers=workers,
        )
    if json_out:
        emit_json(stats)
    else:
        _print_rows("Decisions", [stats], [c for c in stats if c != "seconds"])


@app.command("signals")
def signals_cmd(
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Read every stored sighting not read yet into the `signals` table: each statement with its
    agents, scope, locator, evidence sha256 and observation time (for legal queries)."""
    memory = api.memory_bound(memory_limit, temp_dir)
    with api.open_store(store, memory=memory) as st, progress_bar("signals") as advance:
        stats = api.extract_signals(st, progress=advance)
    if json_out:
        emit_json(stats)
    else:
        _print_rows("Signals", [stats])


def _print_decision(doc: dict) -> None:
    colour = {"allowed": "green", "reserved": "red"}.get(doc["verdict"], "yellow")
    out.print(
        f"[{colour}]{doc['verdict']}[/{colour}] {escape(doc['url'])}  (policy {escape(doc['policy'])} "
        f"v{doc['policy_version']}, checked: {', '.join(doc['checked']) or 'nothing'})",
        emoji=False,
    )
    for r in doc["reasons"]:
        seen = f", observed {r['observed_at']}" if r["observed_at"] else ""
        lint = f" [{', '.join(r['lint'])}]" if r["lint"] else ""
        out.print(
            f"  {r['statement']:9s} {r['signal']:<20s} {r['detail']} ({r['locator']}; "
            f"agents {', '.join(r['agents'][:4])}{'…' if len(r['agents']) > 4 else ''}; "
            f"confidence {r['confidence']}{seen}){lint}",
            markup=False,
            emoji=False,
            highlight=False,
        )
    for lic in doc["licences"]:
        out.print(f"  licence   {lic['detail']} ({lic['locator']})", markup=False, emoji=False)


@app.command("fetch-signals")
def fetch_signals_cmd(
    origins: Annotated[
        list[str] | None, typer.Argument(help="Origins or hosts (default: every origin in the store).")
    ] = None,
    refresh: Annotated[bool, typer.Option(help="Fetch again even if fetched in the last 24 h.")] = False,
    manifest: Annotated[Path | None, typer.Option(help="Manifest: our crawler's identity.")] = None,
    allow_network: Annotated[
        list[str] | None,
        typer.Option("--allow-network", help="Also allow this network (CIDR, repeatable), e.g. an intranet."),
    ] = None,
    proxy: Annotated[str | None, typer.Option(help="Send requests through this http(s) proxy (guarded).")] = None,
    host_interval: Annotated[float, typer.Option(help="Seconds between requests to one host (at least).")] = 1.0,
    workers: Annotated[int, typer.Option(min=1, max=1024, help="Requests in flight at once.")] = 64,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Fetch robots.txt, tdmrep.json, ai.txt (and RSL licences) per origin into the evidence store."""
    config, token = api.fetch_config(
        manifest, allow_networks=allow_network or (), proxy=proxy, host_interval=host_interval
    )
    with api.open_store(store, hold_lock=False) as st, origins_bar("fetch-signals") as (advance, total):
        stats = api.fetch_signals(
            st, origins or (), config=config, our_token=token, refresh=refresh, progress=advance,
            progress_total=total, workers=workers,
        )  # fmt: skip
    if json_out:
        emit_json(stats)
    else:
        _print_rows("Fetched", [stats | {"robots_outcomes": json.dumps(stats["robots_outcomes"])}])


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8765,
    policy: PolicyOpt = "any-ai-trainer",
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    on_unknown: Annotated[str, typer.Option(help="keep | drop: the `keep` answer for unknown URLs.")] = "keep",
    allowed_host: Annotated[
        list[str] | None,
        typer.Option("--allowed-host", help="A Host name to serve besides loopback ones (repeat; * for any)."),
    ] = None,
    reload_token: Annotated[
        str | None,
        typer.Option(
            envvar="PROVENANCE_RELOAD_TOKEN",
            help="POST /reload then needs `Authorization: Bearer TOKEN` (prefer the environment variable).",
        ),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """The HTTP hook: GET/POST /check, /status/{domain}, /health, /version (OpenAPI at /docs)."""
    import uvicorn

    app_ = api.hook_app(
        store,
        policy=policy,
        own_token=own_token,
        on_unknown=on_unknown,
        allowed_hosts=allowed_host or (),
        reload_token=reload_token,
    )
    err.print(f"serving {store} (policy {policy}) on http://{host}:{port}", markup=False)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command("dedup")
def dedup_cmd(
    threshold: Annotated[float, typer.Option(help="Jaccard similarity of word 5-gram sets.")] = 0.8,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = 128,
    profile: Annotated[
        str, typer.Option(help="fast (vectorised word hash) | sha1 (bit-identical to datasketch's default MinHash)")
    ] = "fast",
    memory_limit: MemoryLimitOpt = None,
    temp_dir: TempDirOpt = None,
    engine: Annotated[str, typer.Option(help="local | ray (signatures on a Ray cluster; the [ray] extra)")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one).")] = None,
    workers: Annotated[
        int, typer.Option(help="Processes hashing signatures (with --engine ray: CPUs of a local Ray cluster).")
    ] = os.cpu_count() or 1,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Exact and MinHash near-duplicate clusters, keeping every member and its provenance."""
    memory = api.memory_bound(memory_limit, temp_dir)
    with api.open_store(store, hold_lock=False, memory=memory) as st, progress_bar("dedup: signatures") as advance:
        stats = api.dedup(
            st,
            threshold=threshold,
            num_perm=num_perm,
            profile=profile,
            engine=engine,
            address=address,
            workers=workers,
            progress=advance,
        )
    if json_out:
        emit_json(stats)
        return
    by_source = stats.pop("removed_by_source")
    warnings = stats.pop("warnings")
    _print_rows("Deduplication", [stats])
    _print_rows("Copies per source (not representative)", by_source)
    for w in warnings:
        err.print(f"warning: {w['source_id']}: {w['warning']}", markup=False)


@app.command()
def summary(
    manifest: Annotated[Path, typer.Option(help="Manifest: provider, models, datasets, attestations.")],
    fmt: Annotated[str, typer.Option("--format", help="md | json | html | pdf | all")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File (or prefix for all).")] = None,
    template: Annotated[str, typer.Option(help="eu (AI Act Art. 53(1)(d)) | ca-ab2013 (Cal. AB 2013)")] = "eu",
    final: Annotated[
        bool, typer.Option(help="Publishable version: refused (exit 2) while anything is missing or contradicted.")
    ] = False,
    diff: Annotated[bool, typer.Option(help="Also list what changed since the last final version.")] = False,
    policy: PolicyOpt = "any-ai-trainer",
    keep_reserved: Annotated[bool, typer.Option(help="Measure sizes on all documents, reserved ones too.")] = False,
    cluster_reserved: Annotated[
        bool, typer.Option(help="Leave out whole duplicate clusters that have a reserved member (copies too).")
    ] = False,
    domains_after_processing: Annotated[
        bool, typer.Option(help="Rank 2.3 domains after dedup and exclusions instead of by all content scraped.")
    ] = False,
    icann_only: Annotated[
        bool, typer.Option(help="Registrable domains from the PSL's ICANN section only (blogspot.com is one domain).")
    ] = False,
    tokenizer: Annotated[
        Path | None,
        typer.Option(help="Count text in this Hugging Face tokenizer.json (offline) instead of whitespace."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """The EU public summary of training content (Commission template) or the AB 2013 documentation."""
    formats = api.summary_formats(fmt)
    options = api.summary_options(
        policy=policy,
        keep_reserved=keep_reserved,
        cluster_reserved=cluster_reserved,
        domains_after_processing=domains_after_processing,
        icann_only=icann_only,
        tokenizer=tokenizer,
    )
    m = api.load_manifest(manifest)
    if output is None and fmt == "all":
        output = Path("provenance-summary")
    with api.open_store(store) as st:
        result = api.summary(
            st, m, formats=formats, output=output, template=template, final=final, options=options, diff=diff
        )
    doc = result.document
    if json_out:
        emit_json(
            {
                "status": doc["status"],
                "version": doc.get("version"),
                "new_version": result.new_version,
                "written": result.written,
                "diff": result.diff,
            }
        )
        return
    if result.stdout is not None:
        sys.stdout.write(result.stdout)
    label = f"version {doc['version']}" if doc.get("version") else doc["status"] + ", no version number"
    for w in result.written:
        err.print(f"wrote {w} ({label}{', new' if result.new_version else ''})")
    if diff:
        err.print(json.dumps(result.diff, indent=1) if result.diff else "no final version to compare with")


@app.command()
def info(
    store: StoreOpt = DEFAULT_STORE,
    verify: Annotated[bool, typer.Option(help="Read every block of every table (checksums).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Schema version and row counts of a store (a truncated file is an error; --verify reads it all)."""
    with api.open_store(store, read_only=True) as st:
        doc = api.info(st, verify=verify) | {"store": str(store)}
    if json_out:
        emit_json(doc)
    else:
        out.print(f"{store}: schema v{doc['schema_version']}")
        _print_rows(None, [{"table": k, "rows": v} for k, v in doc["counts"].items()])


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(f"provenance-scanner {__version__}")
        raise typer.Exit()


# -- printing ----------------------------------------------------------------------------------
def _print_rows(title: str | None, rows: list[dict], columns: list[str] | None = None) -> None:
    columns = columns or (list(rows[0]) if rows else [])
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(Text(c), overflow="fold")
    for row in rows:  # Text: the data is printed verbatim, no Rich markup or :emoji: codes from it
        table.add_row(
            *(
                Text("")
                if row[c] is None
                else Text(str(_jsonable(row[c]) if not isinstance(row[c], int | float | str) else row[c]))
                for c in columns
            )
        )
    out.print(table)


def _print_ingest(report: api.IngestReport) -> None:
    rows = [
        {
            "file": Path(f["path"]).name,
            "source": f["source"],
            "records": f["records"],
            "new documents": f["documents_new"],
            "new evidence": f["evidence_new"],
            "bad records": f["bad_records"],
            "note": "already ingested"
            if f["already_done"]
            else (f"resumed after {f['resumed_at']}" if f["resumed_at"] else ""),
        }
        for f in report.as_dict()["files"]
    ]
    _print_rows("Ingest", rows)
    for bad in report.bad_records[:20]:
        err.print(f"bad record: {bad['file']} ({bad['where']}): {bad['reason']}")
    for failed in report.failed:
        err.print(f"[red]error:[/red] {failed['file']}: {failed['reason']}")


def main() -> None:
    try:
        app()
    except ScannerError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except Interrupted as exc:
        err.print(str(exc), markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except OSError as exc:  # the environment (disk full, a read-only folder): one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"error: {where}{exc.strerror or exc}", markup=False, highlight=False)
        sys.exit(2)
    except Exception as exc:
        import duckdb

        if not isinstance(exc, duckdb.Error):
            raise
        err.print(f"error: store: {' '.join(str(exc).split())}", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print(f"interrupted: {api.RESUME_HINT}", markup=False)
        sys.exit(130)
