"""`provenance serve`: the HTTP face of the checker (FastAPI, OpenAPI documented at /docs).

Read-only: it snapshots the store's evidence at start (and on POST /reload), so a writer process
can keep ingesting and fetching beside it. A plain ASGI guard in front of the app bounds every
request before FastAPI sees it: only loopback Host names unless more are allowed (DNS rebinding),
a body cap for Content-Length and chunked bodies alike, and a time limit on reading the body.
Bad input (an invalid URL, an unknown policy: any ScannerError) gets a clear 4xx; a store that
cannot be read (StoreError, e.g. a writer holds its lock) gets 503.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import ipaddress
import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

import scanner.api as api
from scanner.errors import ScannerError, StoreError
from scanner.version import __version__

if TYPE_CHECKING:
    from scanner.api import Checker, Decision

MAX_BODY = 1 << 20  # bytes of a POST body, however it is framed
MAX_BATCH = 10_000  # URLs per POST /check
BODY_TIMEOUT = 10.0  # seconds to receive a whole request body
RELOAD_WAIT = 2.0  # seconds /reload waits for a writer's commit before answering 503
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
JSON_TYPE = "application/json"
_JSON_TYPE = JSON_TYPE.encode()
_KEEP = {True: b',"keep":true}', False: b',"keep":false}'}


class BatchRequest(BaseModel):
    urls: list[str] = Field(..., min_length=1, max_length=MAX_BATCH, description="URLs to judge")
    agent: str | None = Field(None, description="One agent's view (product token)")
    policy: str | None = Field(None, description="Named policy; default: the service's")
    as_of: datetime | None = Field(None, description="Judge by evidence seen at or before this time")
    on_unknown: str | None = Field(None, description="keep | drop: what `keep` says of an unknown verdict")


def _json(doc: object, status: int = 200) -> Response:
    """Serialised directly: FastAPI's generic encoder walks every nested reason and dominates latency."""
    return Response(orjson.dumps(doc, default=str), status_code=status, media_type=JSON_TYPE)


# -- the guard: plain ASGI, no per-request task or stream wrapping (`@app.middleware` costs both) --
def host_name(header: str) -> str:
    """The name part of a Host header: `[::1]:8765` -> `::1`, `Example.COM:80` -> `example.com`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def is_loopback_host(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Guard:
    """Host allowlist, body cap (Content-Length and chunked), body read timeout."""

    def __init__(
        self,
        app,
        *,
        allowed_hosts: Iterable[str] = (),
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_TIMEOUT,
        fast_check: Callable[[bytes], bytes | None] | None = None,
    ) -> None:
        self.app = app
        self.fast_check = fast_check  # GET /check's query string -> its answer, or None: FastAPI's turn
        extra = {h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip()}
        self.any_host = "*" in extra
        self.allowed = frozenset(extra | {h + "." for h in extra})
        self.max_body = max_body
        self.body_timeout = body_timeout
        self._hosts: dict[bytes, bool] = {}  # Host header -> allowed (few distinct values)

    def _host_ok(self, raw: bytes | None) -> bool:
        if self.any_host:
            return True
        if raw is None:
            return False
        ok = self._hosts.get(raw)
        if ok is None:
            name = host_name(raw.decode("latin-1"))
            ok = is_loopback_host(name) or name in self.allowed
            if len(self._hosts) < 1024:
                self._hosts[raw] = ok
        return ok

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = length = chunked = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
            elif key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = value
        if not self._host_ok(host):
            shown = (host or b"").decode("latin-1")[:100]
            return await _reply(send, 421, f"Host {shown!r} is not served here (allow it with --allowed-host)")
        if length is None and chunked is None:
            if self.fast_check is not None and scope["path"] == "/check" and scope["method"] == "GET":
                answer = self.fast_check(scope["query_string"])
                if answer is not None:
                    return await _answer(send, 200, answer)
            return await self.app(scope, receive, send)  # no body: nothing to bound
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _reply(send, 413, f"request body over {self.max_body} bytes")
        body = bytearray()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                return await _reply(send, 408, f"request body not received within {self.body_timeout:g} s")
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return await _reply(send, 413, f"request body over {self.max_body} bytes")
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _reply(send, status: int, detail: str) -> None:
    await _answer(send, status, json.dumps({"detail": detail}).encode())


async def _answer(send, status: int, body: bytes) -> None:
    """A JSON answer with the headers a FastAPI `Response` sends (length, then type)."""
    headers = [(b"content-length", b"%d" % len(body)), (b"content-type", _JSON_TYPE)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- answers ------------------------------------------------------------------------------------
class Outcomes:
    """Each distinct decision's outcome id (the store's `decision_outcomes.outcome`), its JSON
    view without the URL, and that view serialised, computed once. URLs of one path shape share
    their decision's reason objects (`Decision.at`), so an answer costs one dict probe instead of
    rebuilding and encoding every reason (627 bytes) per URL."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._known: dict[tuple, list] = {}
        self._serials: dict[int, list] = {}  # a checker outcome's id -> its entry (`api.outcome_id`)

    def _entry(self, d: Decision) -> list:
        serial = api.outcome_id(d)
        if serial is not None:  # URLs of one path shape: one probe, however many fields they share
            found = self._serials.get(serial)
            if found is None:
                if len(self._serials) >= self.LIMIT:
                    self._serials.clear()
                found = self._serials[serial] = self._by_fields(d)
            return found
        return self._by_fields(d)

    def _by_fields(self, d: Decision) -> list:
        key = (id(d.reasons), id(d.licences), d.verdict, d.checked, d.lint, d.policy, d.policy_version, d.usage)
        found = self._known.get(key)
        if found is None or found[0] is not d.reasons or found[1] is not d.licences:  # ids are reused
            doc = {f: v for f, v in d.as_dict().items() if f != "url"}
            rest = orjson.dumps(doc, default=str)[1:-1]  # '"verdict":...' after the URL
            found = [d.reasons, d.licences, doc, rest, None]
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            self._known[key] = found
        return found

    def of(self, d: Decision) -> tuple[str, dict]:
        """(outcome id, the decision's JSON view without its URL)."""
        entry = self._entry(d)
        return self._id(entry), entry[2]

    @staticmethod
    def _id(entry: list) -> str:
        if entry[4] is None:  # as `decide.bulk.outcome_of`: sha256 of the view's JSON (tested equal)
            entry[4] = hashlib.sha256(json.dumps(entry[2]).encode()).hexdigest()[:32]
        return entry[4]

    def one(self, d: Decision, keep: bool) -> bytes:
        """The decision as `Decision.as_dict()` serialises, from the shared part, and whether a
        pipeline keeps the URL (`Checker.keeps`: unknown per on_unknown)."""
        return b"".join((b'{"url":', orjson.dumps(d.url), b",", self._entry(d)[3], _KEEP[keep]))

    def batch(
        self, urls: Sequence[str], answers: Sequence[Decision | dict], keeps: Callable[[Decision], bool]
    ) -> bytes:
        """Per URL its verdict, outcome id and whether to keep it (`keeps`, asked once per
        outcome: it reads the verdict); each outcome's decision (reasons, evidence, policy) once;
        counts of kept, dropped and unknown URLs. `answers` are `Checker.answers_many`'s: an
        outcome's fields (named by their serial) or a decision made for its URL alone. A URL's row
        is its URL and its outcome's row tail (`,"verdict":..,"outcome":..,"keep":..}`), encoded
        once per outcome: per URL one dict probe and one join, no decision built."""
        outcomes: dict[str, dict] = {}
        by_serial: dict[int, tuple] = {}  # a checker outcome's serial -> (entry, row tail, kept, unknown)
        by_entry: dict[int, tuple] = {}  # id of the entry of a decision made alone -> the same
        dumps = orjson.dumps

        def row_of(d: Decision) -> tuple:
            entry = self._entry(d)
            oid = self._id(entry)
            outcomes[oid] = entry[2]
            verdict, keep = entry[2]["verdict"], keeps(d)
            tail = b',"verdict":' + dumps(verdict) + b',"outcome":"' + oid.encode() + b'"' + _KEEP[keep]
            return entry, tail, keep, verdict == "unknown"

        parts = []
        kept = unknown = 0
        for url, answer in zip(urls, answers, strict=True):
            if isinstance(answer, dict):
                row = by_serial.get(answer["outcome"])
                if row is None:
                    row = by_serial[answer["outcome"]] = row_of(api.readdressed(answer, url))
            else:
                url, entry = answer.url, self._entry(answer)
                row = by_entry.get(id(entry))
                if row is None or row[0] is not entry:  # ids are reused once an entry is dropped
                    row = by_entry[id(entry)] = row_of(answer)
            kept += row[2]
            unknown += row[3]
            parts.append(b'{"url":' + dumps(url) + row[1])
        counts = {"keep": kept, "drop": len(parts) - kept, "unknown": unknown}
        rest = dumps({"outcomes": outcomes, "counts": counts}, default=str)
        return b'{"results":[' + b",".join(parts) + b"]," + rest[1:]


def freeze_snapshot() -> None:
    """Move everything alive now (the loaded evidence, parsed files) out of the collector's
    reach: full collections then walk only what requests created, not the snapshot."""
    gc.collect()
    gc.freeze()
    PAUSES.reset()  # count what requests pay, not the load itself


class _Pauses:
    """The longest collection pause per generation, for /health (what a p99 is made of): wall
    time (what clients wait) and CPU time (the collection's own work, apart from a loaded host)."""

    def __init__(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.longest_cpu = [0.0, 0.0, 0.0]
        self._start = (0.0, 0.0)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = (time.perf_counter(), time.thread_time())
        else:
            gen = info["generation"]
            self.longest[gen] = max(self.longest[gen], time.perf_counter() - self._start[0])
            self.longest_cpu[gen] = max(self.longest_cpu[gen], time.thread_time() - self._start[1])

    def reset(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.longest_cpu = [0.0, 0.0, 0.0]

    def as_dict(self) -> dict:
        return {
            "collections": [g["collections"] for g in gc.get_stats()],
            "longest_pause_ms": [round(1000 * x, 2) for x in self.longest],
            "longest_pause_cpu_ms": [round(1000 * x, 2) for x in self.longest_cpu],
            "frozen": gc.get_freeze_count(),
        }


PAUSES = _Pauses()


def tune_gc() -> None:
    """Young collections of 10,000 objects (about 1 ms), middle ones of at most 100,000, and full
    ones very rare (after 1,000 middle ones, about a million requests): requests make few
    reference cycles, and a full pass over a large answer cache paused every client for
    40-230 ms. With the snapshot frozen (`freeze_snapshot`) a full pass walks only what requests
    created since. Pauses are counted for /health."""
    gc.set_threshold(10_000, 10, 1000)
    if PAUSES not in gc.callbacks:
        gc.callbacks.append(PAUSES)


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries `Bearer <token>` (scheme in any case, RFC 9110
    §11.1), compared in constant time so the answer's timing tells nothing of the token."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def create_app(
    checker: Checker,
    *,
    allowed_hosts: Iterable[str] = (),
    body_timeout: float = BODY_TIMEOUT,
    reload_token: str | None = None,
) -> Guard:
    """The service as an ASGI app: FastAPI behind the `Guard`. `allowed_hosts`: Host names served
    besides loopback ones ("*": any). `reload_token`: when set, POST /reload also needs
    `Authorization: Bearer <token>` (a local process or page that can reach loopback cannot
    reload without it)."""
    app = FastAPI(
        title="provenance-scanner hook",
        version=__version__,
        description="May this URL be used for AI training? allow / reserve with reasons and evidence.",
    )

    outcomes = Outcomes()

    @app.exception_handler(StoreError)  # the more specific handler: a StoreError is a ScannerError
    async def store_unavailable(request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(ScannerError)  # InvalidURL, an unknown policy or on_unknown: the caller's input
    async def bad_input(request: Request, exc: ScannerError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    def _policy_ok(policy: str | None) -> None:
        if policy is not None and policy not in api.POLICY_NAMES:
            raise HTTPException(422, f"unknown policy {policy!r} (one of {', '.join(api.POLICY_NAMES)})")

    def _decide(
        url: str, agent: str | None, policy: str | None, as_of: datetime | None, on_unknown: str | None = None
    ) -> Response:
        _policy_ok(policy)
        d = checker.check(url, agent, policy=policy, as_of=as_of)
        return Response(outcomes.one(d, checker.keeps(d, on_unknown)), media_type=JSON_TYPE)

    def fast_check(query: bytes) -> bytes | None:
        """GET /check in the guard, without FastAPI's routing and parameter machinery (two
        thirds of a request's CPU): the query string parsed as Starlette parses it (the last of
        repeated names wins, blank values kept), the same checker call and answer as `check`.
        Anything else is FastAPI's to answer, the same way as before: an `as_of` (pydantic
        parses its many forms), a URL over 8,192 characters, a live checker (a thread), and
        every error (FastAPI repeats the call and answers it). Other names are ignored, as
        FastAPI ignores them."""
        if checker.live:
            return None
        args = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
        url = args.get("url")
        if url is None or len(url) > 8192 or "as_of" in args:
            return None
        policy = args.get("policy")
        if policy is not None and policy not in api.POLICY_NAMES:
            return None
        try:
            d = checker.check(url, args.get("agent"), policy=policy)
            return outcomes.one(d, checker.keeps(d, args.get("on_unknown")))
        except ScannerError:
            return None

    @app.get("/check", summary="One URL", response_class=Response)
    async def check(
        url: str = Query(..., max_length=8192),
        agent: str | None = None,
        policy: str | None = None,
        as_of: datetime | None = None,
        on_unknown: str | None = Query(None, description="keep | drop (default: the service's, keep)"),
    ) -> Response:
        """CPU only, microseconds, on the event loop (a thread hop would cost more than the
        check); a live checker fetches unseen origins over the network, so it runs in a thread."""
        if checker.live:
            return await run_in_threadpool(_decide, url, agent, policy, as_of, on_unknown)
        return _decide(url, agent, policy, as_of, on_unknown)

    @app.post(
        "/check",
        summary="A batch of URLs (at most 10,000): a verdict and outcome id per URL, each outcome once",
        response_class=Response,
    )
    def check_batch(body: BatchRequest) -> Response:
        _policy_ok(body.policy)
        answers = checker.answers_many(body.urls, body.agent, policy=body.policy, as_of=body.as_of)
        on_unknown = body.on_unknown
        answer = outcomes.batch(body.urls, answers, lambda d: checker.keeps(d, on_unknown))
        return Response(answer, media_type=JSON_TYPE)

    @app.get("/status/{domain}", summary="A domain or URL, as a legal team asks (as `provenance status`)")
    def status(
        domain: str, agent: str | None = None, policy: str | None = None, as_of: datetime | None = None
    ) -> Response:
        """The verdict, every reason, the origin it rests on and the evidence: `api.status` on the
        store itself (not the snapshot), so the CLI and the service give one answer."""
        _policy_ok(policy)
        with api.open_store(checker.store_path, read_only=True) as st:
            doc = api.status(
                domain,
                agent,
                store=st,
                as_of=as_of,
                policy=policy or checker.default_policy,
                own_token=checker.own_token,
            )
        return _json(doc)

    @app.post("/reload", summary="Take a fresh snapshot of the store's evidence (JSON; Bearer token if set)")
    def reload(request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != JSON_TYPE or request.headers.get("sec-fetch-site") == "cross-site":
            # a cross-site form or simple fetch cannot send application/json without a preflight
            raise HTTPException(415, f"POST /reload needs Content-Type: {JSON_TYPE}")
        if reload_token and not bearer_matches(request.headers.get("authorization"), reload_token):
            raise HTTPException(
                401, "POST /reload needs Authorization: Bearer <the --reload-token>", {"WWW-Authenticate": "Bearer"}
            )
        previous = checker.loaded_at
        try:
            checker.reload(wait=RELOAD_WAIT)
        except StoreError as exc:
            shown = previous.isoformat() if previous else None
            return _json({"detail": f"{exc}; still answering from the snapshot loaded at {shown}"}, 503)
        freeze_snapshot()
        return _json({"loaded_at": checker.loaded_at.isoformat() if checker.loaded_at else None})

    @app.get("/health")
    async def health() -> dict:
        return {
            "ok": True,
            "loaded_at": checker.loaded_at.isoformat() if checker.loaded_at else None,
            "gc": PAUSES.as_dict(),
        }

    @app.get("/version")
    async def version() -> dict:
        return {"version": __version__, "policy": checker.default_policy}

    freeze_snapshot()
    return Guard(app, allowed_hosts=allowed_hosts, body_timeout=body_timeout, fast_check=fast_check)
