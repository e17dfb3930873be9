"""Proxies: the environment's are ignored; an explicit one is guarded, and so is each target."""

from __future__ import annotations

import pytest

from crawlers.http import Client, FetchConfig
from tests._public_net import public_net, run_cli
from tests._sites import ok
from tests._sites import site as _site_fixture

site = _site_fixture
TARGET, PROXY = "93.184.215.14", "93.184.215.30"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, site):
    target = site({"/robots.txt": ok(b"User-agent: *\nDisallow: /direct\n")})
    proxy = site({"http://www.example-a.test/robots.txt": ok(b"User-agent: *\nDisallow: /via-proxy\n")})
    with public_net(monkeypatch) as net:
        net.add("www.example-a.test", TARGET, target.server.server_address)
        net.add("proxy.example.test", PROXY, proxy.server.server_address, port=3128)
        net.alias("intranet.example.test", "10.0.0.1")
        net.alias("proxy.internal.test", "10.1.1.1")
        yield net, target, proxy


def test_environment_proxies_are_ignored(world, monkeypatch: pytest.MonkeyPatch) -> None:
    net, _target, proxy = world
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://proxy.example.test:3128")
    client = Client()  # the default
    r = client.fetch("http://www.example-a.test/robots.txt")
    client.close()
    assert r.status == 200 and b"/direct" in r.body
    assert proxy.hits == {} and net.connects == [(TARGET, 80)]


def test_explicit_proxy_is_used_and_the_target_checked_first(world) -> None:
    net, target, proxy = world
    client = Client(FetchConfig(proxy="http://proxy.example.test:3128", retries=0))
    r = client.fetch("http://www.example-a.test/robots.txt")
    assert r.status == 200 and b"/via-proxy" in r.body
    assert list(proxy.hits) == ["http://www.example-a.test/robots.txt"] and target.hits == {}
    assert "www.example-a.test" in net.lookups  # resolved here, to be checked, before the proxy was asked
    r = client.fetch("http://intranet.example.test/admin")
    assert r.status is None and r.error.startswith("refused") and "10.0.0.1" in r.error
    assert "http://intranet.example.test/admin" not in proxy.hits
    client.close()
    assert net.connects == [(PROXY, 3128)]


def test_a_proxy_at_a_private_address_is_refused(world) -> None:
    net, _target, _proxy = world
    client = Client(FetchConfig(proxy="http://proxy.internal.test:3128", retries=0))
    r = client.fetch("http://www.example-a.test/robots.txt")
    client.close()
    assert r.status is None and r.error.startswith("refused") and "10.1.1.1" in r.error
    assert net.connects == []


def test_cli_proxy_and_allow_network_mistakes_are_one_line(world, tmp_path, monkeypatch, capsys) -> None:
    store = str(tmp_path / "p.duckdb")
    code, _, err = run_cli(monkeypatch, capsys, "fetch-signals", "x.test", "--proxy", "ftp://p", "--store", store)
    assert code == 2 and err.startswith("error: --proxy") and "Traceback" not in err
    code, _out, err = run_cli(
        monkeypatch, capsys, "fetch-signals", "x.test", "--allow-network", "10.0.0.0/99", "--store", store
    )
    assert code == 2 and err.startswith("error: --allow-network") and "Traceback" not in err
