"""The one place a summary is built, rendered, written and compared with the last final
(`provenance summary` and `provenance demo` both come here through scanner.api)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scanner.errors import ScannerError
from scanner.manifest import Manifest
from scanner.store import Store
from scanner.summary import RENDERERS, SummaryOptions, diff_summaries, last_final, publish_summary
from scanner.summary.render import appendix_json, to_html

FORMATS = (*RENDERERS, "pdf")


@dataclass(frozen=True, slots=True)
class SummaryResult:
    document: dict
    new_version: bool
    written: list[str] = field(default_factory=list)
    stdout: str | None = None  # the rendering when no output file was asked for
    diff: dict | None = None


def write_summary(
    store: Store,
    manifest: Manifest,
    *,
    formats: tuple[str, ...] = ("md",),
    output: Path | None = None,
    template: str = "eu",
    final: bool = False,
    options: SummaryOptions | None = None,
    diff: bool = False,
) -> SummaryResult:
    """Render `formats` to `output` (a file; with several formats, a prefix whose suffix each
    format replaces). With no output and one text format, the rendering is returned for stdout.
    The exact figures go to `<output>.appendix.json` next to the files, never into them."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ScannerError(f"--format {fmt!r}: use {', '.join(FORMATS)} or all")
    if "pdf" in formats and output is None:
        raise ScannerError("--format pdf writes a file: give -o FILE")
    before = last_final(store)
    doc, new = publish_summary(store, manifest, options or SummaryOptions(), template=template, final=final)
    renderers = _renderers(template)
    written, stdout = [], None
    for fmt in formats:
        if output is None:
            stdout = renderers[fmt](doc)
            continue
        target = output if len(formats) == 1 else output.with_suffix(f".{fmt}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "pdf":
            from scanner.summary.pdf import html_to_pdf

            html_to_pdf(renderers["html"](doc), target)
        else:
            target.write_text(renderers[fmt](doc), encoding="utf-8")
        written.append(str(target))
    if output is not None and doc.get("appendix"):
        internal = output.with_suffix(".appendix.json")
        internal.write_text(appendix_json(doc), encoding="utf-8")
        written.append(str(internal))
    changes = diff_summaries(before, doc) if diff and before and template == "eu" else None
    return SummaryResult(doc, new, written, stdout, changes)


def _renderers(template: str) -> dict:
    if template == "ca-ab2013":
        from scanner.summary import ab2013

        return {"md": ab2013.to_markdown, "json": ab2013.to_json, "html": ab2013.to_html, "pdf": ab2013.to_html}
    return {**RENDERERS, "pdf": to_html}
