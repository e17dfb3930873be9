"""PDF through headless Chromium (Debian's `chromium`): the HTML page printed on A4 with no
browser header or footer. The page is a local file with no scripts and no remote resources."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from scanner.errors import ScannerError

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def html_to_pdf(page_html: str, target: Path, *, timeout: float = 120) -> Path:
    browser = chromium()
    if not browser:
        raise ScannerError("--format pdf needs Chromium: install it (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="provenance-pdf-") as tmp:
        page = Path(tmp) / "summary.html"
        page.write_text(page_html, encoding="utf-8")
        out = Path(tmp) / "summary.pdf"
        cmd = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise ScannerError(f"chromium did not finish printing the PDF within {timeout:.0f} s") from exc
        if not out.exists() or out.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise ScannerError(f"chromium could not print the PDF: {tail[0]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(out), target)
    return target
