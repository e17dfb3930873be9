"""Headless Chromium for the HTML-page tests: the page's DOM as the browser built it, and a PNG in
test-output/ for a human look. Same flags as the PDF export (scanner/summary/pdf.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scanner.summary.pdf import CHROMIUM_FLAGS, chromium

PNG = b"\x89PNG\r\n\x1a\n"


def render(page: Path, profile: Path, shot_name: str, *, window: str, min_png: int) -> str:
    """The DOM Chromium built from `page`; also writes test-output/`shot_name` and checks it is a
    PNG of at least `min_png` bytes (a blank page is smaller). Skips when Chromium is absent."""
    browser = chromium()
    if not browser:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    shot = Path("test-output") / shot_name
    shot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [browser, *flags, f"--screenshot={shot.resolve()}", f"--window-size={window}", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > min_png and shot.read_bytes()[:8] == PNG
    return dom
