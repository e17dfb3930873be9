"""Renderers of a summary document: Markdown, public JSON, one self-contained printable HTML page.

A draft shows DRAFT on every page with each field's id and where its value came from; a final
shows the template's questions and answers only. Exact figures (the appendix) never enter the
public rendering; `appendix_json` writes them for internal use.
"""

from __future__ import annotations

import html
import json

SOURCE_NOTE = {
    "store": "computed from the provenance store",
    "manifest": "from the manifest",
    "attestation": "attestation by the provider",
    "draft": "drafted from measured facts: review",
    "missing": "missing",
}
TO_BE_PROVIDED = "To be provided"


def public_view(doc: dict) -> dict:
    """The document as published: no internal appendix, no review notes in a final."""
    out = {k: v for k, v in doc.items() if k not in ("appendix", "review")}
    if doc.get("status") == "final":
        out["sections"] = [
            {
                **s,
                "fields": [
                    {k: v for k, v in f.items() if k not in ("note", "source", "required")} for f in s["fields"]
                ],
            }
            for s in doc["sections"]
        ]
        out.pop("measurement_basis", None)
    return out


def to_json(doc: dict) -> str:
    return json.dumps(public_view(doc), indent=2, ensure_ascii=False, default=str) + "\n"


def appendix_json(doc: dict) -> str:
    return (
        json.dumps(
            {"internal": True, "status": doc.get("status"), "version": doc.get("version"), **doc.get("appendix", {})},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
        + "\n"
    )


def _title(doc: dict) -> str:
    models = ", ".join(doc.get("models") or []) or "model not named"
    return f"Public summary of training content: {doc.get('provider', '')}, {models}"


def _is_draft(doc: dict) -> bool:
    return doc.get("status") != "final"


def _boxes(value: dict) -> str:
    out = []
    for b in value["checkboxes"]:
        mark = "☒" if b["checked"] else "☐"
        extra = ""
        if b["label"] == "Other":
            extra = f" (please specify: {b.get('specify') or '—'})" if b["checked"] else " (please specify)"
        out.append(f"{mark} {b['label']}{extra}")
    return "  ".join(out)


def _version_text(value: dict) -> str:
    head = value["version"] or "DRAFT (no public version number)"
    prev = value.get("previous") or []
    if not prev:
        return f"{head}. Previous versions: none."
    listed = "; ".join(
        f"version {p['version']}" + (f" of {p['date']}" if p.get("date") else "") + f": {p['url']}" for p in prev
    )
    return f"{head}. Previous versions: {listed}."


def _plain(f: dict) -> str:
    value = f["value"]
    if value is None:
        return TO_BE_PROVIDED
    if f["id"] == "0.a":
        return _version_text(value)
    if isinstance(value, dict) and "checkboxes" in value:
        return _boxes(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) if value else "None"
    if f.get("source") == "attestation" or f["label"].endswith("?"):
        return TO_BE_PROVIDED if value == "to be provided" else str(value).capitalize()
    return str(value)


# -- Markdown ------------------------------------------------------------------------------------
def to_markdown(doc: dict) -> str:
    draft = _is_draft(doc)
    out = [f"# {_title(doc)}", ""]
    if draft:
        out += ["**DRAFT: not for publication.** Field ids and the source of each answer are shown for review.", ""]
        problems = (doc.get("review") or {}).get("problems_before_final") or []
        if problems:
            out += [f"Before `--final`, fix ({len(problems)}):", "", *[f"- {p}" for p in problems], ""]
    out += [f"*{doc['template_name']}.*", ""]
    for section in doc["sections"]:
        out += [f"## {section['title']}", ""]
        if section.get("guidance"):
            out += [f"*{section['guidance']}*", ""]
        for f in section["fields"]:
            out += [f"**{f['label']}**", "", *_markdown_value(f, doc)]
            if draft:
                note = f" — {f['note']}" if f.get("note") else ""
                out += [f"<sub>{f['id']} · {SOURCE_NOTE[f['source']]}{note}</sub>", ""]
    return "\n".join(out)


def _markdown_value(f: dict, doc: dict) -> list[str]:
    value = f["value"]
    if value is None and not f.get("required", True):
        return ["None.", ""]
    if value is None:
        return [f"*{TO_BE_PROVIDED}*", ""]
    if f["id"] == "1.3.a":
        rows = ["| Modality | Training data size | Types of content |", "| --- | --- | --- |"]
        for r in value:
            mark = "☒" if r["present"] else "☐"
            size = (r["training_data_size"] or "") + (f" ({r['measured']})" if r.get("measured") else "")
            types = r["types_of_content"] or (f"*{TO_BE_PROVIDED}*" if r["present"] else "")
            rows.append(f"| {mark} {r['modality']} | {size} | {types} |")
        return [*rows, ""]
    if f["id"] == "2.3.h":
        sizes = value.get("sizes")
        if sizes:
            rows = ["| Rank | Domain | Size (bytes) |", "| --- | --- | --- |"]
            rows += [f"| {i} | {d} | {s:,} |" for i, (d, s) in enumerate(zip(value["domains"], sizes, strict=True), 1)]
        else:
            rows = [f"{i}. {d}" for i, d in enumerate(value["domains"], 1)]
        return [*rows, "", _domains_footer(value), ""]
    if isinstance(value, list) and len(value) > 1:
        return [*(f"- {v}" for v in value), ""]
    text = _plain(f)
    return [f"*{text}*" if text == TO_BE_PROVIDED else text, ""]


def _domains_footer(value: dict) -> str:
    n = len(value["domains"])
    return (
        f"{n} {'domain' if n == 1 else 'domains'} listed of {value['total_domains']} crawled "
        f"({value['rule']}); ranked by {value['metric']}."
    )


# -- HTML ----------------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1d2330;background:#fff}
h1{font-size:1.55rem;margin-bottom:.3rem}
h2{font-size:1.3rem;margin-top:2rem;border-bottom:2px solid #1d2330;padding-bottom:.25rem}
section.sub h2{font-size:1.1rem;margin-top:1.4rem;border-bottom:1px solid #dde3ee}
.guidance{font-style:italic;color:#4a5366;margin:.2rem 0 .8rem}
.meta{color:#5a6478;font-size:.88rem}.field{margin:.8rem 0 1.1rem}.label{font-weight:600}
.value{margin:.25rem 0;white-space:pre-line}.tag{font-size:.75rem;color:#5a6478}.tag b{font-weight:600}
.tbp{display:inline-block;border:1.5px dashed #b04a00;color:#b04a00;background:#fff4ea;padding:0 .4rem;
font-style:italic;font-weight:600}
.answer{font-weight:700}
.draft-banner{background:#fff1c2;border:2px solid #c99700;color:#5c4500;padding:.4rem .7rem;font-weight:700;
margin:.5rem 0 1rem}
.draft-mark{display:none}
.problems{font-size:.85rem;background:#fafbfd;border:1px solid #dde3ee;padding:.4rem .8rem}
table{border-collapse:collapse;margin:.4rem 0;width:100%}th,td{border:1px solid #c9d1df;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#eef2f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
ol.domains{columns:3;column-gap:2rem;margin:.3rem 0;padding-left:2.2rem}
.box{white-space:nowrap;margin-right:1.1rem}
@page{size:A4;margin:18mm 16mm 18mm 16mm}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:10.5pt}
 h2,.guidance{break-after:avoid;page-break-after:avoid}
 .field,.keep{break-inside:avoid;page-break-inside:avoid}
 .label{break-after:avoid;page-break-after:avoid}
 table,ol.domains{break-inside:auto}tr{break-inside:avoid}
 nav{display:none}
 .draft-mark{display:block;position:fixed;bottom:0;right:0;font:700 9pt system-ui,sans-serif;color:#8a6a00;
  border:1px solid #c99700;padding:1mm 2mm;background:#fff8dc}
}
"""


def to_html(doc: dict) -> str:
    e = html.escape
    draft = _is_draft(doc)
    title = _title(doc) + (" (DRAFT)" if draft else "")
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    if draft:
        parts.append('<div class="draft-mark">DRAFT</div>')
    parts += [f"<h1>{e(_title(doc))}</h1>", f'<p class="meta">{e(doc["template_name"])}.</p>']
    if draft:
        parts.append(
            '<div class="draft-banner">DRAFT: not for publication. Field ids and the source of each answer are '
            "shown for review.</div>"
        )
        problems = (doc.get("review") or {}).get("problems_before_final") or []
        if problems:
            parts.append(
                f'<div class="problems"><b>Before --final, fix ({len(problems)}):</b><ul>'
                + "".join(f"<li>{e(p)}</li>" for p in problems)
                + "</ul></div>"
            )
    for section in doc["sections"]:
        level = "sub" if "." in section["id"] else "top"
        head = f"<h2>{e(section['title'])}</h2>"
        if section.get("guidance"):
            head += f'<p class="guidance">{e(section["guidance"])}</p>'
        fields = []
        for f in section["fields"]:
            tag = ""
            if draft:
                note = " — " + e(f["note"]) if f.get("note") else ""
                tag = f'<div class="tag"><b>{e(f["id"])}</b> · {e(SOURCE_NOTE[f["source"]])}{note}</div>'
            fields.append(
                f'<div class="field" id="f{e(f["id"])}"><div class="label">{e(f["label"])}</div>'
                f'<div class="value">{_html_value(f)}</div>{tag}</div>'
            )
        # the heading is printed on the same page as its first question
        first = fields.pop(0) if fields else ""
        parts.append(f'<section class="{level}" id="s{e(section["id"])}"><div class="keep">{head}{first}</div>')
        parts += fields
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _tbp() -> str:
    return f'<span class="tbp">{TO_BE_PROVIDED}</span>'


def _html_value(f: dict) -> str:
    e = html.escape
    value = f["value"]
    if value is None and not f.get("required", True):
        return "None."
    if value is None or value == "to be provided":
        return _tbp()
    if f["id"] == "1.3.a":
        rows = ""
        for r in value:
            mark = "☒" if r["present"] else "☐"
            size = e(r["training_data_size"] or "") + (f" ({e(r['measured'])})" if r.get("measured") else "")
            types = e(r["types_of_content"]) if r["types_of_content"] else (_tbp() if r["present"] else "")
            rows += f"<tr><td>{mark} {e(r['modality'])}</td><td>{size}</td><td>{types}</td></tr>"
        return (
            "<table><thead><tr><th>Modality</th><th>Training data size</th><th>Types of content</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    if f["id"] == "2.3.h":
        sizes = value.get("sizes")
        if sizes:
            body = "".join(
                f'<tr><td class="num">{i}</td><td>{e(d)}</td><td class="num">{s:,}</td></tr>'
                for i, (d, s) in enumerate(zip(value["domains"], sizes, strict=True), 1)
            )
            listing = (
                '<table id="top-domains"><thead><tr><th>Rank</th><th>Domain</th><th>Size (bytes)</th></tr></thead>'
                f"<tbody>{body}</tbody></table>"
            )
        else:
            listing = (
                '<ol class="domains" id="top-domains">'
                + "".join(f"<li>{e(d)}</li>" for d in value["domains"])
                + "</ol>"
            )
        return f"{listing}<p>{e(_domains_footer(value))}</p>"
    if isinstance(value, dict) and "checkboxes" in value:
        return "".join(f'<span class="box">{e(b)}</span>' for b in _boxes(value).split("  "))
    if isinstance(value, list) and len(value) > 1:
        return "<ul>" + "".join(f"<li>{e(str(v))}</li>" for v in value) + "</ul>"
    text = _plain(f)
    if f.get("source") == "attestation" or f["label"].endswith("?"):
        return f'<span class="answer">{e(text)}</span>'
    return e(text)
