"""Helpers for the evidence tests: run the real `provenance` command, rewrite pack zips."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    """`provenance ARGS` in a fresh process, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    env.pop("PROVENANCE_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def cli_json(*args: str, cwd: Path) -> dict:
    """`provenance ARGS --json`, which must succeed: its parsed output."""
    proc = cli(*args, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def members(pack: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(pack) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def write_zip(path: Path, entries: list[tuple[str, bytes]], *, resum: bool = False) -> Path:
    """A zip of (name, body) entries, in order (duplicates allowed); `resum` rewrites SHA256SUMS
    for the new bodies as a forger would."""
    if resum:
        listed = [(n, b) for n, b in sorted(entries) if n not in ("SHA256SUMS", "SIGNATURE")]
        sums = "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in listed)
        entries = [(n, sums.encode() if n == "SHA256SUMS" else b) for n, b in entries]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in entries:
            zf.writestr(zipfile.ZipInfo(name, (2025, 1, 1, 0, 0, 0)), body)
    return path


def edit_decision(entries: list[tuple[str, bytes]], change) -> list[tuple[str, bytes]]:
    out = []
    for name, body in entries:
        if name == "decision.json":
            doc = json.loads(body)
            change(doc)
            body = json.dumps(doc, indent=2).encode()
        out.append((name, body))
    return out
