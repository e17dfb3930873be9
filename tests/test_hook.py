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
    assert {e["id"] for e in log} == reserved and all(e["policy_version"] == "1" for e in log)


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
    assert len((tmp_path / "hf.jsonl").read_text().splitlines()) == len(rows) - len(kept)
