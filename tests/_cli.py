"""The real `provenance` command in a fresh process, as a user runs it (for the tests that check
exit codes, stderr and what a second process sees)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    preexec: Callable[[], object] | None = None,
    timeout: int = 300,
) -> subprocess.CompletedProcess[str]:
    """`python -m scanner ARGS` from `cwd`, with this checkout importable and `env` added."""
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        preexec_fn=preexec,
    )


def refused_without_ray(*args: str) -> str:
    """`provenance ARGS` in a process where `import ray` fails, as on a machine without the extra:
    it must exit 2 with the install hint and no traceback. Returns stderr."""
    code = "import sys; sys.modules['ray'] = None; from scanner.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 2, out.stderr
    assert "pip install 'provenance-scanner[ray]'" in out.stderr and "Traceback" not in out.stderr
    return out.stderr
