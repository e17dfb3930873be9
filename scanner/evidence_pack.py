"""Evidence packs: what a legal team hands over. One zip with the raw artefacts exactly as stored,
the decision with its reasons and policy version, each artefact's chain of custody (every sighting:
how, where, when, with what status), a readable index, a SHA256SUMS manifest that anyone can
re-check offline (`sha256sum -c SHA256SUMS`), and optionally an Ed25519 SIGNATURE over it.

`verify_pack` reads a pack as hostile input: strict member names, streamed and capped hashing,
and every fault reported as a problem, never raised. It re-derives the verdict from the pack's own
artefacts with this engine, so a pack whose decision was rewritten does not verify; a signature by
a trusted key is what shows that the artefacts themselves were not rewritten too.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from scanner.decide import POLICY_VERSION, PolicyName, decide, make_policy
from scanner.errors import InputError
from scanner.evidence_model import Artefact, Evidence, EvidenceKind
from scanner.store import Store
from scanner.version import __version__

FORMAT = "provenance-evidence-pack/2"
MEMBER_CAP = 16 * 1024 * 1024  # bytes read of one member: robots.txt files are capped at 500 KiB
TOTAL_CAP = 256 * 1024 * 1024  # bytes read of the whole pack
MAX_MEMBERS = 2000
_CHUNK = 1 << 20

_SUFFIX: dict[str, str] = {
    EvidenceKind.ROBOTS_TXT: "txt",
    EvidenceKind.AI_TXT: "txt",
    EvidenceKind.TDMREP_JSON: "json",
    EvidenceKind.HEADERS: "json",
    EvidenceKind.HTML_META: "json",
    EvidenceKind.RSL: "xml",
}


class Outcome(IntEnum):
    """`provenance evidence verify` exit codes."""

    VERIFIED = 0  # consistent, and signed by the trusted key given with --key
    PROBLEMS = 3  # tampered, malformed, or the verdict does not re-derive (README "Exit codes": 3)
    UNSIGNED = 4  # consistent, but nobody vouches for it: no signature
    UNTRUSTED = 5  # consistent and validly signed, but no --key was given to trust the signer


def engine() -> str:
    return f"provenance-scanner {__version__} (decision engine, policy version {POLICY_VERSION})"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, indent=2, default=_json_default, ensure_ascii=False).encode()


# -- export -------------------------------------------------------------------------------------
def export_pack(
    store: Store,
    target: str,
    out: Path,
    *,
    agent: str | None = None,
    as_of: datetime | None = None,
    policy: str = PolicyName.ANY_AI_TRAINER,
    own_token: str | None = None,
    sign_key: Path | None = None,
) -> dict:
    from scanner import api
    from scanner.store import reports

    key = None
    if sign_key is not None:
        from scanner.signing import load_private

        key = load_private(sign_key)  # before any work: a bad key is a user mistake
    j = api.judge(target, agent, store=store, as_of=as_of, policy=policy, own_token=own_token)
    decision = j.decision.as_dict()
    files: dict[str, bytes] = {}
    listed = []
    for i, (role, art) in enumerate(api.artefacts_of(j.evidence), start=1):
        body = reports.evidence_body(store, art.sha256)  # the exact bytes, not the decoded text
        if body is None:
            raise InputError(str(store.path), f"evidence {art.sha256} is referenced but not stored")
        name = f"artefacts/{i:02d}-{art.kind.replace('.', '-')}-{art.sha256[:12]}.{_SUFFIX.get(art.kind, 'bin')}"
        files[name] = body
        listed.append(
            {
                "file": name,
                "role": role,
                "kind": art.kind,
                "url": art.url,
                "observed_at": art.observed_at,
                "http_status": art.http_status,
                "sha256": art.sha256,
                "size": len(body),
                "observations": [_custody(o) for o in reports.sightings(store, art.sha256, art.url, as_of)],
            }
        )
    doc = {
        "format": FORMAT,
        "tool": {"name": "provenance-scanner", "version": __version__},
        "engine": engine(),
        "run_id": uuid.uuid4().hex,
        "generated_at": datetime.now(UTC),
        "store": str(store.path),
        "question": {
            "target": target,
            "url": j.url,
            "origins_tried": list(j.tried),
            "agent": agent,
            "as_of": as_of,
            "judged_at": j.judged_at,
            "requested_policy": policy,
            "own_token": own_token,
        },
        "policy": {"name": j.policy.name, "version": j.policy.version, "usage": j.policy.usage},
        "reference_time": j.evidence.reference_time,
        "blocklisted": list(j.evidence.blocklisted) if j.evidence.blocklisted else None,
        "decision": decision,
        "evidence": listed,
    }
    files["decision.json"] = _dumps(doc)
    files["INDEX.md"] = _index(doc).encode()
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(files.items()))
    files["SHA256SUMS"] = sums.encode()
    if key is not None:
        from scanner.signing import sign

        files["SIGNATURE"] = _dumps(sign(key, files["SHA256SUMS"]))
    from scanner.export import atomic_file  # read-only folder, disk full: one line, no half zip

    with atomic_file(out) as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in sorted(files.items()):
            zf.writestr(name, body)
    return {
        "pack": str(out),
        "url": j.url,
        "verdict": decision["verdict"],
        "policy": j.policy.name,
        "artefacts": len(listed),
        "files": len(files),
        "signed": key is not None,
    }


def _custody(row: dict) -> dict:
    """One sighting as counsel reads it: how we got it and what proves it."""
    via = row["via"]
    seen = {
        "via": via,
        "url": row["url"],
        "observed_at": row["observed_at"],
        "http_status": row["http_status"],
        "obs_id": row["obs_id"],
        "run": {
            "run_id": row["run_id"],
            "command": row["run_command"],
            "started_at": row["run_started_at"],
            "tool_version": row["run_tool_version"],
        },
    }
    headers = json.loads(row["headers"]) if row["headers"] else {}
    locator = row["locator"]
    if via == "live-fetch":
        try:
            fetch = json.loads(locator) if locator else {}
        except ValueError:
            fetch = {"locator": locator}
        seen |= {
            "request_headers": fetch.get("request_headers"),
            "response_headers": headers,
            "final_url": fetch.get("final_url"),
            "redirect_chain": fetch.get("chain"),
            "error": fetch.get("error"),
            "truncated": fetch.get("truncated"),
            "outcome": fetch.get("outcome"),
        }
    elif via == "corpus-record":
        file, _, rest = (locator or "").partition("#")
        offset, _, record_id = rest.partition(" ")
        seen |= {
            "warc_file": file or None,
            "offset": int(offset) if offset.isdigit() else offset or None,
            "record_id": record_id.removeprefix("record=") or None,
            "response_headers": headers,
        }
    else:  # import
        try:
            imported = json.loads(locator) if locator and locator.startswith("{") else {"file": locator}
        except ValueError:
            imported = {"file": locator}
        seen |= {"imported_file": imported.get("file"), "note": imported.get("note")}
    return seen


def _index(doc: dict) -> str:
    q, decision = doc["question"], doc["decision"]
    agent, as_of = q["agent"], q["as_of"]
    lines = [
        f"# Evidence pack: {q['target']}",
        "",
        f"- Question: may `{q['url']}` be used for AI training{f' by {agent}' if agent else ''}"
        f"{f', as of {as_of.isoformat()}' if as_of else ''}?",
        f"- Verdict: **{decision['verdict']}** under policy `{decision['policy']}` version "
        f"{decision['policy_version']} (usage `{decision['usage']}`)",
        f"- Protocols checked: {', '.join(decision['checked']) or 'none'}",
        f"- Made by {doc['engine']}, run {doc['run_id']}, at {doc['generated_at'].isoformat()}",
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
    lines += ["", "## Artefacts (exact bytes as observed) and their sightings", ""]
    for e in doc["evidence"]:
        lines.append(
            f"- `{e['file']}`: {e['kind']} from {e['url']}, observed {e['observed_at']}, HTTP "
            f"{e['http_status']}, sha256 {e['sha256']}"
        )
        for o in e["observations"]:
            where = o.get("warc_file") or o.get("imported_file") or o.get("final_url") or ""
            lines.append(f"  - {o['observed_at']}: {o['via']} {where} HTTP {o['http_status']}")
    lines += [
        "",
        "Verify: `sha256sum -c SHA256SUMS` in the unzipped folder, or `provenance evidence verify "
        "PACK.zip [--key SIGNER.pub]`, which also re-derives the verdict from the artefacts. Each "
        "artefact's file name carries the start of its sha256, which is also its address in the "
        "provenance store.",
        "",
    ]
    return "\n".join(lines)


# -- verify -------------------------------------------------------------------------------------
@dataclass
class Verification:
    """What `verify_pack` found. `problems` empty means the pack is consistent."""

    pack: str
    problems: list[str] = field(default_factory=list)
    engine: str = field(default_factory=engine)
    signed: bool = False
    key_id: str | None = None
    trusted: bool = False  # the signature was checked against a key the reader gave
    verdict: str | None = None  # as decision.json states it
    rederived: str | None = None  # as this engine reads the pack's artefacts

    @property
    def outcome(self) -> Outcome:
        if self.problems:
            return Outcome.PROBLEMS
        if not self.signed:
            return Outcome.UNSIGNED
        return Outcome.VERIFIED if self.trusted else Outcome.UNTRUSTED

    @property
    def summary(self) -> str:
        return {
            Outcome.VERIFIED: f"verified: consistent, signed by trusted key {self.key_id}",
            Outcome.UNSIGNED: "consistent, unsigned",
            Outcome.UNTRUSTED: f"consistent, signed by key {self.key_id} (give --key to check it is the one you trust)",
            Outcome.PROBLEMS: f"{len(self.problems)} problems",
        }[self.outcome]

    def as_dict(self) -> dict:
        return {
            "pack": self.pack,
            "ok": not self.problems,
            "outcome": self.outcome.name.lower(),
            "exit_code": int(self.outcome),
            "summary": self.summary,
            "engine": self.engine,
            "signed": self.signed,
            "key_id": self.key_id,
            "trusted": self.trusted,
            "verdict": self.verdict,
            "rederived_verdict": self.rederived,
            "problems": self.problems,
        }


_SUM_LINE = re.compile(r"([0-9a-fA-F]{64}) ([ *])(.+)")  # GNU text (two spaces) and binary (" *") forms


def _unsafe(name: str) -> str | None:
    """Why a member name is refused, or None."""
    if not name or "\x00" in name:
        return "empty name or NUL in name"
    flat = name.replace("\\", "/")
    if flat.startswith("/") or re.match(r"[A-Za-z]:", flat):
        return "absolute path"
    if ".." in flat.split("/"):
        return "'..' in path (it would land outside the pack)"
    return None


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int], keep: bool) -> tuple[str, bytes | None]:
    """sha256 of a member read in chunks, never more than MEMBER_CAP bytes (nor the pack's budget).
    Returns (hex digest, body when `keep`). Raises ValueError with the reason."""
    h, n, kept = hashlib.sha256(), 0, []
    try:
        with zf.open(info) as f:
            while chunk := f.read(_CHUNK):
                n += len(chunk)
                budget[0] -= len(chunk)
                if n > MEMBER_CAP:
                    raise ValueError(f"larger than {MEMBER_CAP} bytes uncompressed; not read further")
                if budget[0] < 0:
                    raise ValueError(f"the pack holds more than {TOTAL_CAP} bytes uncompressed; not read further")
                h.update(chunk)
                if keep:
                    kept.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise ValueError(f"unreadable ({exc})") from exc
    return h.hexdigest(), b"".join(kept) if keep else None


def verify_pack(path: Path, *, key: Path | None = None) -> Verification:
    """Check a pack: member names, checksums, the signature (against `key` when given), each
    artefact against the sha256 it is cited by, and the verdict re-derived by this engine."""
    trusted = None
    if key is not None:
        from scanner.signing import load_public

        trusted = load_public(key)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    v = Verification(str(path))
    problems = v.problems
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        problems.append(f"not a readable zip: {exc}")
        return v
    with zf:
        digests: dict[str, str] = {}
        bodies: dict[str, bytes] = {}
        seen: set[str] = set()
        budget = [TOTAL_CAP]
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            problems.append(f"{len(infos)} members: more than {MAX_MEMBERS}; only the first are read")
            infos = infos[:MAX_MEMBERS]
        for info in infos:
            name = info.filename
            why = _unsafe(name)
            if why:
                problems.append(f"{name!r}: refused, {why}")
                continue
            if name in seen:
                problems.append(f"{name}: appears more than once in the zip")
                continue
            seen.add(name)
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.append(f"{name}: refused, a symbolic link")
                continue
            if info.is_dir():
                continue  # a safe directory entry carries no content
            try:
                digests[name], body = _stream(zf, info, budget, keep=True)
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            bodies[name] = body or b""
    sums = bodies.get("SHA256SUMS")
    if sums is None:
        problems.append("SHA256SUMS missing" if "SHA256SUMS" not in seen else "SHA256SUMS: not readable")
        listed: dict[str, str] = {}
    else:
        listed = _parse_sums(sums, problems)
    for name in sorted(digests):
        if name in ("SHA256SUMS", "SIGNATURE"):
            continue
        if sums is not None and name not in listed:
            problems.append(f"{name}: not in SHA256SUMS")
        elif name in listed and digests[name] != listed[name]:
            problems.append(f"{name}: checksum differs from SHA256SUMS")
    problems += [f"{name}: listed in SHA256SUMS but absent" for name in sorted(set(listed) - seen)]
    _check_signature(v, bodies, sums, trusted)
    doc = _decision_doc(bodies, seen, problems)
    if doc is not None:
        _check_evidence(v, doc, bodies, digests)
    return v


def _parse_sums(raw: bytes, problems: list[str]) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"SHA256SUMS: not UTF-8 text (byte {exc.start}); checksums not read")
        return {}
    listed: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _SUM_LINE.fullmatch(line.rstrip("\r"))
        if m is None:
            problems.append(f"SHA256SUMS line {n}: not '<sha256>  <name>' nor '<sha256> *<name>'")
            continue
        digest, name = m.group(1).lower(), m.group(3)
        if name in listed:
            problems.append(f"SHA256SUMS line {n}: {name} listed twice")
        listed[name] = digest
    return listed


def _check_signature(v: Verification, bodies: dict[str, bytes], sums: bytes | None, trusted) -> None:
    from scanner.signing import check, key_id

    raw = bodies.get("SIGNATURE")
    if raw is None:
        if trusted is not None:
            v.problems.append(f"the pack is not signed, but --key {key_id(trusted)} was given")
        return
    v.signed = True
    try:
        signature = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        v.problems.append(f"SIGNATURE: not JSON ({exc})")
        return
    if isinstance(signature, dict):
        v.key_id = str(signature.get("key_id")) if signature.get("key_id") else None
    if sums is None:
        v.problems.append("SIGNATURE: nothing to check it against (SHA256SUMS missing)")
        return
    found = check(signature, sums, trusted)
    v.problems += found
    v.trusted = trusted is not None and not found


def _decision_doc(bodies: dict[str, bytes], seen: set[str], problems: list[str]) -> dict | None:
    raw = bodies.get("decision.json")
    if raw is None:
        problems.append("decision.json missing" if "decision.json" not in seen else "decision.json: not readable")
        return None
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"decision.json: not JSON ({exc})")
        return None
    shape = [
        (doc, dict, "the document"),
        (doc.get("decision") if isinstance(doc, dict) else None, dict, "decision"),
        (doc.get("evidence") if isinstance(doc, dict) else None, list, "evidence"),
    ]
    for value, kind, what in shape:
        if not isinstance(value, kind):
            problems.append(f"decision.json: {what} is not a JSON {'object' if kind is dict else 'array'}")
            return None
    if not all(isinstance(e, dict) for e in doc["evidence"]):
        problems.append("decision.json: an evidence entry is not a JSON object")
        return None
    return doc


def _check_evidence(v: Verification, doc: dict, bodies: dict[str, bytes], digests: dict[str, str]) -> None:
    problems = v.problems
    decision = doc["decision"]
    v.verdict = decision.get("verdict") if isinstance(decision.get("verdict"), str) else None
    top = doc.get("policy")
    top_name = top.get("name") if isinstance(top, dict) else top
    if top_name != decision.get("policy"):
        problems.append(
            f"decision.json: top-level policy {top_name!r} is not the decision's {decision.get('policy')!r}"
        )
    held: dict[str, str] = {}  # sha256 of content -> member
    for n, e in enumerate(doc["evidence"], start=1):
        name, claimed = e.get("file"), e.get("sha256")
        if not isinstance(name, str) or name not in digests:
            problems.append(f"decision.json evidence {n}: cited artefact {name!r} is missing from the pack")
            continue
        held[digests[name]] = name
        if digests[name] != claimed:
            problems.append(f"{name}: content is not the evidence {claimed} it is cited as")
    for r in decision.get("reasons") or []:
        sha = r.get("evidence_sha256") if isinstance(r, dict) else None
        if sha and sha not in held:
            problems.append(f"decision.json: a reason cites evidence {sha} that no artefact in the pack holds")
    _rederive(v, doc, bodies)


_ROLE_OF_KIND: dict[str, str] = {
    EvidenceKind.ROBOTS_TXT: "robots",
    EvidenceKind.TDMREP_JSON: "tdmrep",
    EvidenceKind.AI_TXT: "ai_txt",
    EvidenceKind.RSL: "rsl",
}
_COMPARED = ("verdict", "policy", "policy_version", "usage", "checked", "reasons", "licences", "evidence_sha256")


def _rederive(v: Verification, doc: dict, bodies: dict[str, bytes]) -> None:
    """Run the decision again on the pack's own bytes and compare it with decision.json."""
    problems = v.problems
    # packs of format 1 had no `question` and no roles: their fields are read where they were
    question = doc.get("question")
    q: dict = question if isinstance(question, dict) else {}
    decision = doc["decision"]
    url = q.get("url") or decision.get("url")
    requested = q.get("requested_policy") or (doc.get("policy") if isinstance(doc.get("policy"), str) else None)
    try:
        policy = make_policy(
            str(requested or PolicyName.ANY_AI_TRAINER),
            agent=q.get("agent") if q else doc.get("agent"),
            own_token=q.get("own_token"),
        )
        roles: dict[str, list] = {"robots": [], "tdmrep": [], "ai_txt": [], "rsl": [], "resource": []}
        for e in doc["evidence"]:
            body = bodies.get(e.get("file"))
            role = e.get("role") or _ROLE_OF_KIND.get(str(e.get("kind")), "resource")
            if body is None or role not in roles:
                continue
            roles[role].append(
                Artefact(
                    str(e.get("kind")),
                    str(e.get("url")),
                    body,
                    hashlib.sha256(body).hexdigest(),
                    _time(e.get("observed_at")),
                    e.get("http_status"),
                )
            )
        blocked = doc.get("blocklisted")
        evidence = Evidence(
            robots=(roles["robots"] or [None])[0],
            tdmrep=(roles["tdmrep"] or [None])[0],
            ai_txt=(roles["ai_txt"] or [None])[0],
            rsl=tuple(roles["rsl"]),
            resource=tuple(roles["resource"]),
            blocklisted=tuple(blocked) if isinstance(blocked, list) and len(blocked) == 2 else None,
            reference_time=_time(doc.get("reference_time") or doc.get("as_of")),  # format 1: its as_of
        )
        again = json.loads(json.dumps(decide(str(url), evidence, policy).as_dict(), default=_json_default))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        problems.append(f"the verdict could not be re-derived with {v.engine}: {exc}")
        return
    v.rederived = again["verdict"]
    if again["verdict"] != decision.get("verdict"):
        problems.append(
            f"decision.json says {decision.get('verdict')!r}, but {v.engine} re-derives {again['verdict']!r} "
            "from the pack's artefacts"
        )
    differ = [k for k in _COMPARED if k != "verdict" and again.get(k) != decision.get(k)]
    if differ:
        problems.append(f"decision.json's {', '.join(differ)} differ from what {v.engine} re-derives")


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
