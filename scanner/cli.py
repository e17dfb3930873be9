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
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from scanner import api
from scanner.errors import ScannerError
from scanner.evidence import import_evidence, parse_time
from scanner.manifest import load_manifest
from scanner.store import Store
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
DEFAULT_STORE = Path("provenance.duckdb")


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


# -- commands ----------------------------------------------------------------------------------
@app.command()
def demo(store: StoreOpt = DEFAULT_STORE, json_out: JsonOpt = False) -> None:
    """Run the main job end to end on the bundled real sample."""
    from scanner.demo import run_demo

    with Store.open(store) as st, progress_bar("demo: ingest") as advance:
        result = run_demo(st, progress=advance, out_dir=Path(store).resolve().parent)
        per_domain = st.query(
            "SELECT registrable_domain, category, sum(documents)::BIGINT AS documents, "
            "sum(raw_bytes)::BIGINT AS raw_bytes, sum(tokens)::BIGINT AS tokens "
            "FROM documents_per_domain "
            "GROUP BY ALL ORDER BY raw_bytes DESC LIMIT 10"
        ).to_pylist()
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
    out.print(f"robots.txt evidence imported: {result.robots_imported}")
    _print_rows("Decisions (policy any-ai-trainer, each document as of its fetch time)", [result.decisions])
    _print_rows("Largest domains", per_domain)
    _print_rows("Store contents", [{"table": k, "rows": v} for k, v in result.counts.items()])
    out.print(f"EU public summary (version {result.summary_version}): {', '.join(result.summary_files)}")
    out.print(f"Next: provenance status www.nytimes.com --show-evidence --store {store}")


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Corpus files.")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Manifest declaring the datasets.")] = None,
    source: Annotated[str | None, typer.Option(help="Dataset name the files belong to.")] = None,
    workers: Annotated[int, typer.Option(help="Processes for text extraction.")] = os.cpu_count() or 1,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Read corpora (WARC/ARC, JSONL, Parquet, HF dataset folders) into documents and evidence."""
    m = load_manifest(manifest) if manifest else None
    with Store.open(store) as st:
        if m:
            api.declare(st, m)
        if paths:
            if m and source:
                ds = m.dataset(source) if source in {d.name for d in m.datasets} else None
                if ds is None:
                    raise ScannerError(f"--source {source!r} is not a dataset in {manifest}")
                jobs = [(p, ds.source_id, ds.fields) for p in paths]
            else:
                sid = api.declare_adhoc_source(st, source or api.UNDECLARED)
                jobs = [(p, sid, api.FieldMap()) for p in paths]
        elif m:
            jobs = api.manifest_jobs(m, [source] if source else ())
        else:
            raise ScannerError("give corpus files, or --manifest to ingest its datasets")
        with progress_bar("ingest") as advance:
            report = api.ingest(st, jobs, workers=workers, progress=advance)
    if json_out:
        emit_json(report.as_dict())
    else:
        _print_ingest(report)
    if report.failed and not report.files:
        raise typer.Exit(1)


@evidence_app.command("import")
def evidence_import(
    path: Annotated[Path, typer.Argument(help="The artefact (robots.txt, tdmrep.json, ...).")],
    url: Annotated[str, typer.Option(help="URL it was served at.")],
    observed_at: Annotated[str, typer.Option(help="When it was seen (ISO 8601).")],
    status: Annotated[int, typer.Option(help="HTTP status it was served with.")] = 200,
    kind: Annotated[str | None, typer.Option(help="Artefact kind; guessed from the URL.")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Add an artefact seen elsewhere as historical evidence."""
    when = parse_time(observed_at, "--observed-at")
    with Store.open(store) as st:
        obs = import_evidence(st, path, url=url, observed_at=when, http_status=status, kind=kind)
    doc = asdict(obs) | {"obs_id": obs.obs_id, "origin": obs.origin}
    if json_out:
        emit_json(doc)
    else:
        out.print(
            f"stored {obs.kind} for {obs.origin} observed {when.isoformat()} (sha256 {obs.evidence_sha256[:16]}…)"
        )


@evidence_app.command("verify")
def evidence_verify(
    pack: Annotated[Path, typer.Argument(help="An evidence pack zip.")], json_out: JsonOpt = False
) -> None:
    """Re-check an evidence pack offline: checksums and content addresses."""
    from scanner.evidence_pack import verify_pack

    problems = verify_pack(pack)
    if json_out:
        emit_json({"pack": str(pack), "ok": not problems, "problems": problems})
    else:
        for p in problems:
            err.print(f"problem: {p}", markup=False)
        out.print(f"{pack}: {'intact' if not problems else f'{len(problems)} problems'}")
    if problems:
        raise typer.Exit(1)


@app.command("evidence-pack")
def evidence_pack(
    target: Annotated[str, typer.Argument(help="A URL, or a domain (judged at its home page).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The zip to write.")],
    agent: Annotated[str | None, typer.Option(help="One agent's view (product token).")] = None,
    as_of: AsOfOpt = None,
    policy: PolicyOpt = "any-ai-trainer",
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Export the decision, its reasons and the raw evidence as a verifiable zip."""
    from scanner.evidence_pack import export_pack

    when = parse_time(as_of, "--as-of") if as_of else None
    with Store.open(store, read_only=True) as st:
        result = export_pack(st, target, output, agent=agent, as_of=when, policy=policy)
    if json_out:
        emit_json(result)
    else:
        out.print(f"wrote {result['pack']}: verdict {result['verdict']}, {result['artefacts']} artefacts")


@app.command()
def report(
    by: Annotated[str, typer.Option(help="domain | source | month")] = "domain",
    policy: PolicyOpt = "any-ai-trainer",
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Share of documents and tokens reserved, per domain, source or month of collection."""
    from scanner.store import reports

    if by not in ("domain", "source", "month"):
        raise ScannerError(f"--by {by!r}: use domain, source or month")
    with Store.open(store, read_only=True) as st:
        rows = reports.reserved_share(st, policy, by)
    if json_out:
        emit_json({"by": by, "policy": policy, "rows": rows})
    else:
        _print_rows(f"Reserved under {policy}, by {by}", rows)


@manifest_app.command("check")
def manifest_check(
    path: Annotated[Path, typer.Argument(help="Manifest TOML file.")], json_out: JsonOpt = False
) -> None:
    """Validate a manifest and list what it declares."""
    m = load_manifest(path)
    doc = {
        "path": str(path),
        "provider": m.provider.name,
        "models": [f"{x.name} {x.version}" for x in m.models],
        "crawler": m.crawler.product_token if m.crawler else None,
        "datasets": [
            {"source": d.source_id, "category": d.category, "files": [str(p) for p in d.paths]} for d in m.datasets
        ],
        "blocklisted_domains": sum(len(b.domains) for b in m.blocklists),
        "attestations": m.attestations,
    }
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
    with Store.open(store, sandbox=True) as st:
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
    with Store.open(store, sandbox=True) as st:
        if sql is not None:
            doc = api.export_query(st, sql, output)
        else:
            verdicts = [v.strip() for v in verdict.split(",") if v.strip()]
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


PolicyOpt = Annotated[str, typer.Option(help="any-ai-trainer | own-token | generic | strict-literal")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Use evidence seen at or before (ISO 8601).")]


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
    when = parse_time(as_of, "--as-of") if as_of else None
    if robots is not None:
        decision = api.check(url, agent, robots=robots, policy=policy, own_token=own_token)
        explained = api.robots_check(url, agent or "*", robots=robots, dialect=_dialect(google)).as_dict()
    else:
        with Store.open(store, read_only=True) as st:
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
    when = parse_time(as_of, "--as-of") if as_of else None
    with Store.open(store, read_only=True) as st:
        report = api.status(target, agent, store=st, as_of=when, policy=policy, own_token=own_token)
    if json_out:
        emit_json(report)
        return
    _print_decision(report["decision"])
    for ev in report["evidence"]:
        out.print(
            f"  evidence {ev['kind']} {ev['url']} observed {ev['observed_at']} HTTP {ev['http_status']} "
            f"sha256 {ev['sha256']}",
            markup=False,
        )
        if show_evidence and ev.get("text"):
            out.print(ev["text"], markup=False, highlight=False)


@app.command("decide")
def decide_cmd(
    policy: PolicyOpt = "any-ai-trainer",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge every document as of this time (default: each at its own fetch time)."),
    ] = None,
    own_token: Annotated[str | None, typer.Option(help="Our product token, for own-token.")] = None,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Write a decision per document under a named policy."""
    when = parse_time(as_of, "--as-of") if as_of else None
    with Store.open(store) as st, progress_bar("decide") as advance:
        stats = api.decide_documents(st, policy, as_of=when, own_token=own_token, progress=advance)
    if json_out:
        emit_json(stats)
    else:
        _print_rows("Decisions", [stats], [c for c in stats if c != "seconds"])


@app.command("signals")
def signals_cmd(store: StoreOpt = DEFAULT_STORE, json_out: JsonOpt = False) -> None:
    """Read every stored sighting not read yet into the `signals` table: each statement with its
    agents, scope, locator, evidence sha256 and observation time (for legal queries)."""
    with Store.open(store) as st, progress_bar("signals") as advance:
        stats = api.extract_signals(st, progress=advance)
    if json_out:
        emit_json(stats)
    else:
        _print_rows("Signals", [stats])


def _dialect(google: bool):
    from scanner.signals.robots import GOOGLE, RFC9309

    return GOOGLE if google else RFC9309


def _print_decision(doc: dict) -> None:
    colour = {"allowed": "green", "reserved": "red"}.get(doc["verdict"], "yellow")
    out.print(
        f"[{colour}]{doc['verdict']}[/{colour}] {doc['url']}  (policy {doc['policy']} "
        f"v{doc['policy_version']}, checked: {', '.join(doc['checked']) or 'nothing'})"
    )
    for r in doc["reasons"]:
        seen = f", observed {r['observed_at']}" if r["observed_at"] else ""
        lint = f" [{', '.join(r['lint'])}]" if r["lint"] else ""
        out.print(
            f"  {r['statement']:9s} {r['signal']:<20s} {r['detail']} ({r['locator']}; "
            f"agents {', '.join(r['agents'][:4])}{'…' if len(r['agents']) > 4 else ''}; "
            f"confidence {r['confidence']}{seen}){lint}",
            markup=False,
        )
    for lic in doc["licences"]:
        out.print(f"  licence   {lic['detail']} ({lic['locator']})", markup=False)


@app.command("fetch-signals")
def fetch_signals_cmd(
    origins: Annotated[
        list[str] | None, typer.Argument(help="Origins or hosts (default: every origin in the store).")
    ] = None,
    refresh: Annotated[bool, typer.Option(help="Fetch again even if fetched in the last 24 h.")] = False,
    manifest: Annotated[Path | None, typer.Option(help="Manifest: our crawler's identity.")] = None,
    allow_private: Annotated[bool, typer.Option(help="Allow private/loopback addresses (tests only).")] = False,
    host_interval: Annotated[float, typer.Option(help="Seconds between requests to one host.")] = 1.0,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Fetch robots.txt, tdmrep.json, ai.txt (and RSL licences) per origin into the evidence store."""
    from crawlers.http import DEFAULT_AGENT, FetchConfig

    m = load_manifest(manifest) if manifest else None
    agent = m.crawler.user_agent if m and m.crawler else DEFAULT_AGENT
    token = m.crawler.product_token if m and m.crawler else "ProvenanceScannerBot"
    config = FetchConfig(user_agent=agent, allow_private=allow_private, host_interval=host_interval)
    with Store.open(store) as st, progress_bar("fetch-signals") as advance:
        stats = api.fetch_signals(st, origins or (), config=config, our_token=token, refresh=refresh, progress=advance)
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
    allowed_host: Annotated[
        list[str] | None,
        typer.Option("--allowed-host", help="A Host name to serve besides loopback ones (repeat; * for any)."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """The HTTP hook: GET/POST /check, /status/{domain}, /health, /version (OpenAPI at /docs)."""
    import uvicorn

    from scanner.hook.checker import Checker
    from scanner.hook.service import create_app, tune_gc

    checker = Checker(store, policy=policy, own_token=own_token)
    tune_gc()
    app_ = create_app(checker, allowed_hosts=allowed_host or ())
    err.print(f"serving {store} (policy {policy}) on http://{host}:{port}", markup=False)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command("dedup")
def dedup_cmd(
    threshold: Annotated[float, typer.Option(help="Jaccard similarity of word 5-gram sets.")] = 0.8,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = 128,
    profile: Annotated[
        str, typer.Option(help="fast (vectorised word hash) | sha1 (bit-identical to datasketch's default MinHash)")
    ] = "fast",
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """Exact and MinHash near-duplicate clusters, keeping every member and its provenance."""
    from scanner.dedup.clusters import dedup
    from scanner.dedup.minhash import PROFILES

    if not 0 < threshold <= 1:
        raise ScannerError(f"--threshold {threshold}: use a value in (0, 1]")
    if profile not in PROFILES:
        raise ScannerError(f"--profile {profile!r}: use {' or '.join(PROFILES)}")
    with Store.open(store) as st, progress_bar("dedup: signatures") as advance:
        stats = dedup(st, threshold=threshold, num_perm=num_perm, profile=profile, progress=advance)
    if json_out:
        emit_json(stats)
    else:
        _print_rows("Deduplication", [stats])


@app.command()
def summary(
    manifest: Annotated[Path, typer.Option(help="Manifest: provider, models, datasets, attestations.")],
    fmt: Annotated[str, typer.Option("--format", help="md | json | html | all")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File (or prefix for all).")] = None,
    diff: Annotated[bool, typer.Option(help="Also list what changed since the previous version.")] = False,
    policy: PolicyOpt = "any-ai-trainer",
    keep_reserved: Annotated[bool, typer.Option(help="Measure sizes on all documents, reserved ones too.")] = False,
    cluster_reserved: Annotated[
        bool, typer.Option(help="Leave out whole duplicate clusters that have a reserved member (copies too).")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
    json_out: JsonOpt = False,
) -> None:
    """The EU public summary of training content (Commission template), versioned."""
    from scanner.summary import RENDERERS, diff_summaries, publish_summary

    if fmt not in (*RENDERERS, "all"):
        raise ScannerError(f"--format {fmt!r}: use md, json, html or all")
    m = load_manifest(manifest)
    with Store.open(store) as st:
        doc, new = publish_summary(
            st, m, policy=policy, exclude_reserved=not keep_reserved, cluster_reserved=cluster_reserved
        )
        history = st.summaries()
    written = []
    for name in RENDERERS if fmt == "all" else (fmt,):
        text = RENDERERS[name](doc)
        if output is None and fmt != "all":
            if not json_out:
                sys.stdout.write(text)
            continue
        target = (output or Path("provenance-summary")).with_suffix(f".{name}") if fmt == "all" else output
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(str(target))
    changes = None
    if diff and len(history) >= 2:
        changes = diff_summaries(json.loads(history[-2]["document"]), json.loads(history[-1]["document"]))
    if json_out:
        emit_json({"version": doc["version"], "new_version": new, "written": written, "diff": changes})
        return
    for w in written:
        err.print(f"wrote {w} (summary version {doc['version']}{', new' if new else ', unchanged'})")
    if diff:
        err.print(json.dumps(changes, indent=1) if changes else "no previous version to compare with")


@app.command()
def info(
    store: StoreOpt = DEFAULT_STORE,
    verify: Annotated[bool, typer.Option(help="Read every block of every table (checksums).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Schema version and row counts of a store (a truncated file is an error; --verify reads it all)."""
    with Store.open(store, read_only=True) as st:
        doc = {
            "store": str(store),
            "schema_version": st.schema_version,
            "tool_version": __version__,
            "counts": st.counts(),
        }
        if verify:
            doc["verified_rows"] = api.verify_store(st)
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
        err.print("interrupted: committed batches are kept; re-run to resume", markup=False)
        sys.exit(130)
