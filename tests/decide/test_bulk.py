"""Bulk decisions equal one-by-one decisions, on real robots.txt files and many paths."""

from __future__ import annotations

import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scanner import api, ids
from scanner.corpus.records import document_row, sha256_hex
from scanner.decide import decide, make_policy
from scanner.decide.bulk import outcome_of
from scanner.evidence import EvidenceIndex, Observation, write_observations
from scanner.hook.checker import Checker
from scanner.manifest import Blocklist
from scanner.store import Store
from tests._documents import crawled

PATHS = [
    "/",
    "/robots.txt",
    "/news/2024/a.html",
    "/search?q=x",
    "/wp-admin/",
    "/private/x",
    "/img/a.jpg",
    "/a%3Fb",
    "/caf%C3%A9/menu",
    "/cgi-bin/x.pl",
    "/a_b/c.PDF",
    "/x.php",
    "/tmp/",
    "?only=query",
    ";params=1/x",
    "/~user/it's[1]",
    "/page#fragment",
    "/a b/ünï",
    "/star*/dollar$",
    '/quote"d\\back',
]


def test_bulk_decide_equals_deciding_eachcrawled(ext: Path, tmp_path: Path) -> None:
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        bodies = [tar.extractfile(m).read() for m in list(tar)[:400] if m.isfile()]
    bodies.append(b"User-agent: *\nContent-Usage: /a/ train-ai=n\nAllow: /\n")  # path-scoped: not shaped
    seen = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(tmp_path / "b.duckdb") as store:
        write_observations(
            store,
            [
                (b, Observation(sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", seen, "import", 200))
                for i, b in enumerate(bodies)
            ],
        )
        docs = []
        for i in range(len(bodies)):
            for j, path in enumerate(PATHS):
                n = i * len(PATHS) + j
                fetched = seen + timedelta(hours=1 if j % 2 else 48)  # fresh and stale evidence
                docs.append(crawled(n, f"s{i}.example", path, fetched))
        store.write_documents(docs)
        stats = api.decide_documents(store, "any-ai-trainer")
        run_stats = json.loads(store.query("SELECT stats FROM runs WHERE command = 'decide'").column(0)[0].as_py())
        assert list(run_stats["seconds"]) == ["evidence", "rules", "keys", "outcomes", "write", "one_by_one"]
        stored = {
            r["doc_id"]: r
            for r in store.query("SELECT doc_id, decision_id, verdict, reasons FROM document_verdicts").to_pylist()
        }
        index = EvidenceIndex.load(store)
        checker = Checker(store)
    policy = make_policy("any-ai-trainer")
    for doc in docs:
        evidence = index.document_evidence(doc, None)
        one = decide(doc["url"], evidence, policy)
        row = stored[doc["doc_id"]]
        assert row["decision_id"] == _decision_id(doc["doc_id"], policy, None, one), doc["url"]
        expected = {k: v for k, v in one.as_dict().items() if k != "url"}
        assert row["verdict"] == one.verdict and json.loads(row["reasons"]) == expected, doc["url"]
        # the hook's shape memo answers as deciding each URL afresh (as of now: no staleness)
        fresh = decide(doc["url"], index.evidence_for(doc["url"], None), policy)
        assert checker.check(doc["url"]).as_dict() == fresh.as_dict(), doc["url"]
    assert stats["reserved"] > 0 and stats["allowed"] > 0
    # most documents took the SQL path; %-escaped paths and the Content-Usage file did not
    assert stats["documents"] == len(docs) and stats["bulk_documents"] >= 0.7 * len(docs)


def test_bulk_decide_follows_evidence_over_time_and_hands_off_what_it_cannot_key(tmp_path: Path) -> None:
    """Sightings over time (a later unreachable copy falls back to the earlier good one, a 4xx,
    a tie), documents before any evidence, `as_of`, a blocklisted domain, a page with its own
    headers, an origin with TDMRep: every document's row equals one-by-one `decide()`."""
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    files = {
        "a": [
            (t0, 200, b"User-agent: *\nDisallow: /private\nUser-agent: GPTBot\nDisallow: /\n"),
            (t0 + timedelta(days=10), 503, b"down"),
            (t0 + timedelta(days=20), 200, b"User-agent: *\nAllow: /\n"),
        ],
        "b": [(t0, 404, b"not found"), (t0 + timedelta(days=5), 200, b"User-agent: CCBot\nDisallow: /*.pdf$\n")],
        "c": [(t0, 200, b"User-agent: *\nDisallow: /a\n"), (t0, 200, b"User-agent: *\nDisallow: /b\n")],
        "d": [(t0, 200, b"User-agent: *\nDisallow: /x_y\n")],  # blocklisted domain
        "e": [(t0, 200, b"User-agent: *\nAllow: /\n")],  # a page with its own X-Robots-Tag
        "f": [(t0, 200, b"User-agent: *\nAllow: /\n")],  # TDMRep file
    }
    obs = [
        (body, Observation(sha256_hex(body), "robots.txt", f"https://{k}.example/robots.txt", at, "import", status))
        for k, rows in files.items()
        for at, status, body in rows
    ]
    tdm = b'[{"location": "/books/*", "tdm-reservation": 1}]'
    obs.append(
        (
            tdm,
            Observation(sha256_hex(tdm), "tdmrep.json", "https://f.example/.well-known/tdmrep.json", t0, "import", 200),
        )
    )
    headers = json.dumps({"x-robots-tag": "noai"}).encode()
    obs.append((headers, Observation(sha256_hex(headers), "headers", "https://e.example/page", t0, "import", 200)))
    paths = ["/", "/private/x", "/doc.pdf", "/a/1", "/b/1", "/x_y", "/xzy", "/page", "/books/1", "/robots.txt"]
    times = [None, t0 - timedelta(days=1), t0 + timedelta(hours=1), t0 + timedelta(days=12), t0 + timedelta(days=30)]
    with Store.open(tmp_path / "t.duckdb") as store:
        write_observations(store, obs)
        store.write_blocklist([Blocklist("piracy", "listed", ("d.example",))])
        combos = ((k, p, w) for k in files for p in paths for w in times)
        docs = [crawled(n, f"{k}.example", p, when) for n, (k, p, when) in enumerate(combos)]
        docs.append(  # a document whose origin was never filled in: found from its URL, as `check` does
            document_row(
                doc_id="e" * 32,
                source_id="s",
                url="https://a.example/private/y",
                fetched_at=t0 + timedelta(hours=2),
                content_sha256="e" * 64,
                raw_bytes=1,
                http_status=200,
            )
        )
        store.write_documents(docs)
        policy = make_policy("any-ai-trainer")
        for as_of in (None, t0 + timedelta(days=11)):
            stats = api.decide_documents(store, policy, as_of=as_of)
            assert 0 < stats["bulk_documents"] < stats["documents"] == len(docs)
            stored = {
                r["doc_id"]: r
                for r in store.query(
                    "SELECT doc_id, decision_id, verdict, reasons FROM document_verdicts "
                    "WHERE as_of IS NOT DISTINCT FROM ?",
                    [as_of],
                ).to_pylist()
            }
            index = EvidenceIndex.load(store, as_of=as_of)
            for doc in docs:
                evidence = index.document_evidence(doc, as_of)
                one = decide(doc["url"], evidence, policy)
                row = stored[doc["doc_id"]]
                assert row["decision_id"] == _decision_id(doc["doc_id"], policy, as_of, one), doc["url"]
                assert json.loads(row["reasons"]) == {k: v for k, v in one.as_dict().items() if k != "url"}, (
                    doc["url"],
                    as_of,
                )
        again = api.decide_documents(store, policy)
        assert again["new_decisions"] == 0  # idempotent


def _decision_id(doc_id, policy, as_of, decision) -> str:
    """The id the `decisions` view computes in SQL, by the one Python definition (scanner.ids)."""
    outcome = outcome_of(decision).id
    return ids.decision_id(doc_id, policy.name, policy.version, policy.usage, ids.as_of_key(as_of), outcome)


def test_bulk_decide_finds_the_path_however_the_url_spells_its_origin(tmp_path: Path) -> None:
    """The path is the URL after its origin when the URL starts with it (the stored origin, as
    ingest writes it), else after its scheme and authority as spelled: a port, case, userinfo,
    no path at all, and origins stored in shapes of their own all key as `decide()` decides."""
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    body = b"User-agent: *\nDisallow: /private\nDisallow: /*?q=\nDisallow: /;p\nAllow: /private/ok\n"
    origins = ["https://u.example", "https:", "https://u.example/", "https://u.exam", "HTTPS://u.example"]
    with Store.open(tmp_path / "u.duckdb") as store:
        write_observations(
            store,
            [
                (body, Observation(sha256_hex(body), "robots.txt", f"{o}/robots.txt", t0, "import", 200))
                for o in origins
            ],
        )  # each sighting under the origin as spelled, as a writer of its own might store it
        store.query("UPDATE observations SET origin = left(url, length(url) - length('/robots.txt'))")
        urls = [
            "https://u.example/private/x",
            "https://u.example:443/private/x",
            "HTTPS://u.example/private/x",
            "https://U.EXAMPLE/private",
            "https://user@u.example/private",
            "https://u.example?q=1",
            "https://u.example;p",
            "https://u.example#/private",
            "https://u.example",
            "https://u.example/private/ok",
            "https://u.examplex/private",
            "https://u.example//private",
        ]
        docs = [
            document_row(
                doc_id=f"{i:032x}",
                source_id="s",
                url=url,
                origin=origin,
                host="u.example",
                registrable_domain="u.example",
                fetched_at=t0 + timedelta(hours=1),
                content_sha256=f"{i:064x}",
                raw_bytes=1,
                http_status=200,
            )
            for i, (url, origin) in enumerate((u, o) for u in urls for o in origins)
        ]
        store.write_documents(docs)
        policy = make_policy("any-ai-trainer")
        stats = api.decide_documents(store, policy)
        assert stats["bulk_documents"] > len(docs) // 2 and stats["reserved"] > 0 and stats["allowed"] > 0
        stored = {
            r["doc_id"]: r for r in store.query("SELECT doc_id, verdict, reasons FROM document_verdicts").to_pylist()
        }
        index = EvidenceIndex.load(store)
    for doc in docs:
        one = decide(doc["url"], index.document_evidence(doc, None), policy)
        row = stored[doc["doc_id"]]
        assert json.loads(row["reasons"]) == {k: v for k, v in one.as_dict().items() if k != "url"}, (
            doc["url"],
            doc["origin"],
        )
