"""The HTTP service as a user runs it (`provenance serve`, a real process on loopback): Host names
against DNS rebinding, chunked and slow bodies bounded, /reload refusing cross-site requests and
answering 503 while a writer holds the store, batch answers by outcome id."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from scanner.hook.checker import Checker
from scanner.hook.service import Guard, create_app, host_name, is_loopback_host
from scanner.store import Store
from tests.conftest import REPO, copy_demo

EXTRA_HOST = ("--allowed-host", "hook.internal.example")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, proc: subprocess.Popen | None = None) -> None:
    for _ in range(600):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read()}")
        try:
            if httpx.get(base + "/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.fixture(scope="module")
def store(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo(demo_file, tmp_path_factory.mktemp("service"))


@contextmanager
def _serving(store: Path, *args: str, env: dict[str, str] | None = None):
    """`provenance serve` in its own process on loopback: (base URL, port, pid)."""
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "serve", "--store", str(store), "--port", str(port), *args],
        env=os.environ | {"PYTHONPATH": str(REPO)} | (env or {}),
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc)
        yield base, port, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def served(store: Path):
    """`provenance serve` in its own process, with one extra allowed Host name."""
    with _serving(store, *EXTRA_HOST) as running:
        yield running


def test_host_names(served) -> None:
    base, port, _ = served
    url = base + "/check"
    params = {"url": "https://www.nytimes.com/svc/x"}
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", "[::1]", "hook.internal.example"):
        assert httpx.get(url, params=params, headers={"host": host}).status_code == 200, host
    for host in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.attacker.example", "", "hook.internal"):
        r = httpx.get(url, params=params, headers={"host": host})
        assert r.status_code == 421, host
        assert "--allowed-host" in r.json()["detail"]
    assert host_name("[::1]:8765") == "::1" and host_name("Example.COM:80") == "example.com"
    assert is_loopback_host("127.8.9.10") and is_loopback_host("::1") and not is_loopback_host("10.0.0.1")


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_chunked_bodies_are_capped(served) -> None:
    base, port, pid = served
    peak = _peak_rss(pid)
    piece = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"  # 64 KiB chunks
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(
            b"POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        while sent < 200 << 20:  # 200 MB offered; the cap is 1 MiB
            if select.select([s], [], [], 0)[0]:
                break  # the server answered
            try:
                s.sendall(piece)
            except OSError:  # it closed the connection after answering
                break
            sent += len(piece)
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 << 20  # it answered long before the end
    assert _peak_rss(pid) - peak < 64 << 20  # and did not keep what it was sent
    assert httpx.get(base + "/health").status_code == 200
    small = httpx.post(
        base + "/check",
        content=iter([b'{"urls": ["https://www.nytimes.com/svc/x",', b' "https://a.example/"]}']),
        headers={"content-type": "application/json"},
    )
    assert small.status_code == 200 and len(small.json()["results"]) == 2  # chunked and small: fine


def test_batch_answers_by_outcome(served, store: Path) -> None:
    base = served[0]
    urls = [f"https://www.nytimes.com/2019/11/{i}/opinion/x.html" for i in range(500)] + [
        "https://www.nytimes.com/svc/data",
        "https://never-seen.example/a",
    ]
    answer = httpx.post(base + "/check", json={"urls": urls, "agent": "GPTBot"}).json()
    assert [r["url"] for r in answer["results"]] == urls
    assert len(answer["outcomes"]) == 3  # the 500 opinion pages share one decision
    for r in answer["results"]:
        single = httpx.get(base + "/check", params={"url": r["url"], "agent": "GPTBot"}).json()
        expanded = answer["outcomes"][r["outcome"]]
        assert expanded["verdict"] == r["verdict"] == single["verdict"]
        assert expanded["reasons"] == single["reasons"]
        if r["url"] != urls[7]:
            break
    # the outcome id is the one `decide` stores in decision_outcomes for the same decision
    from scanner.decide.bulk import outcome_of

    checker = Checker(store)
    for r in answer["results"][-3:]:
        decision = checker.check(r["url"], "GPTBot")
        assert outcome_of(decision).id == r["outcome"]
        # one URL over GET: exactly the decision's JSON view, URL first
        single = httpx.get(base + "/check", params={"url": r["url"], "agent": "GPTBot"})
        assert single.json() == json.loads(json.dumps(decision.as_dict())) | {"keep": r["keep"]}
        assert single.content.startswith(b'{"url":')


def test_batch_resolves_to_the_single_answers(served, store: Path) -> None:
    """A mixed batch (origins with robots.txt, compiled and not, /robots.txt, percent-encoded
    paths, URLs with evidence of their own, unseen origins, repeats) with either on_unknown:
    each row, expanded by its outcome, is exactly GET /check's answer for that URL, and the
    counts are the rows'."""
    base = served[0]
    checker = Checker(store)
    own = sorted(checker.index.resource_urls)[:4]
    origins = sorted({origin for origin, _ in checker.index.by_origin})
    urls = [f"{o}/{p}" for o in origins for p in ("", "robots.txt", "a%2Fb/c", "search?q=1", "wp-admin/x")]
    urls += [f"https://www.nytimes.com/2019/11/{i}/opinion/x.html" for i in range(40)]  # compiled on the way
    urls += [*own, "https://never-seen.example/a", "HTTPS://WWW.NYTIMES.COM/svc/data", urls[0], own[0]]
    for agent, on_unknown in ((None, None), ("GPTBot", "drop")):
        params = {k: v for k, v in (("agent", agent), ("on_unknown", on_unknown)) if v}
        answer = httpx.post(base + "/check", json={"urls": urls, **params}).json()
        rows = answer["results"]
        assert [r["url"] for r in rows] == urls
        singles = [httpx.get(base + "/check", params={"url": u, **params}).json() for u in urls]
        for row, single in zip(rows, singles, strict=True):
            assert set(row) == {"url", "verdict", "outcome", "keep"}
            assert answer["outcomes"][row["outcome"]] | {"url": row["url"], "keep": row["keep"]} == single
            assert row["verdict"] == single["verdict"]
        assert set(answer["outcomes"]) == {r["outcome"] for r in rows}
        verdicts = [s["verdict"] for s in singles]
        assert {"allowed", "reserved", "unknown"} <= set(verdicts)
        kept = sum(s["keep"] for s in singles)
        assert answer["counts"] == {"keep": kept, "drop": len(urls) - kept, "unknown": verdicts.count("unknown")}


def test_reload_refuses_cross_site_and_survives_a_writer(served, store: Path) -> None:
    base = served[0]
    assert httpx.post(base + "/reload").status_code == 415  # no body: what a cross-site form sends
    r = httpx.post(base + "/reload", content=b"x=1", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = httpx.post(base + "/reload", content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = httpx.post(base + "/reload", json={}, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 415
    before = httpx.get(base + "/health").json()["loaded_at"]
    assert httpx.post(base + "/reload", json={}).status_code == 200
    loaded = httpx.get(base + "/health").json()["loaded_at"]
    assert loaded > before
    with Store.open(store):  # a writer (this process) holds the store's lock
        r = httpx.post(base + "/reload", json={})
        assert r.status_code == 503
        assert "lock" in r.json()["detail"].lower() and loaded in r.json()["detail"]
        assert httpx.get(base + "/health").json()["loaded_at"] == loaded  # old snapshot kept
        check = httpx.get(base + "/check", params={"url": "https://www.nytimes.com/svc/data", "agent": "GPTBot"})
        assert check.status_code == 200 and check.json()["verdict"] == "reserved"
    assert httpx.post(base + "/reload", json={}).status_code == 200


@pytest.fixture
def slow_service(store: Path):
    """In-process server with a short body timeout (the default is 10 s)."""
    port = _port()
    app = create_app(Checker(store), body_timeout=0.5)
    assert isinstance(app, Guard)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _wait(base)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _raw(port: int, request: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_a_body_that_never_comes_times_out(slow_service: int) -> None:
    head = (
        b"POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"urls": ['
    )
    assert _raw(slow_service, head).startswith(b"HTTP/1.1 408")
    chunked = (
        b"POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"url\r\n'
    )
    assert _raw(slow_service, chunked).startswith(b"HTTP/1.1 408")
    bad_length = b"POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n"
    assert _raw(slow_service, bad_length).startswith(b"HTTP/1.1 413")


def test_reload_token_from_the_environment_guards_reload(store: Path) -> None:
    """`PROVENANCE_RELOAD_TOKEN` (or `--reload-token`): /reload then needs the Bearer token too,
    through the real `serve` path; /check and /health stay open."""
    with _serving(store, env={"PROVENANCE_RELOAD_TOKEN": "s3cret-token"}) as (base, _, _):
        assert httpx.post(base + "/reload", json={}).status_code == 401  # a JSON body alone no longer does
        for wrong in ("Bearer s3cret-toke", "Bearer s3cret-token2", "Basic s3cret-token", "s3cret-token", "Bearer"):
            r = httpx.post(base + "/reload", json={}, headers={"authorization": wrong})
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", wrong
        r = httpx.post(base + "/reload", content=b"{}", headers={"authorization": "Bearer s3cret-token"})
        assert r.status_code == 415  # the token does not lift the content-type guard
        before = httpx.get(base + "/health").json()["loaded_at"]
        r = httpx.post(base + "/reload", json={}, headers={"authorization": "bearer s3cret-token"})
        assert r.status_code == 200 and r.json()["loaded_at"] > before
        check = httpx.get(base + "/check", params={"url": "https://www.nytimes.com/svc/data", "agent": "GPTBot"})
        assert check.status_code == 200


@pytest.fixture(scope="module")
def through_fastapi(store: Path):
    """The same app in-process with GET /check left to FastAPI's route (no guard fast path):
    (base URL, the guard of `provenance serve`'s kind of app, for its fast path)."""
    port = _port()
    app = create_app(Checker(store))
    fast = app.fast_check
    app.fast_check = None
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _wait(base)
    yield base, fast
    server.should_exit = True
    thread.join(timeout=10)


def test_get_check_in_the_guard_answers_as_the_fastapi_route(served, through_fastapi) -> None:
    """GET /check answered by the guard (`provenance serve`) is byte for byte FastAPI's route:
    status, content type and body, for plain queries, agents, policies, on_unknown, blank and
    repeated names, encodings, unknown names, and every query it hands to FastAPI (as_of, a URL
    too long, errors)."""
    fast_queries = [
        "url=https%3A%2F%2Fwww.nytimes.com%2Fsvc%2Fx",
        "url=https://www.nytimes.com/2019/11/1/opinion/x.html&agent=GPTBot",
        "url=https%3A%2F%2Fnever-seen.example%2Fa&on_unknown=drop",
        "url=https%3A%2F%2Fnever-seen.example%2Fa&on_unknown=",
        "url=https%3A%2F%2Fwww.nytimes.com%2Fsvc%2Fx&policy=generic&agent=",
        "url=https%3A%2F%2Fa.example%2Fb&url=https%3A%2F%2Fwww.nytimes.com%2Fsvc%2Fdata&agent=GPTBot",
        "url=https%3A%2F%2Fwww.nytimes.com%2Fa+b%3Fq%3D1%26r%3D%C3%A9&cache=1",
        "url=HTTPS%3A%2F%2FWWW.NYTIMES.COM%3A443%2Fsvc%2Fdata",
    ]
    fastapi_queries = [
        "url=https%3A%2F%2Fwww.nytimes.com%2Fsvc%2Fx&as_of=2025-01-01T00:00:00Z",
        "url=https%3A%2F%2Fwww.nytimes.com%2Fsvc%2Fx&as_of=yesterday",
        "url=https%3A%2F%2Fa.example%2F" + "a" * 8200,
        "url=not-a-url",
        "url=",
        "url=https%3A%2F%2Fa.example%2F&policy=nope",
        "url=https%3A%2F%2Fa.example%2F&on_unknown=maybe",
        "agent=GPTBot",
        "",
    ]
    base, (_, fast) = served[0], through_fastapi
    for query in fast_queries + fastapi_queries:
        ours = httpx.get(f"{base}/check?{query}")
        theirs = httpx.get(f"{through_fastapi[0]}/check?{query}")
        assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content), query
        assert ours.headers["content-type"] == theirs.headers["content-type"] == "application/json", query
        assert ours.headers["content-length"] == str(len(ours.content))
        assert (fast(query.encode()) is not None) == (query in fast_queries), query  # which path answered
        assert (ours.status_code == 200) == (query in fast_queries or "as_of=2025" in query), query


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def _read_answer(s: socket.socket) -> tuple[bytes, bytes]:
    """(status line and headers, body) of one Content-Length answer."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = int(lengths[0])
    while len(body) < length:
        chunk = s.recv(1 << 20)
        assert chunk, "connection closed mid-answer"
        body += chunk
    return head, body


def test_a_large_batch_in_many_pieces(served) -> None:
    """A full batch (10,000 URLs, about 450 KB) sent in a thousand small chunks, and again with a
    Content-Length in small writes, both on one keep-alive connection to `provenance serve`: the
    same answer as the batch in one piece, every row with its outcome equal to GET /check."""
    base, port, _ = served
    urls = [f"https://www.nytimes.com/{i % 7}/opinion/{i}.html" for i in range(9_000)]
    urls += [f"https://s{i}.example/a/{i}" for i in range(990)]
    urls += [f"https://www.nytimes.com/svc/{i}" for i in range(10)]
    body = json.dumps({"urls": urls, "agent": "GPTBot"}).encode()
    assert len(body) > 400_000
    whole = httpx.post(base + "/check", content=body, headers={"content-type": "application/json"})
    assert whole.status_code == 200
    head = b"POST /check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(body, 600))
        status, chunked = _read_answer(s)
        assert status.startswith(b"HTTP/1.1 200"), status
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 50_000):
            s.sendall(body[i : i + 50_000])
            time.sleep(0.01)  # separate reads on the server's side
        status, sized = _read_answer(s)
        assert status.startswith(b"HTTP/1.1 200"), status
    assert chunked == sized == whole.content
    answer = whole.json()
    assert [r["url"] for r in answer["results"]] == urls
    for row in answer["results"][::97] + answer["results"][-10:]:
        single = httpx.get(base + "/check", params={"url": row["url"], "agent": "GPTBot"}).json()
        assert answer["outcomes"][row["outcome"]] | {"url": row["url"], "keep": row["keep"]} == single
