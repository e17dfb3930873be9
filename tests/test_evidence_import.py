"""`provenance evidence import` checks what it is given, and a malformed artefact already in a
store (written by an earlier version or another tool) is a reason with a lint finding in every
decision that reads it, never a traceback (issue 17). Real processes, a real store file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.corpus.records import sha256_hex
from scanner.evidence import Observation, write_observations
from scanner.store import Store

URL = "https://junk.example/page.html"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _import(cwd: Path, body: bytes, *extra: str) -> subprocess.CompletedProcess[str]:
    path = cwd / "artefact"
    path.write_bytes(body)
    return run("evidence", "import", str(path), "--url", URL, "--observed-at", "2025-03-01T00:00:00Z", *extra, cwd=cwd)


def _refused(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert all(w in proc.stderr for w in words), proc.stderr


@pytest.mark.parametrize(
    ("body", "extra", "words"),
    [
        (b"{}", ("--kind", "bogus"), ("bogus",)),
        (b"this is not json", ("--kind", "headers"), ("headers", "not JSON")),
        (b'["a", "b"]', ("--kind", "headers"), ("headers",)),
        (b'{"x-robots-tag": {"nested": 1}}', ("--kind", "headers"), ("x-robots-tag",)),
        (b'{"meta_robots": "noai"}', ("--kind", "html-meta"), ("html-meta",)),
        (b"User-agent: *\nDisallow: /\n", ("--status", "700"), ("700", "100..599")),
        (b"User-agent: *\nDisallow: /\n", ("--status", "99"), ("99",)),
    ],
)
def test_import_refuses_what_decisions_cannot_read(tmp_path: Path, body: bytes, extra: tuple, words: tuple) -> None:
    _refused(_import(tmp_path, body, *extra), *words)
    if (tmp_path / "provenance.duckdb").exists():  # nothing was stored
        assert json.loads(run("info", "--json", cwd=tmp_path).stdout)["counts"]["observations"] == 0


def test_import_accepts_valid_headers_and_warns_of_a_future_time(tmp_path: Path) -> None:
    ok = _import(
        tmp_path, b'{"X-Robots-Tag": "noai", "Link": ["<https://l.example>; rel=license"]}', "--kind", "headers"
    )
    assert ok.returncode == 0, ok.stderr
    assert "warning" not in ok.stderr
    future = tmp_path / "f.txt"
    future.write_bytes(b'[["X-Robots-Tag", "noai"]]')
    proc = run(
        "evidence",
        "import",
        str(future),
        "--url",
        URL,
        "--observed-at",
        "2999-01-01",
        "--kind",
        "headers",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: --observed-at 2999-01-01" in proc.stderr and "future" in proc.stderr
    status = json.loads(run("status", URL, "--json", cwd=tmp_path).stdout)
    assert status["decision"]["verdict"] == "reserved"  # the imported noai is read


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def junk_store(tmp_path: Path) -> Path:
    """A store holding junk `headers` and `html-meta` evidence for a page, as an earlier version
    of `evidence import` stored it, and a robots.txt and a document for the same origin."""
    doc = tmp_path / "docs.jsonl"
    doc.write_text(json.dumps({"url": URL, "text": "some words of text " * 20}) + "\n")
    assert run("ingest", str(doc), "--workers", "1", cwd=tmp_path).returncode == 0
    when = datetime(2025, 3, 1, tzinfo=UTC)
    items = [
        (b"User-agent: *\nAllow: /\n", "robots.txt", "https://junk.example/robots.txt"),
        (b"this is { not json", "headers", URL),
        (b'{"meta_robots": 42}', "html-meta", URL),
    ]
    with Store.open(tmp_path / "provenance.duckdb") as st:
        write_observations(
            st,
            [(body, Observation(sha256_hex(body), kind, url, when, "import", 200)) for body, kind, url in items],
        )
    return tmp_path


def _malformed(decision: dict) -> None:
    assert "malformed_evidence" in decision["lint"], decision
    assert any("unreadable" in r["detail"] for r in decision["reasons"]), decision


def test_a_malformed_stored_artefact_is_a_reason_not_a_crash(junk_store: Path) -> None:
    cwd = junk_store
    for args in (("decide", "--json"), ("status", URL, "--json"), ("check", URL, "--json"), ("signals", "--json")):
        proc = run(*args, cwd=cwd)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (args, proc.stderr)
    _malformed(json.loads(run("status", URL, "--json", cwd=cwd).stdout)["decision"])
    checked = json.loads(run("check", URL, "--json", cwd=cwd).stdout)
    _malformed(checked.get("decision", checked))
    pack = run("evidence-pack", URL, "-o", str(cwd / "pack.zip"), "--json", cwd=cwd)
    assert pack.returncode == 0 and "Traceback" not in pack.stderr, pack.stderr
    assert run("evidence", "verify", str(cwd / "pack.zip"), cwd=cwd).returncode == 4  # consistent, unsigned

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--port", str(port)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/check?url={URL}", timeout=30) as resp:
            answer = json.loads(resp.read())
        _malformed(answer.get("decision", answer))
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr
