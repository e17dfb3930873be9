"""The hook's three faces agree (checker, HTTP service on loopback, `provenance check`), the
datatrove step and the Hugging Face helper drop exactly the reserved items, bad requests get 4xx."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from scanner.hook.checker import Checker
from scanner.hook.service import create_app
from scanner.store import Store
from tests.conftest import copy_demo

CASES = [
    ("https://www.nytimes.com/svc/data", "GPTBot"),
    ("https://www.nytimes.com/2019/11/19/opinion/x.html", None),  # omgili (a data provider) is refused
    ("https://www.nytimes.com/2019/11/19/opinion/x.html", "GPTBot"),
    ("https://www.businessinsider.com/some-story", None),
    ("http://003338.cn/l41/481397.html", None),  # a Common Crawl page: no evidence, unknown
    ("https://never-seen.example/a", "CCBot"),
]


@pytest.fixture(scope="module")
def demo(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo(demo_file, tmp_path_factory.mktemp("hook"))


@pytest.fixture(scope="module")
def service(demo: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Checker(demo)), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def _key(decision: dict) -> tuple:
    return (
        decision["verdict"],
        decision["policy"],
        [(r["signal"], r["detail"], r["evidence_sha256"]) for r in decision["reasons"]],
    )


def test_three_faces_give_identical_decisions(demo: Path, service: str) -> None:
    checker = Checker(demo)
    for url, agent in CASES:
        ours = checker.check(url, agent).as_dict()
        params = {"url": url} | ({"agent": agent} if agent else {})
        over_http = httpx.get(service + "/check", params=params).json()
        cli = [sys.executable, "-m", "scanner", "check", url, "--store", str(demo), "--json"]
        cli += ["--agent", agent] if agent else []
        from_cli = json.loads(subprocess.run(cli, capture_output=True, text=True, timeout=120, check=True).stdout)
        assert _key(ours) == _key(over_http) == _key(from_cli), url
    verdicts = [checker.check(u, a).verdict for u, a in CASES]
    assert verdicts == ["reserved", "reserved", "allowed", "allowed", "unknown", "unknown"]
    answer = httpx.post(service + "/check", json={"urls": [u for u, _ in CASES]}).json()
    batch = [answer["outcomes"][r["outcome"]] | {"url": r["url"]} for r in answer["results"]]
    assert [r["url"] for r in batch] == [u for u, _ in CASES]
    assert [r["verdict"] for r in answer["results"]] == [b["verdict"] for b in batch]
    assert [_key(b) for b in batch] == [_key(d.as_dict()) for d in checker.check_many([u for u, _ in CASES])]


def test_bad_requests_get_clear_4xx(service: str) -> None:
    assert httpx.get(service + "/check").status_code == 422  # missing url
    r = httpx.get(service + "/check", params={"url": "ftp://example.com/x"})
    assert r.status_code == 422 and "not an http(s) URL" in r.json()["detail"]
    r = httpx.get(service + "/check", params={"url": "https://e.example/", "policy": "everything"})
    assert r.status_code == 422 and "unknown policy" in r.json()["detail"]
    r = httpx.post(
        service + "/check",
        content=b'{"urls": ["' + b"a" * (10 << 20) + b'"]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert httpx.post(service + "/check", json={"urls": ["https://e.example/"] * 10_001}).status_code == 422
    assert httpx.post(service + "/check", json={"urls": []}).status_code == 422
    assert httpx.get(service + "/version").json()["policy"] == "any-ai-trainer"
    assert "paths" in httpx.get(service + "/openapi.json").json()


def test_service_runs_beside_a_writer(demo: Path, service: str, tmp_path: Path) -> None:
    """The service holds no lock on the store: a writer opens it while the service answers."""
    with Store.open(demo) as writer:
        body = tmp_path / "robots.txt"
        body.write_bytes(b"User-agent: *\nDisallow: /\n")
        from scanner.evidence import import_evidence, parse_time

        import_evidence(writer, body, url="https://never-seen.example/robots.txt", observed_at=parse_time("2025-01-01"))
        assert (
            httpx.get(service + "/check", params={"url": "https://never-seen.example/a"}).json()["verdict"] == "unknown"
        )  # the service answers from its snapshot while the writer works
    assert httpx.post(service + "/reload", json={}).status_code == 200
    assert httpx.get(service + "/check", params={"url": "https://never-seen.example/a"}).json()["verdict"] == "reserved"


def test_datatrove_step_drops_exactly_the_reserved(demo: Path, tmp_path: Path) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from scanner.hook.adapters import ProvenanceFilter

    src = tmp_path / "in"
    src.mkdir()
    with Store.open(demo, read_only=True) as store:
        docs = store.query(
            "SELECT d.doc_id AS id, d.url, t.text FROM documents d JOIN texts t USING (text_sha256) "
            "WHERE d.url LIKE 'https://%' ORDER BY d.doc_id"
        ).to_pylist()
    (src / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    checker = Checker(demo)
    reserved = {d["id"] for d in docs if checker.check(d["url"]).verdict == "reserved"}
    assert reserved
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(src), default_metadata={}),
            ProvenanceFilter(
                str(demo),
                exclusion_writer=JsonlWriter(str(tmp_path / "dropped"), compression=None),
                exclusion_log=str(tmp_path / "exclusions.jsonl"),
            ),
            JsonlWriter(str(tmp_path / "kept"), compression=None),
        ],
        tasks=1,
        logging_dir=str(tmp_path / "logs"),
    ).run()
    kept = [json.loads(line) for f in (tmp_path / "kept").glob("*.jsonl") for line in f.read_text().splitlines()]
    dropped = [json.loads(line) for f in (tmp_path / "dropped").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert {d["id"] for d in dropped} == reserved
    assert {d["id"] for d in kept} == {d["id"] for d in docs} - reserved
    assert all(d["metadata"]["filter_reason"].startswith("reserved: robots") for d in dropped)
    log = [json.loads(line) for line in (tmp_path / "exclusions.jsonl").read_text().splitlines()]
    assert {e["id"] for e in log if e["action"] == "dropped"} == reserved
    assert all(e["policy_version"] == "1" for e in log)
    # unknowns were kept (the default, on_unknown="keep"), and the log says which and how many
    unknown = {d["id"] for d in docs if checker.check(d["url"]).verdict == "unknown"}
    assert {e["id"] for e in log if e["action"] == "kept-unknown"} == unknown


def test_hf_helpers_on_a_real_dataset(demo: Path, tmp_path: Path) -> None:
    import datasets

    from scanner.hook.adapters import add_verdicts, keep_allowed

    checker = Checker(demo)
    rows = [{"url": u, "text": "x"} for u, _ in CASES]
    ds = datasets.Dataset.from_list(rows)
    annotated = add_verdicts(ds, checker)
    assert annotated["verdict"] == [checker.check(u).verdict for u, _ in CASES]
    kept = keep_allowed(ds, checker, exclusion_log=str(tmp_path / "hf.jsonl"))
    assert kept["url"] == [u for u, _ in CASES if checker.check(u).verdict != "reserved"]
    log = [json.loads(line) for line in (tmp_path / "hf.jsonl").read_text().splitlines()]
    unknown = [u for u, _ in CASES if checker.check(u).verdict == "unknown"]
    assert unknown and sum(e["action"] == "dropped" for e in log) == len(rows) - len(kept)
    assert [e["url"] for e in log if e["action"] == "kept-unknown"] == unknown


def test_on_unknown_is_explicit_on_every_face(demo: Path, tmp_path: Path, service: str) -> None:
    import datasets

    from scanner.errors import ScannerError
    from scanner.hook.adapters import keep_allowed
    from scanner.hook.checker import ExclusionLog

    urls = [u for u, _ in CASES]
    checker = Checker(demo)
    verdicts = [checker.check(u).verdict for u in urls]
    log = ExclusionLog(tmp_path / "drop.jsonl")
    kept = keep_allowed(datasets.Dataset.from_list([{"url": u} for u in urls]), checker, on_unknown="drop",
                        exclusion_log=log)  # fmt: skip
    assert kept["url"] == [u for u, v in zip(urls, verdicts, strict=True) if v == "allowed"]
    assert log.counts == {"dropped": len(urls) - len(kept)}
    dropping = Checker(demo, on_unknown="drop")
    assert [dropping.keeps(dropping.check(u)) for u in urls] == [v == "allowed" for v in verdicts]
    with pytest.raises(ScannerError, match="on_unknown='maybe'"):
        Checker(demo, on_unknown="maybe")
    # HTTP: each answer says whether to keep it, the batch counts the unknowns
    r = httpx.post(service + "/check", json={"urls": urls, "on_unknown": "drop"}).json()
    assert [x["keep"] for x in r["results"]] == [v == "allowed" for v in verdicts]
    assert r["counts"]["unknown"] == verdicts.count("unknown") > 0
    unknown_url = urls[verdicts.index("unknown")]
    one = httpx.get(service + "/check", params={"url": unknown_url}).json()
    assert one["verdict"] == "unknown" and one["keep"] is True  # the documented default: keep
    assert httpx.get(service + "/check", params={"url": urls[0], "on_unknown": "x"}).status_code == 422


def test_checker_on_new_urls_answers_as_deciding_each_url_afresh(ext: Path, tmp_path: Path) -> None:
    """The per-origin fast path (rule sets compiled after `_COMPILE_AFTER` paths, split by prefix
    for large sets, outcomes shared and re-addressed) gives exactly `decide()` on the URL's own
    evidence, on real robots.txt files (large ones included) and awkward paths, for several
    policies; decisions with one outcome id differ only in their URL."""
    import tarfile
    from datetime import UTC, datetime

    from scanner.corpus.records import sha256_hex
    from scanner.evidence import EvidenceIndex, Observation, write_observations
    from scanner.hook import checker as checker_module
    from scanner.signals.robots import parse_robots

    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()]
    sized = sorted(bodies, key=lambda b: sum(len(g.rules) for g in parse_robots(b).groups))
    chosen = sized[-40:-10] + bodies[:30]  # large files (split sets, and some too large to compile) and ordinary ones
    paths = ["/", "/robots.txt", "/a%3Fb", "/caf%C3%A9/x", "?q=1", ";p=1/x", "/a b/ünï", "/x*y$z", "/p#frag", "//x"]
    urls = []
    for i, body in enumerate(chosen):
        base = f"https://s{i}.example"
        prefixes = [r.value.split("*", 1)[0].rstrip("$") for g in parse_robots(body).groups for r in g.rules[:40]]
        urls += [base + p for p in paths] + [base + p + "x" for p in prefixes] + [base + p for p in prefixes]
        urls += [f"HTTPS://s{i}.example:443/Up", f"https://user@s{i}.example/u"]  # not plain: the full URL split
    path = tmp_path / "h.duckdb"
    seen = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(path) as store:
        rows = [
            (b, Observation(sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", seen, "import", 200))
            for i, b in enumerate(chosen)
        ]
        write_observations(store, rows)
        index = EvidenceIndex.load(store)
    entries = _same_as_decide(path, urls, index)
    compiled = [e for e in entries if e.rx is not None]
    assert compiled and any(e.split for e in compiled), "the compiled paths were not exercised"
    # parts are compiled when a path first asks for them: some never asked stay uncompiled, and a
    # prefix of no part is answered by the shared `rx`
    assert any(set(e.pending) - set(e.split) for e in compiled), "every part was compiled, asked or not"
    assert all(key in e.pending or part is e.rx for e in compiled for key, part in e.split.items())
    assert any(part is e.rx for e in compiled for part in e.split.values())
    assert any(e.single is not None and e.rx is None and e.answered >= checker_module._COMPILE_AFTER for e in entries)


def _same_as_decide(path: Path, urls: list[str], index) -> list:
    """Every URL through a checker (several policies, one agent's view) equals `decide()` on
    the URL's own evidence, asked once and again, and in `check_many`; decisions with one
    outcome id differ only in their URL. The checker's origin entries, for the caller to see
    which paths were exercised."""
    from scanner.decide import decide, make_policy
    from scanner.hook.checker import outcome_id
    from scanner.hook.shapes import readdressed

    entries = []
    for policy, agent in (("generic", None), ("any-ai-trainer", None), ("generic", "GPTBot")):
        checker = Checker(path, policy=policy)
        pol = make_policy(policy, agent=agent)
        by_outcome: dict[int, dict] = {}
        for url in urls:
            got = checker.check(url, agent)
            expected = decide(url, index.evidence_for(url, None), pol).as_dict()
            assert got.as_dict() == expected, (policy, agent, url)
            assert checker.check(url, agent).as_dict() == expected  # asked again
            oid = outcome_id(got)
            if oid is not None:
                shared = {k: v for k, v in expected.items() if k != "url"}
                assert by_outcome.setdefault(oid, shared) == shared, url
        assert by_outcome
        assert [d.as_dict() for d in checker.check_many(urls[:50], agent)] == [
            checker.check(u, agent).as_dict() for u in urls[:50]
        ]
        # what batch answers read: the outcome's fields, re-addressed only once per outcome
        answers = checker.answers_many(urls, agent)
        assert any(isinstance(a, dict) for a in answers)
        for u, a in zip(urls, answers, strict=True):
            got = readdressed(a, u) if isinstance(a, dict) else a
            assert got.as_dict() == checker.check(u, agent).as_dict(), u
            assert not isinstance(a, dict) or a["outcome"] == outcome_id(got)
        entries += [e for ctx in (checker._default, *checker._contexts.values()) for e in ctx.origins.values()]
    return entries


def test_checker_shares_outcomes_over_every_origin_file(ext: Path, tmp_path: Path) -> None:
    """Origins with a tdmrep.json (the W3C spec's examples) and an ai.txt (ai-robots-txt's file,
    robots grammar) beside their robots.txt: URLs are still decided once per shape (the rule of
    each robots.txt and ai.txt rule set, the tdmrep.json rule), exactly as `decide()` decides
    each URL, compiled origins included."""
    import json
    import tarfile
    from datetime import UTC, datetime

    from scanner.corpus.records import sha256_hex
    from scanner.evidence import EvidenceIndex, Observation, write_observations

    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in tar if m.isfile()][:24]
    examples = json.loads((ext / "w3c-tdmrep/tdmrep_cases.json").read_text())["tdmrep_json_examples"]
    tdmreps = [json.dumps(x["tdmrep_json"]).encode() for x in examples]
    ai_txt = (ext / "ai-robots-txt/robots.txt").read_bytes()
    seen = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i, body in enumerate(bodies):
        base = f"https://s{i}.example"
        rows.append((body, Observation(sha256_hex(body), "robots.txt", base + "/robots.txt", seen, "import", 200)))
        if i % 3 != 2:
            t = tdmreps[i % len(tdmreps)]
            rows.append(
                (t, Observation(sha256_hex(t), "tdmrep.json", base + "/.well-known/tdmrep.json", seen, "import", 200))
            )
        if i % 2:
            rows.append((ai_txt, Observation(sha256_hex(ai_txt), "ai.txt", base + "/ai.txt", seen, "import", 200)))
    paths = ["/", "/robots.txt", "/directory-a/x", "/directory-b/html/p.html", "/directory-b/images/a.jpg"]
    paths += ["/directory-b/images/a.png", "/a%3Fb", "/x*y", "?q=1", "/p#f", "/caf%C3%A9"]
    paths += [f"/news/{n}.html" for n in range(40)]  # enough new paths to compile the robots-only origins
    urls = [f"https://s{i}.example{p}" for i in range(len(bodies)) for p in paths]
    path = tmp_path / "h.duckdb"
    with Store.open(path) as store:
        write_observations(store, rows)
        index = EvidenceIndex.load(store)
    entries = _same_as_decide(path, urls, index)
    assert any(e.matchers is not None and e.matchers.tdmrep is not None for e in entries)
    assert any(e.matchers is not None and e.matchers.ai_txt for e in entries)
    assert any(e.rx is not None for e in entries)
