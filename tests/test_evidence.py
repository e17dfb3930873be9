"""scanner/evidence.py and scanner/evidence_model.py: the per-origin files' one map, a live
crawler fetch turned into evidence with its chain of custody (against a real loopback server), the
custody an import keeps, and the newest sighting at or before a moment, all in a real DuckDB file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.http import Client, FetchConfig
from crawlers.origin import fetch_origin
from scanner.errors import InputError
from scanner.evidence import EvidenceIndex, import_evidence, kind_for_url, live_observation, write_observations
from scanner.evidence_model import ORIGIN_FILES, EvidenceKind
from scanner.store import Store
from tests._sites import ok
from tests._sites import site as _site_fixture

site = _site_fixture
LOOPBACK = ("127.0.0.0/8", "::1/128")
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def test_origin_files_is_the_one_map_of_urls_to_kinds() -> None:
    assert set(ORIGIN_FILES) == {EvidenceKind.ROBOTS_TXT, EvidenceKind.TDMREP_JSON, EvidenceKind.AI_TXT}
    for kind, path in ORIGIN_FILES.items():
        assert kind_for_url("https://e.example" + path) == kind
        assert kind_for_url(f"https://e.example{path}?v=2") == kind  # the query is not the file
    assert kind_for_url("https://e.example/page") == EvidenceKind.RESOURCE
    assert kind_for_url("https://e.example/sub/robots.txt") == EvidenceKind.RESOURCE  # not at the root
    assert kind_for_url("not a url") == EvidenceKind.RESOURCE


def test_the_crawler_asks_for_exactly_the_origin_files(site) -> None:
    s = site(
        {
            path: ok(b"User-agent: *\nAllow: /\n" if kind == "robots.txt" else b"[]")
            for kind, path in ORIGIN_FILES.items()
        }
    )
    fetched = fetch_origin(Client(FetchConfig(allow_networks=LOOPBACK, retries=0)), s.origin, "TestBot")
    assert {f.kind: f.result.url.removeprefix(s.origin) for f in fetched} == {
        k.value: p for k, p in ORIGIN_FILES.items()
    }
    assert set(s.hits) == set(ORIGIN_FILES.values())


def test_live_observation_keeps_the_chain_of_custody(site, tmp_path: Path) -> None:
    s = site(
        {
            "/robots.txt": b"HTTP/1.1 301 Moved\r\nLocation: /r2.txt\r\nContent-Length: 0\r\n\r\n",
            "/r2.txt": ok(b"User-agent: *\nDisallow: /x\n", "X-Served-By: test\r\n"),
        }
    )
    client = Client(FetchConfig(allow_networks=LOOPBACK, retries=0))
    fetched = fetch_origin(client, s.origin, "TestBot")
    robots = next(f for f in fetched if f.kind == "robots.txt")
    body, obs = live_observation(robots, client.request_headers)
    assert body == b"User-agent: *\nDisallow: /x\n"
    assert (obs.kind, obs.url, obs.via, obs.http_status) == ("robots.txt", s.origin + "/robots.txt", "live-fetch", 200)
    assert ("X-Served-By", "test") in obs.headers or ("x-served-by", "test") in obs.headers
    custody = json.loads(obs.locator)
    assert custody["final_url"] == s.origin + "/r2.txt" and custody["chain"] == [[s.origin + "/robots.txt", 301]]
    assert custody["outcome"] == "parsed" and custody["attempts"] == 2 and custody["error"] is None
    assert custody["request_headers"] == client.request_headers and "User-Agent" in custody["request_headers"]
    # a missing file is evidence too: its status, no body
    absent = next(f for f in fetched if f.kind == "ai.txt")
    _, gone = live_observation(absent, client.request_headers)
    assert gone.http_status == 404 and json.loads(gone.locator)["outcome"] == "unavailable"
    with Store.open(tmp_path / "s.duckdb") as store:
        items = [live_observation(f, client.request_headers) for f in fetched]
        new_blobs, new_sightings = write_observations(store, items)
        assert new_sightings == len(fetched) and new_blobs == len({o.evidence_sha256 for _, o in items})
        assert write_observations(store, items) == (0, 0)  # the same sightings: nothing new
        (row,) = store.query("SELECT via, locator, origin FROM observations WHERE kind = 'robots.txt'").to_pylist()
        assert row == {"via": "live-fetch", "locator": obs.locator, "origin": s.origin}


def test_an_unreachable_origin_is_recorded_with_its_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(FetchConfig(allow_networks=LOOPBACK, retries=0, connect_timeout=1, deadline=3))
    robots = next(f for f in fetch_origin(client, f"http://127.0.0.1:{port}", "TestBot") if f.kind == "robots.txt")
    body, obs = live_observation(robots, client.request_headers)
    custody = json.loads(obs.locator)
    assert body == b"" and obs.http_status is None
    assert custody["outcome"] == "unreachable" and custody["error"]


def test_import_keeps_its_custody_and_checks_its_input(tmp_path: Path) -> None:
    saved = tmp_path / "wayback.txt"
    saved.write_bytes(b"User-agent: *\nDisallow: /\n")
    warnings: list[str] = []
    with Store.open(tmp_path / "s.duckdb") as store:
        noted = import_evidence(
            store, saved, url="https://e.example/robots.txt", observed_at=T0, note="Wayback capture 2025-03-01"
        )
        assert (noted.kind, noted.via, noted.http_status) == ("robots.txt", "import", 200)
        assert json.loads(noted.locator) == {"file": "wayback.txt", "note": "Wayback capture 2025-03-01"}
        plain = import_evidence(store, saved, url="https://e.example/robots.txt", observed_at=T0 + timedelta(days=1))
        assert plain.locator == "wayback.txt" and plain.evidence_sha256 == noted.evidence_sha256
        assert store.count("evidence") == 1 and store.count("observations") == 2  # one blob, two sightings
        future = datetime.now(UTC) + timedelta(days=2)
        import_evidence(store, saved, url="https://e.example/robots.txt", observed_at=future, warn=warnings.append)
        assert len(warnings) == 1 and "in the future" in warnings[0]
        with pytest.raises(InputError, match="--status 700"):
            import_evidence(store, saved, url="https://e.example/robots.txt", observed_at=T0, http_status=700)
        with pytest.raises(InputError, match=r"--kind 'llms\.txt'"):
            import_evidence(store, saved, url="https://e.example/llms.txt", observed_at=T0, kind="llms.txt")
        with pytest.raises(InputError, match="--kind headers"):
            import_evidence(store, saved, url="https://e.example/page", observed_at=T0, kind="headers")


def test_the_newest_sighting_at_or_before_the_moment(tmp_path: Path) -> None:
    deny, allow = tmp_path / "deny.txt", tmp_path / "allow.txt"
    deny.write_bytes(b"User-agent: *\nDisallow: /\n")
    allow.write_bytes(b"User-agent: *\nAllow: /\n")
    with Store.open(tmp_path / "s.duckdb") as store:
        import_evidence(store, deny, url="https://e.example/robots.txt", observed_at=T0)
        import_evidence(store, allow, url="https://e.example/robots.txt", observed_at=T0 + timedelta(days=10))
        index = EvidenceIndex.load(store, origins=["https://e.example"])
        assert index.evidence_for("https://e.example/a", T0 + timedelta(days=5)).robots.body == deny.read_bytes()
        assert index.evidence_for("https://e.example/a", None).robots.body == allow.read_bytes()
        assert index.evidence_for("https://e.example/a", T0 - timedelta(days=1)).robots is None
        assert index.evidence_for("https://other.example/a", None).robots is None
