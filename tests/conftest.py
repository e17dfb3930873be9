"""Shared fixtures. Tests never reach the network: only loopback connections are allowed."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The large public test material lives outside the repository; one variable points at it.
EXT = Path(os.environ.get("PROVENANCE_EXT", REPO.parent / "shared" / "ext"))
DATA = Path(__file__).resolve().parent / "data"


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return host == "localhost"
    return isinstance(address, str | bytes)  # AF_UNIX paths are local


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(method):
        def connect(self, address):
            if not _is_loopback(address):
                raise AssertionError(f"test tried to reach {address!r}: only loopback is allowed")
            return method(self, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))


@pytest.fixture
def ext() -> Path:
    if not EXT.is_dir():
        pytest.skip(f"public test material not found at {EXT} (set PROVENANCE_EXT to ../shared/ext)")
    return EXT


@pytest.fixture
def sample() -> Path:
    from scanner.demo import sample_dir

    return sample_dir()


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store (`provenance demo` on the bundled sample), built once per test run; tests
    take a copy of it (`copy_demo`) so that none sees another's writes."""
    from scanner.demo import run_demo
    from scanner.store import Store

    path = tmp_path_factory.mktemp("demo") / "provenance.duckdb"
    with Store.open(path) as store:
        run_demo(store)
    return path


def copy_demo(demo_file: Path, folder: Path) -> Path:
    target = folder / "provenance.duckdb"
    shutil.copyfile(demo_file, target)
    return target


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from tests import _report

    if _report.LINES:
        terminalreporter.section("conformance")
        for line in _report.LINES:
            terminalreporter.write_line(line)
