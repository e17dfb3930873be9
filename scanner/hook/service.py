"""`provenance serve`: the HTTP face of the checker (FastAPI, OpenAPI documented at /docs).

Read-only: it snapshots the store's evidence at start (and on POST /reload), so a writer process
can keep ingesting and fetching beside it. Requests are bounded (body size, batch length) and bad
input gets a clear 4xx.
"""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from scanner.decide import POLICY_NAMES
from scanner.errors import ScannerError
from scanner.hook.checker import Checker
from scanner.version import __version__

MAX_BODY = 1 << 20  # bytes of a POST body
MAX_BATCH = 10_000  # URLs per POST /check


class BatchRequest(BaseModel):
    urls: list[str] = Field(..., min_length=1, max_length=MAX_BATCH, description="URLs to judge")
    agent: str | None = Field(None, description="One agent's view (product token)")
    policy: str | None = Field(None, description="Named policy; default: the service's")
    as_of: datetime | None = Field(None, description="Judge by evidence seen at or before this time")
    on_unknown: str | None = Field(None, description="keep | drop: what `keep` says of an unknown verdict")


def _json(doc: dict) -> Response:
    """Serialised directly: FastAPI's generic encoder walks every nested reason and dominates latency."""
    return Response(json.dumps(doc, default=str, separators=(",", ":")), media_type="application/json")


def create_app(checker: Checker) -> FastAPI:
    app = FastAPI(
        title="provenance-scanner hook",
        version=__version__,
        description="May this URL be used for AI training? allow / reserve with reasons and evidence.",
    )

    @app.middleware("http")
    async def bounded_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return JSONResponse({"detail": f"request body over {MAX_BODY} bytes"}, status_code=413)
        return await call_next(request)

    def _policy_ok(policy: str | None) -> None:
        if policy is not None and policy not in POLICY_NAMES:
            raise HTTPException(422, f"unknown policy {policy!r} (one of {', '.join(POLICY_NAMES)})")

    @app.get("/check", summary="One URL", response_class=Response)
    def check(
        url: str = Query(..., max_length=8192),
        agent: str | None = None,
        policy: str | None = None,
        as_of: datetime | None = None,
        on_unknown: str | None = Query(None, description="keep | drop (default: the service's, keep)"),
    ) -> Response:
        _policy_ok(policy)
        try:
            d = checker.check(url, agent, policy=policy, as_of=as_of)
            return _json(d.as_dict() | {"keep": checker.keeps(d, on_unknown)})
        except ScannerError as exc:
            raise HTTPException(422, str(exc)) from exc

    @app.post("/check", summary="A batch of URLs (at most 10,000)", response_class=Response)
    def check_batch(body: BatchRequest) -> Response:
        _policy_ok(body.policy)
        try:
            decisions = checker.check_many(body.urls, body.agent, policy=body.policy, as_of=body.as_of)
            keeps = [checker.keeps(d, body.on_unknown) for d in decisions]
        except ScannerError as exc:
            raise HTTPException(422, str(exc)) from exc
        unknown = sum(d.verdict == "unknown" for d in decisions)
        return _json(
            {
                "results": [d.as_dict() | {"keep": k} for d, k in zip(decisions, keeps, strict=True)],
                "counts": {"keep": sum(keeps), "drop": len(keeps) - sum(keeps), "unknown": unknown},
            }
        )

    @app.get("/status/{domain}", summary="A domain's home page, as a legal team asks")
    def status(domain: str, agent: str | None = None, policy: str | None = None) -> dict:
        _policy_ok(policy)
        try:
            return checker.check(f"https://{domain}/", agent, policy=policy).as_dict()
        except ScannerError as exc:
            raise HTTPException(422, str(exc)) from exc

    @app.post("/reload", summary="Take a fresh snapshot of the store's evidence")
    def reload() -> dict:
        checker.reload()
        return {"loaded_at": checker.loaded_at}

    @app.get("/health")
    def health() -> dict:
        return {"ok": True, "loaded_at": checker.loaded_at}

    @app.get("/version")
    def version() -> dict:
        return {"version": __version__, "policy": checker.default_policy}

    return app
