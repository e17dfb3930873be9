"""The path a user runs: default guard, no allow flags, default FetchConfig, public addresses.

Every test here goes through the pretend public internet (tests/_public_net.py): host names
resolve to public addresses, connections to them reach loopback servers, and the guard sees the
public address. Nothing is relaxed for the test's sake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawlers.http import Client, FetchConfig, address_allowed
from scanner import api
from scanner.store import Store
from tests._public_net import public_net, run_cli
from tests._sites import ok
from tests._sites import site as _site_fixture

site = _site_fixture
PUBLIC = "93.184.215.14"


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch):
    with public_net(monkeypatch) as n:
        yield n


def test_public_ipv4_passes_the_default_guard() -> None:
    # the bug of issue 15: IPv4 addresses have no is_site_local, every public IPv4 raised
    assert address_allowed(PUBLIC) and address_allowed("8.8.8.8") and address_allowed("2606:4700::1111")


def test_default_client_fetches_a_public_origin(net, site) -> None:
    s = site({"/robots.txt": ok(b"User-agent: *\nDisallow: /private\n")})
    origin = net.add("www.example-a.test", PUBLIC, s.server.server_address)
    client = Client()  # the default FetchConfig: guard on, nothing allowed
    r = client.fetch(origin + "/robots.txt")
    client.close()
    assert r.status == 200 and r.error is None and b"Disallow: /private" in r.body
    assert net.connects == [(PUBLIC, 80)]


def test_fetch_signals_cli_with_default_flags(net, site, tmp_path: Path, monkeypatch, capsys) -> None:
    s = site(
        {
            "/robots.txt": ok(b"User-agent: GPTBot\nDisallow: /\n"),
            "/.well-known/tdmrep.json": ok(b'[{"location": "/", "tdm-reservation": 1}]'),
        }
    )
    origin = net.add("www.example-a.test", PUBLIC, s.server.server_address)
    store = tmp_path / "p.duckdb"
    code, out, err = run_cli(monkeypatch, capsys, "fetch-signals", origin, "--store", str(store), "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["fetched"] == 1 and stats["robots_outcomes"] == {"parsed": 1}, stats
    with Store.open(store) as st:
        decision = api.check(origin + "/page", "GPTBot", store=st)
        runs = st.query("SELECT status FROM runs WHERE command = 'fetch-signals'").column(0).to_pylist()
    assert decision.verdict == "reserved" and runs == ["ok"]
    assert set(s.hits) == {"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"}


def test_checker_live_with_default_config(net, site, tmp_path: Path) -> None:
    from scanner.hook.checker import Checker

    s = site({"/robots.txt": ok(b"User-agent: GPTBot\nDisallow: /\n")})
    origin = net.add("www.example-a.test", PUBLIC, s.server.server_address)
    store = tmp_path / "empty.duckdb"
    Store.open(store).close()
    live = Checker(store, live=True)  # no fetch_config: the default one
    decision = live.check(origin + "/a", "GPTBot")
    assert decision.verdict == "reserved", decision
    assert len(s.hits["/robots.txt"]) == 1


def test_default_config_is_what_the_readme_says() -> None:
    c = FetchConfig()
    assert (c.connect_timeout, c.read_timeout, c.deadline, c.max_bytes, c.max_redirects) == (5, 10, 30, 1 << 20, 5)
    assert c.allow_networks == () and c.host_interval == 1.0


@pytest.fixture
def tls_site(site, tmp_path: Path):
    """A TLS server with a certificate for secure.example.test (made with openssl here)."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=secure.example.test",
         "-addext", "subjectAltName=DNS:secure.example.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return site({"/robots.txt": ok(b"User-agent: *\nDisallow: /tls\n")}, tls=ctx), cert


def test_https_checks_the_certificate_against_the_host_name(net, tls_site) -> None:
    # the guard connects to the address it checked, but Host, SNI and the certificate are the name's
    s, cert = tls_site
    net.add("secure.example.test", PUBLIC, s.server.server_address, port=443)
    trusted = Client(FetchConfig(ca_bundle=str(cert), retries=0))
    r = trusted.fetch("https://secure.example.test/robots.txt")
    trusted.close()
    assert r.status == 200 and b"Disallow: /tls" in r.body, r.error
    default = Client(FetchConfig(retries=0))  # the system's CAs do not know our test certificate
    r = default.fetch("https://secure.example.test/robots.txt")
    default.close()
    assert r.status is None and "certificate" in r.error.lower(), r.error
