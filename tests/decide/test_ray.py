"""decide with `--engine ray` on a real local Ray cluster of two workers: row for row the same
decisions as on one machine (the demo sample, and a store of many origins whose robots.txt
sightings, resource evidence, RSL files and blocklist take every path of the decision), a re-run
adds nothing, a run cut short is completed by the next, and a clear error where Ray is absent."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner import api
from scanner.cli import app
from scanner.corpus.records import document_row, sha256_hex
from scanner.evidence import Observation, write_observations
from scanner.manifest import Blocklist
from scanner.signals.html import facts_to_evidence, read_html
from scanner.store import Store
from tests._cli import refused_without_ray
from tests.conftest import copy_demo

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]'); the Ray engine is not tested")

T0 = datetime(2025, 1, 1, tzinfo=UTC)
VERDICTS = "SELECT doc_id, verdict, reasons, evidence_sha256, outcome, decision_id, as_of FROM document_verdicts"
RSL = (
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
    b'<prohibits type="usage">ai-train</prohibits></license></content></rsl>'
)
# What each origin serves, by origin number modulo the list: (days after T0, status, robots.txt)
ROBOTS = [
    [(0, 200, b"User-agent: *\nDisallow: /private\n\nUser-agent: GPTBot\nDisallow: /\n")],
    [(0, 200, b"User-agent: *\nDisallow: /a\n"), (10, 503, b"down"), (20, 200, b"User-agent: *\nAllow: /\n")],
    [(0, 404, b"not found")],
    [(0, 200, b"User-agent: *\nDisallow: /a\n"), (0, 200, b"User-agent: *\nDisallow: /b\n")],  # a tie
    [(0, 200, b"User-agent: *\nContent-Usage: /a/ train-ai=n\nAllow: /\n")],  # path-scoped
    [(0, 200, b"User-agent: *\nAllow: /\nLicense: /license.xml\n")],  # RSL, stored below
    [],  # no robots.txt: TDMRep decides
    [(0, 200, b"User-agent: CCBot\nDisallow: /*.pdf$\n\nUser-agent: *\nDisallow: /private/\n")],
    [(5, 200, b"User-agent: *\nDisallow: /\n")],  # seen after the earliest documents
]
PATHS = ["/", "/private/x", "/doc.pdf", "/a/1", "/b/1", "/caf%C3%A9", "/robots.txt"]
TIMES = [None, T0 - timedelta(days=1), T0 + timedelta(hours=1), T0 + timedelta(days=2), T0 + timedelta(days=30)]


@pytest.fixture(scope="module")
def local_ray():
    from scanner.dedup.ray_engine import start

    start(None, 2)
    yield
    ray.shutdown()


def _observation(body: bytes, kind: str, url: str, days: float = 0, status: int = 200):
    return body, Observation(sha256_hex(body), kind, url, T0 + timedelta(days=days), "import", status)


def _synthetic(path: Path, origins: int = 45) -> None:
    """Many origins, each serving one of ROBOTS; TDMRep, ai.txt, page headers and meta, an RSL
    file; a blocklisted domain; documents fresh and stale, before any evidence, without a fetch
    time, without a stored origin, and with a URL that has no origin at all."""
    obs = []
    for i in range(origins):
        site = f"https://o{i}.example"
        obs += [_observation(body, "robots.txt", f"{site}/robots.txt", d, s) for d, s, body in ROBOTS[i % len(ROBOTS)]]
        if i % len(ROBOTS) == 6:
            tdm = b'[{"location": "/private/*", "tdm-reservation": 1}]'
            obs.append(_observation(tdm, "tdmrep.json", f"{site}/.well-known/tdmrep.json"))
        if i % 10 == 7:
            obs.append(_observation(b"User-Agent: *\nDisallow: *.pdf\n", "ai.txt", f"{site}/ai.txt"))
    obs.append(_observation(RSL, "rsl", "https://o5.example/license.xml"))
    obs.append(_observation(json.dumps([["x-robots-tag", "noai"]]).encode(), "headers", "https://o0.example/"))
    meta = facts_to_evidence(read_html(b'<html><head><meta name="robots" content="noai, noimageai"></head></html>'))
    obs.append(_observation(meta, "html-meta", "https://o1.example/a/1", 1))
    docs, n = [], 0
    for i in range(origins):
        host = f"o{i}.example"
        for p in PATHS:
            for when in TIMES:
                docs.append(
                    document_row(
                        doc_id=f"{n:032x}", source_id="s", url=f"https://{host}{p}", origin=f"https://{host}",
                        host=host, registrable_domain=host, fetched_at=when, content_sha256=f"{n:064x}",
                        raw_bytes=1, http_status=200, modality="image" if n % 11 == 0 else "text",
                    )
                )
                n += 1
    for k, url in enumerate(["https://o0.example/private/y", "https://O7.example:443/doc.pdf", "ftp://o2.example/x"]):
        docs.append(  # no stored origin or domain: they come from the URL
            document_row(
                doc_id=f"f{k:031x}", source_id="s", url=url, fetched_at=T0 + timedelta(hours=3),
                content_sha256=f"f{k:063x}", raw_bytes=1, http_status=200,
            )
        )
    docs.append(document_row(doc_id="e" * 32, source_id="s", url=None, content_sha256="e" * 64, raw_bytes=1))
    with Store.open(path) as store:
        write_observations(store, obs)
        store.write_blocklist([Blocklist("piracy", "listed", ("o3.example",))])
        store.write_documents(docs)


def _verdicts(store: Store) -> list[dict]:
    return store.query(f"{VERDICTS} ORDER BY ALL").to_pylist()


def _undecided_pair(tmp_path: Path, corpus: str, demo_file: Path) -> tuple[Path, Path]:
    """Two copies of the same store without any decision."""
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    if corpus == "demo":
        one, two = copy_demo(demo_file, tmp_path / "a"), copy_demo(demo_file, tmp_path / "b")
    else:
        one, two = tmp_path / "a" / "s.duckdb", tmp_path / "b" / "s.duckdb"
        _synthetic(one)
        shutil.copy(one, two)
    for path in (one, two):
        with Store.open(path) as s:
            s.query("DELETE FROM decision_rows; DELETE FROM decision_sets; DELETE FROM decision_outcomes")
    return one, two


COUNTS = ("documents", "bulk_documents", "new_decisions", "allowed", "reserved", "unknown")


def test_demo_decided_on_ray_from_the_cli_equals_one_machine(local_ray, demo_file: Path, tmp_path: Path) -> None:
    one, two = _undecided_pair(tmp_path, "demo", demo_file)
    with Store.open(one) as s:
        local = api.decide_documents(s)
        expected = _verdicts(s)
    args = ["decide", "--engine", "ray", "--workers", "2", "--store", str(two), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    distributed = json.loads(result.stdout)
    with Store.open(two) as s:
        assert _verdicts(s) == expected
    assert {k: distributed[k] for k in COUNTS} == {k: local[k] for k in COUNTS}
    assert local["new_decisions"] == len(expected) > 0
    assert not any((two.parent / f"{two.name}.staging").glob("*"))  # staging cleaned up


def test_many_origins_on_ray_equal_one_machine_and_rerun_adds_nothing(
    local_ray, demo_file: Path, tmp_path: Path
) -> None:
    one, two = _undecided_pair(tmp_path, "synthetic", demo_file)
    as_of = T0 + timedelta(days=11)
    with Store.open(one) as s:
        local = [api.decide_documents(s), api.decide_documents(s, as_of=as_of)]
        expected = _verdicts(s)
    with Store.open(two) as s:
        distributed = [api.decide_documents(s, engine="ray"), api.decide_documents(s, as_of=as_of, engine="ray")]
        assert _verdicts(s) == expected
        for lo, di in zip(local, distributed, strict=True):
            assert {k: di[k] for k in COUNTS} == {k: lo[k] for k in COUNTS}
            assert di["partitions"] > 1
        # every kind of outcome came up, and most documents were keyed, as on one machine
        assert all(local[0][v] > 0 for v in ("allowed", "reserved", "unknown"))
        assert 0 < local[0]["bulk_documents"] < local[0]["documents"] == s.count("documents") - 1
        rows, sets = s.count("decision_rows"), s.count("decision_sets")
        again = api.decide_documents(s, engine="ray")
        assert again["new_decisions"] == 0 and again["documents"] == local[0]["documents"]
        assert (s.count("decision_rows"), s.count("decision_sets")) == (rows, sets)


def test_a_run_cut_short_is_completed_by_the_next(local_ray, demo_file: Path, tmp_path: Path) -> None:
    """As if a run had merged only some shards: the next run adds exactly the rows missing, and
    the store ends as after a clean run."""
    _, two = _undecided_pair(tmp_path, "synthetic", demo_file)
    with Store.open(two) as s:
        api.decide_documents(s, engine="ray")
        expected = _verdicts(s)
        s.query("DELETE FROM decision_rows WHERE doc_id > (SELECT median(doc_id) FROM decision_rows)")
        missing = len(expected) - s.count("decision_rows")
        assert missing > 0
        stats = api.decide_documents(s, engine="ray")
        assert stats["new_decisions"] == missing
        assert _verdicts(s) == expected


def test_without_ray_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    """A real CLI process in which `import ray` fails, as on a machine without the extra."""
    refused_without_ray("decide", "--engine", "ray", "--store", str(tmp_path / "s.duckdb"))


def test_a_shard_changed_after_its_task_wrote_it_is_not_merged(tmp_path: Path) -> None:
    """The task's function run in-process on one exported partition: its shard merges, and the
    same shard with one byte changed is refused with the file named, writing nothing."""
    from scanner.decide import make_policy
    from scanner.decide.bulk import run_meta
    from scanner.decide.ray import SHARED_KINDS, _merge, _placed, decide_partition
    from scanner.errors import ScannerError
    from scanner.evidence import ORIGIN_KINDS, RESOURCE_KINDS
    from scanner.store import partitions

    _synthetic(tmp_path / "s.duckdb", origins=9)
    run, pol, now = tmp_path / "staging", make_policy(), datetime.now(UTC)
    with Store.open(tmp_path / "s.duckdb") as s:
        sizes = partitions.export(s, run, 3, _placed(s), ORIGIN_KINDS, RESOURCE_KINDS, SHARED_KINDS)
        assert sum(sizes.values()) == s.count("documents") - 1 and len(sizes) > 1
        part, documents = next(iter(sizes.items()))
        inputs = {t: sorted(str(p) for p in (run / t / f"part={part}").glob("*.parquet")) for t in partitions.TABLES}
        inputs |= {f"shared/{t}": [str(run / "shared" / f"{t}.parquet")] for t in partitions.SHARED}
        out = {"rows": str(tmp_path / "rows.parquet"), "outcomes": str(tmp_path / "outcomes.parquet")}
        shard = decide_partition(inputs, documents, out, pol, None, "r1", now)
        assert shard["documents"] == documents == shard["rows"]["rows"]
        with open(out["rows"], "ab") as f:
            f.write(b"\0")
        with pytest.raises(ScannerError, match=r"rows\.parquet: shard changed"):
            _merge(s, shard, run_meta(pol, None, now, "r1"))
        assert s.count("decision_rows") == 0
        with pytest.raises(ScannerError, match="documents read"):
            decide_partition(inputs, documents + 1, out, pol, None, "r1", now)
