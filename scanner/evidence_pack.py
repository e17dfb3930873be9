"""Evidence packs: what a legal team hands over. One zip with the raw artefacts exactly as stored,
the decision with its reasons and policy version, a readable index, and a SHA256SUMS manifest that
anyone can re-check offline (`sha256sum -c SHA256SUMS`, or `provenance evidence verify`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime
from pathlib import Path

from scanner import api
from scanner.errors import InputError
from scanner.store import Store

_SUFFIX = {
    "robots.txt": "txt",
    "ai.txt": "txt",
    "tdmrep.json": "json",
    "headers": "json",
    "html-meta": "json",
    "rsl": "xml",
}


def export_pack(
    store: Store,
    target: str,
    out: Path,
    *,
    agent: str | None = None,
    as_of: datetime | None = None,
    policy: str = "any-ai-trainer",
) -> dict:
    report = api.status(target, agent, store=store, as_of=as_of, policy=policy)
    files: dict[str, bytes] = {}
    listed = []
    for i, ev in enumerate(report["evidence"], start=1):
        body = _blob(store, ev["sha256"])  # the exact bytes, not the decoded text
        name = f"artefacts/{i:02d}-{ev['kind'].replace('.', '-')}-{ev['sha256'][:12]}.{_SUFFIX.get(ev['kind'], 'bin')}"
        files[name] = body
        listed.append(
            {
                "file": name,
                "kind": ev["kind"],
                "url": ev["url"],
                "observed_at": ev["observed_at"],
                "http_status": ev["http_status"],
                "sha256": ev["sha256"],
            }
        )
    decision = report["decision"]
    files["decision.json"] = json.dumps(
        {
            "target": target,
            "agent": agent,
            "as_of": as_of,
            "policy": policy,
            "decision": decision,
            "evidence": listed,
        },
        indent=2,
        default=str,
    ).encode()
    files["INDEX.md"] = _index(target, agent, as_of, decision, listed).encode()
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(files.items()))
    from scanner.export import atomic_file  # read-only folder, disk full: one line, no half zip

    with atomic_file(out) as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in sorted(files.items()):
            zf.writestr(name, body)
        zf.writestr("SHA256SUMS", sums)
    return {
        "pack": str(out),
        "verdict": decision["verdict"],
        "artefacts": len(listed),
        "files": len(files) + 1,
    }


def _blob(store: Store, sha256: str) -> bytes:
    rows = store.query("SELECT body FROM evidence WHERE sha256 = ?", [sha256]).column(0).to_pylist()
    return rows[0]


def _index(target, agent, as_of, decision, listed) -> str:
    lines = [
        f"# Evidence pack: {target}",
        "",
        f"- Question: may `{target}` be used for AI training{f' by {agent}' if agent else ''}"
        f"{f', as of {as_of.isoformat()}' if as_of else ''}?",
        f"- Verdict: **{decision['verdict']}** under policy `{decision['policy']}` version "
        f"{decision['policy_version']} (usage `{decision['usage']}`)",
        f"- Protocols checked: {', '.join(decision['checked']) or 'none'}",
        "",
        "## Reasons",
        "",
    ]
    for r in decision["reasons"]:
        lines.append(
            f"- {r['statement']} by {r['signal']}: {r['detail']} ({r['locator']}; agents "
            f"{', '.join(r['agents'])}; confidence {r['confidence']}; evidence {r['evidence_sha256']}; "
            f"observed {r['observed_at']})"
        )
    if not decision["reasons"]:
        lines.append("- none")
    lines += ["", "## Artefacts (exact bytes as observed)", ""]
    for e in listed:
        lines.append(
            f"- `{e['file']}`: {e['kind']} from {e['url']}, observed {e['observed_at']}, HTTP "
            f"{e['http_status']}, sha256 {e['sha256']}"
        )
    lines += [
        "",
        "Verify: `sha256sum -c SHA256SUMS` in the unzipped folder, or `provenance evidence verify "
        "PACK.zip`. Each artefact's file name carries the start of its sha256, which is also its "
        "address in the provenance store.",
        "",
    ]
    return "\n".join(lines)


def verify_pack(path: Path) -> list[str]:
    """Problems found (empty: the pack is intact): every file listed, every checksum equal, every
    artefact's content matching the sha256 it is named by."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(str(path), f"not a readable zip: {exc}") from exc
    problems = []
    with zf:
        names = set(zf.namelist())
        if "SHA256SUMS" not in names:
            return ["SHA256SUMS missing"]
        listed = {}
        for line in zf.read("SHA256SUMS").decode().splitlines():
            digest, _, name = line.partition("  ")
            listed[name] = digest
        for name in sorted(names - {"SHA256SUMS"}):
            if name not in listed:
                problems.append(f"{name}: not in SHA256SUMS")
                continue
            digest = hashlib.sha256(zf.read(name)).hexdigest()
            if digest != listed[name]:
                problems.append(f"{name}: checksum differs")
        problems += [f"{name}: listed but absent" for name in sorted(set(listed) - names)]
        decision = json.loads(zf.read("decision.json"))
        for ev in decision["evidence"]:
            if ev["file"] in names and hashlib.sha256(zf.read(ev["file"])).hexdigest() != ev["sha256"]:
                problems.append(f"{ev['file']}: content is not the evidence {ev['sha256']}")
    return problems
