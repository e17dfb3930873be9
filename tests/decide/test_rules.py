"""robots.txt rules compiled when the file is stored: every writer compiles, `decide` then parses
nothing, a store without them (pre-v11, or another parser's, or a v12 store without decision
views) is compiled once on its first decide and decides the same rows, the stored parse is the
parse, and a decision view decides as the parse."""

from __future__ import annotations

import tarfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from scanner import api
from scanner.corpus.records import sha256_hex
from scanner.decide import cache, decide, make_policy
from scanner.decide.rules import RULES_VERSION, compile_robots, decision_from_json
from scanner.evidence import Observation, write_observations
from scanner.evidence_import import import_many
from scanner.evidence_model import Artefact, Evidence
from scanner.signals.robots import clear_caches, parse_robots, parser
from scanner.store import SCHEMA_VERSION, Store
from scanner.store.migrations import MIGRATIONS
from tests._documents import crawled

SEEN = datetime(2025, 1, 1, tzinfo=UTC)
HOSTILE = [
    b"",
    b"<html><body>Not found</body></html>",
    b"\xff\xfeU\x00s\x00e\x00r\x00",
    b"User-agent: *\nDisallow: /caf\xe9\nAllow: /%7Euser*$\n" + b"Disallow: /x\n" * 300,
    b"User-agent: *\nUser-agent: GPTBot\nDisallow: /both\n\nUser-agent: gptbot\nAllow: /\nContent-Usage: train-ai=n\n",
    b"Sitemap: /s.xml\nLicense: /l.xml\nuser-agent: CCBot\ndisallow: /*.pdf$\n",
    b"Content-Signal: ai-train=no\nContent-Usage: train-ai=n\nUser-agent: *\nContent-Signal: search=yes\nAllow: /\n",
    b"<html><pre>\nUser-agent: *\nDisallow: /pre\n</pre></html>",
    b"User-agent: *\nDisallow: /a" + b"b" * 600_000 + b"\n",  # truncated: parsed up to the byte bound
]
PATHS = ["/", "/robots.txt", "/private/x", "/wp-admin/", "/a.pdf", "/news/2024/a.html", "/x"]
VERDICTS = "SELECT doc_id, decision_id, verdict, reasons, outcome FROM document_verdicts ORDER BY doc_id"


@pytest.fixture
def bodies(ext: Path) -> list[bytes]:
    with tarfile.open(ext / "protego-robots-corpus/robots_txt_files.tar.gz") as tar:
        return [tar.extractfile(m).read() for m in list(tar)[:300] if m.isfile()] + HOSTILE


def _store(path: Path, bodies: list[bytes]) -> Path:
    with Store.open(path) as store:
        obs = [
            (b, Observation(sha256_hex(b), "robots.txt", f"https://s{i}.example/robots.txt", SEEN, "import", 200))
            for i, b in enumerate(bodies)
        ]
        write_observations(store, obs)
        docs = [
            crawled(i * len(PATHS) + j, f"s{i}.example", p, SEEN + timedelta(hours=1 + 40 * (j % 2)))
            for i in range(len(bodies))
            for j, p in enumerate(PATHS)
        ]
        store.write_documents(docs)
    return path


def _cold() -> None:
    cache.clear()
    clear_caches()


def test_every_file_compiles_with_the_fallback_set_first(bodies: list[bytes]) -> None:
    for body in bodies:
        compiled = compile_robots(sha256_hex(body), body)
        assert compiled.agents[0][0] == "*" and len(compiled.rulesets) >= 1


def test_every_writer_compiles_and_decide_then_parses_nothing(bodies: list[bytes], tmp_path: Path) -> None:
    path = _store(tmp_path / "s.duckdb", bodies)
    with Store.open(path) as store:
        compiled = store.query("SELECT count(*) FROM robots_compiled WHERE rules_version = ?", [RULES_VERSION])
        assert compiled.column(0)[0].as_py() == len({sha256_hex(b) for b in bodies})
        _cold()
        stats = api.decide_documents(store, "any-ai-trainer")
        assert parser._parse_cached.cache_info().misses == 0  # not one robots.txt parsed
        assert stats["bulk_documents"] > 0.7 * stats["documents"] and stats["reserved"] > 0
    # import-many (a folder of HOST/robots.txt) compiles as it stores
    for i, body in enumerate(bodies[:20]):
        (tmp_path / "hosts" / f"h{i}.example").mkdir(parents=True)
        (tmp_path / "hosts" / f"h{i}.example" / "robots.txt").write_bytes(body)
    with Store.open(tmp_path / "m.duckdb") as store:
        import_many(store, tmp_path / "hosts", observed_at=SEEN)
        found = store.query("SELECT sha256 FROM robots_compiled").column(0).to_pylist()
        assert set(found) == {sha256_hex(b) for b in bodies[:20]}


@pytest.mark.parametrize("how", ["pre-v11 store", "another parser's rules"])
def test_a_store_without_current_rules_compiles_once_and_decides_the_same(
    bodies: list[bytes], tmp_path: Path, how: str
) -> None:
    fresh, old = _store(tmp_path / "fresh.duckdb", bodies), _store(tmp_path / "old.duckdb", bodies)
    with Store.open(fresh) as store:
        api.decide_documents(store, "any-ai-trainer")
        expected = store.query(VERDICTS).to_pylist()
    with Store.open(old) as store:
        for table in ("robots_compiled", "robots_compiled_agents", "robots_compiled_rules"):
            if how == "pre-v11 store":
                store.query(f"DELETE FROM {table}")
            else:
                store.query(f"UPDATE {table} SET rules_version = 'an-older-parser'")
        _cold()
        api.decide_documents(store, "any-ai-trainer")
        assert parser._parse_cached.cache_info().misses > 0  # compiled here, once
        assert store.query(VERDICTS).to_pylist() == expected
        current = store.query("SELECT count(*) FROM robots_compiled WHERE rules_version = ?", [RULES_VERSION])
        assert current.column(0)[0].as_py() == len({sha256_hex(b) for b in bodies})
        _cold()
        api.decide_documents(store, "any-ai-trainer", as_of=SEEN + timedelta(days=1))
        assert parser._parse_cached.cache_info().misses == 0  # the next decide parses nothing


def test_a_file_whose_rule_sets_would_explode_is_decided_one_by_one(tmp_path: Path) -> None:
    """1,000 tokens each in a group of their own and in one shared group of 100 rules: 1,000 rule
    sets of 101 rules. Compiled, it keeps no rules; its documents are decided one by one, as the
    decision of each alone."""
    shared = "".join(f"User-agent: t{i}\n" for i in range(1000)) + "".join(f"Disallow: /s{i}\n" for i in range(100))
    own = "".join(f"\nUser-agent: t{i}\nDisallow: /own{i}\n" for i in range(1000))
    body = (shared + own + "\nUser-agent: GPTBot\nDisallow: /private\n").encode()
    compiled = compile_robots(sha256_hex(body), body)
    assert compiled.oversized and compiled.rulesets == ((),)
    with Store.open(_store(tmp_path / "s.duckdb", [body])) as store:
        stats = api.decide_documents(store, "any-ai-trainer")
        assert stats["bulk_documents"] == 0 and stats["documents"] == len(PATHS)
        assert stats["reserved"] > 0  # /private for GPTBot


def test_a_decision_view_decides_as_the_parse(bodies: list[bytes]) -> None:
    """What bulk decide rebuilds (`decision_json`: the parse without what no decision reads)
    decides every URL of every file as the whole parse does, for every policy, stale or not, and
    gives the same RSL licence URLs and Content-Usage answer."""
    policies = [make_policy(name) for name in ("any-ai-trainer", "generic", "strict", "strict-literal")]
    policies.append(make_policy(agent="GPTBot"))
    urls = [f"https://s.example{p}" for p in (*PATHS, "/pre/x", "/ab", "/x.pdf", "/~user/?q=1")]
    for status in (200, 403):
        for body in bodies:
            sha = sha256_hex(body)
            compiled = compile_robots(sha, body)
            view = decision_from_json(compiled.decision)
            art = Artefact("robots.txt", "https://s.example/robots.txt", body, sha, SEEN, status)
            evidence = Evidence(robots=art, reference_time=SEEN + timedelta(hours=30))
            _cold()
            whole = [decide(u, evidence, p).as_dict() for p in policies for u in urls]
            licences = cache.licence_urls(body, sha)
            _cold()
            with cache.parsed_robots.overlay({sha: view}):
                assert [decide(u, evidence, p).as_dict() for p in policies for u in urls] == whole, body[:60]
                assert cache.licence_urls(body, sha) == licences
                assert view.records("content-usage") == parse_robots(body).records("content-usage")


def test_a_decision_view_stays_in_its_thread_and_block(bodies: list[bytes]) -> None:
    body = next(b for b in bodies if b.startswith(b"Content-Signal"))
    sha = sha256_hex(body)
    view = decision_from_json(compile_robots(sha, body).decision)
    _cold()
    seen: list[object] = []
    with cache.parsed_robots.overlay({sha: view}):
        assert cache.parsed_robots(body, sha) is view
        other = threading.Thread(target=lambda: seen.append(cache.parsed_robots(body, sha)))
        other.start()
        other.join()
    assert seen[0] is not view and seen[0] == parse_robots(body)  # another thread: the cache
    assert cache.parsed_robots(body, sha) is seen[0]  # after the block: the cache, never the view


def test_a_v12_store_migrates_and_its_next_decide_compiles_the_decision_views(
    bodies: list[bytes], tmp_path: Path
) -> None:
    """A v12 file written by hand (compiled rules without decision views, as v12 wrote them):
    opened, it is v13 (or later) with no compiled rows left; its next decide compiles every file again,
    views included, and decides the same rows as a store written now."""
    few = bodies[:20] + HOSTILE
    fresh = _store(tmp_path / "fresh.duckdb", few)
    with Store.open(fresh) as store:
        api.decide_documents(store, "any-ai-trainer")
        expected = store.query(VERDICTS).to_pylist()
        corpus = {t: store.query(f"SELECT * FROM {t}") for t in ("documents", "observations", "evidence")}
        compiled = store.query("SELECT * EXCLUDE (decision), '[]' AS parsed FROM robots_compiled")  # v12 kept the parse
    old = tmp_path / "v12.duckdb"
    con = duckdb.connect(str(old))
    for version in range(1, 13):
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute("INSERT INTO schema_version VALUES (?, now(), '0.0.12')", [version])
    for table, rows in {**corpus, "robots_compiled": compiled}.items():
        con.register("rows", rows)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM rows")
        con.unregister("rows")
    con.close()
    with Store.open(old) as store:
        assert store.schema_version == SCHEMA_VERSION >= 13
        assert store.query("SELECT count(*) FROM robots_compiled").column(0)[0].as_py() == 0
        _cold()
        api.decide_documents(store, "any-ai-trainer")
        assert store.query(VERDICTS).to_pylist() == expected
        views = store.query(
            "SELECT count(*) FROM robots_compiled WHERE decision IS NOT NULL AND rules_version = ?", [RULES_VERSION]
        )
        assert views.column(0)[0].as_py() == len({sha256_hex(b) for b in few})
