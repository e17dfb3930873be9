"""Evidence packs against forgery and hostile zips: the verdict re-derived by the engine, Ed25519
signatures, strict member names, capped streaming hashes, and the chain of custody. All through the
real `provenance` command, as counsel's technician runs it."""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests._evidence import cli, edit_decision, members, write_zip
from tests.conftest import copy_demo

AS_OF = "2019-12-01"


@pytest.fixture(scope="module")
def made(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a store, a key pair, a signed and an unsigned pack about nytimes.com, made
    once by the real commands."""
    folder = tmp_path_factory.mktemp("packs")
    copy_demo(demo_file, folder)
    assert cli("keys", "init", "keys/signer", cwd=folder).returncode == 0
    for name, extra in (("signed.zip", ["--sign", "keys/signer.key"]), ("unsigned.zip", [])):
        args = ("nytimes.com", "--agent", "GPTBot", "--as-of", AS_OF, "-o", name, *extra)
        proc = cli("evidence-pack", *args, cwd=folder)
        assert proc.returncode == 0, proc.stderr
    return folder


@pytest.fixture
def packs(made: Path, tmp_path: Path) -> Path:
    """A private copy of the keys and packs (tests add their own forgeries next to them)."""
    shutil.copytree(made / "keys", tmp_path / "keys")
    for name in ("signed.zip", "unsigned.zip"):
        shutil.copy(made / name, tmp_path / name)
    return tmp_path


def verify(folder: Path, pack: str, *extra: str) -> tuple[int, dict]:
    proc = cli("evidence", "verify", pack, "--json", *extra, cwd=folder)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_exit_codes_tell_signed_unsigned_and_untrusted_apart(packs: Path) -> None:
    assert cli("keys", "init", "keys/other", cwd=packs).returncode == 0
    code, doc = verify(packs, "signed.zip", "--key", "keys/signer.pub")
    assert (code, doc["outcome"], doc["trusted"]) == (0, "verified", True)
    assert doc["rederived_verdict"] == doc["verdict"] == "allowed" and "provenance-scanner" in doc["engine"]
    code, doc = verify(packs, "signed.zip")
    assert (code, doc["outcome"]) == (5, "untrusted")
    code, doc = verify(packs, "unsigned.zip")
    assert (code, doc["summary"]) == (4, "consistent, unsigned")
    code, doc = verify(packs, "signed.zip", "--key", "keys/other.pub")
    assert code == 3 and any("not the trusted key" in p for p in doc["problems"])
    code, doc = verify(packs, "unsigned.zip", "--key", "keys/signer.pub")
    assert code == 3 and any("not signed" in p for p in doc["problems"])
    text = cli("evidence", "verify", "unsigned.zip", cwd=packs)
    assert text.returncode == 4 and "consistent, unsigned" in text.stdout and "re-derived with" in text.stdout
    # keys are never overwritten
    again = cli("keys", "init", "keys/signer", cwd=packs)
    assert again.returncode == 2 and again.stderr.startswith("error:") and "exists already" in again.stderr


def test_flipped_verdict_with_recomputed_sums_is_caught_by_rederivation(packs: Path) -> None:
    def flip(doc):
        doc["decision"]["verdict"] = "reserved"

    write_zip(packs / "flip.zip", edit_decision(members(packs / "unsigned.zip"), flip), resum=True)
    code, doc = verify(packs, "flip.zip")
    assert code == 3 and doc["verdict"] == "reserved" and doc["rederived_verdict"] == "allowed"
    assert any("re-derives 'allowed'" in p for p in doc["problems"])


def test_consistent_rewrite_of_artefact_hash_and_verdict_fails_the_signature(packs: Path) -> None:
    """A forger who rewrites the robots.txt, its sha256 and the verdict consistently makes a pack
    the engine agrees with; only the signature shows the rewrite."""
    entries = members(packs / "signed.zip")
    art = next(n for n, _ in entries if n.startswith("artefacts/"))
    forged_body = b"User-agent: GPTBot\nDisallow: /\n"
    sha = hashlib.sha256(forged_body).hexdigest()
    entries = [(n, forged_body if n == art else b) for n, b in entries]

    # the forger runs the engine too, so the decision they write re-derives
    from datetime import datetime

    from scanner.decide import Artefact, Evidence, decide, make_policy

    doc = json.loads(dict(entries)["decision.json"])
    e = doc["evidence"][0]
    forged = decide(
        doc["question"]["url"],
        Evidence(
            robots=Artefact("robots.txt", e["url"], forged_body, sha, datetime.fromisoformat(e["observed_at"]), 200),
            reference_time=datetime.fromisoformat(doc["reference_time"]),
        ),
        make_policy("any-ai-trainer", agent="GPTBot"),
    ).as_dict()

    def rewrite(d):
        d["decision"] = forged
        d["evidence"][0]["sha256"] = sha

    entries = edit_decision(entries, rewrite)
    write_zip(packs / "forged.zip", entries, resum=True)
    code, doc = verify(packs, "forged.zip", "--key", "keys/signer.pub")
    assert code == 3 and doc["rederived_verdict"] == doc["verdict"] == "reserved"
    assert doc["problems"] == [
        "SIGNATURE: does not match SHA256SUMS (the manifest or the pack was changed after signing)"
    ]
    # without the signature the same forgery is merely "consistent, unsigned": not "verified"
    write_zip(packs / "forged-unsigned.zip", [(n, b) for n, b in entries if n != "SIGNATURE"], resum=True)
    assert verify(packs, "forged-unsigned.zip")[0] == 4


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the forged zip is meant to have one
def test_duplicate_member_and_dropped_artefact_are_problems(packs: Path) -> None:
    entries = members(packs / "unsigned.zip")
    decision = dict(entries)["decision.json"]
    write_zip(packs / "twice.zip", [*entries, ("decision.json", decision)])
    code, doc = verify(packs, "twice.zip")
    assert code == 3 and "decision.json: appears more than once in the zip" in doc["problems"]

    dropped = [(n, b) for n, b in entries if not n.startswith("artefacts/")]
    write_zip(packs / "dropped.zip", dropped, resum=True)
    code, doc = verify(packs, "dropped.zip")
    assert code == 3
    assert any("cited artefact" in p and "missing from the pack" in p for p in doc["problems"])
    assert any("no artefact in the pack holds" in p for p in doc["problems"])


def test_top_level_policy_must_agree_with_the_decisions(packs: Path) -> None:
    doc = json.loads(dict(members(packs / "unsigned.zip"))["decision.json"])
    assert doc["policy"]["name"] == doc["decision"]["policy"] == "agent:gptbot"

    def lie(d):
        d["policy"] = "any-ai-trainer"

    write_zip(packs / "policy.zip", edit_decision(members(packs / "unsigned.zip"), lie), resum=True)
    code, doc = verify(packs, "policy.zip")
    assert code == 3 and any("top-level policy 'any-ai-trainer'" in p for p in doc["problems"])


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../evil.txt", "'..' in path"),
        ("artefacts/../../evil.txt", "'..' in path"),
        ("/etc/evil.txt", "absolute path"),
        ("C:/evil.txt", "absolute path"),
        ("..\\evil.txt", "'..' in path"),
    ],
)
def test_unsafe_member_names_are_refused(packs: Path, name: str, why: str) -> None:
    write_zip(packs / "bad.zip", [*members(packs / "unsigned.zip"), (name, b"x")])
    code, doc = verify(packs, "bad.zip")
    assert code == 3 and any(p.startswith(repr(name)) and why in p for p in doc["problems"])


def test_symlink_member_is_refused(packs: Path) -> None:
    entries = members(packs / "unsigned.zip")
    with zipfile.ZipFile(packs / "link.zip", "w") as zf:
        for n, b in entries:
            zf.writestr(n, b)
        link = zipfile.ZipInfo("artefacts/passwd")
        link.external_attr = (0o120777 << 16) | 0x20
        link.create_system = 3
        zf.writestr(link, "/etc/passwd")
    code, doc = verify(packs, "link.zip")
    assert code == 3 and "artefacts/passwd: refused, a symbolic link" in doc["problems"]


def test_huge_member_is_hashed_under_a_cap_in_bounded_memory(packs: Path) -> None:
    """A 512 MiB member that deflates to a few MB: reading it whole would take more memory than
    the process is allowed to reach here."""
    shutil.copy(packs / "unsigned.zip", packs / "bomb.zip")
    with (
        zipfile.ZipFile(packs / "bomb.zip", "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("artefacts/99-big.txt", "w", force_zip64=True) as f,
    ):
        chunk = bytes(1 << 20)
        for _ in range(512):
            f.write(chunk)
    assert (packs / "bomb.zip").stat().st_size < 5_000_000
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    code, doc = verify(packs, "bomb.zip")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert code == 3 and any(p.startswith("artefacts/99-big.txt: larger than") for p in doc["problems"])
    assert peak_kib < 400 * 1024 or peak_kib == before, f"verify peaked at {peak_kib} KiB"


def test_malformed_packs_yield_problems_not_tracebacks(packs: Path) -> None:
    entries = members(packs / "unsigned.zip")
    cases = {
        "no-decision.zip": ([(n, b) for n, b in entries if n != "decision.json"], "decision.json missing"),
        "broken-decision.zip": (
            [(n, b"{not json" if n == "decision.json" else b) for n, b in entries],
            "decision.json: not JSON",
        ),
        "list-decision.zip": ([(n, b"[1, 2]" if n == "decision.json" else b) for n, b in entries], "not a JSON object"),
        "latin1-sums.zip": (
            [(n, b + "caf\xe9  x\n".encode("latin-1") if n == "SHA256SUMS" else b) for n, b in entries],
            "SHA256SUMS: not UTF-8",
        ),
        "garbage-sums.zip": (
            [(n, b + b"hello world\n" if n == "SHA256SUMS" else b) for n, b in entries],
            "SHA256SUMS line",
        ),
        "no-sums.zip": ([(n, b) for n, b in entries if n != "SHA256SUMS"], "SHA256SUMS missing"),
    }
    for name, (content, expected) in cases.items():
        write_zip(packs / name, content)
        code, doc = verify(packs, name)
        assert code == 3 and any(expected in p for p in doc["problems"]), (name, doc["problems"])
    (packs / "not-a-zip.zip").write_bytes(b"PK\x03\x04 truncated")
    code, doc = verify(packs, "not-a-zip.zip")
    assert code == 3 and doc["problems"][0].startswith("not a readable zip")
    missing = cli("evidence", "verify", "nowhere.zip", cwd=packs)
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr


def test_binary_mode_sha256sum_lines_are_accepted_and_gnu_tool_agrees(packs: Path) -> None:
    entries = members(packs / "unsigned.zip")
    sums = dict(entries)["SHA256SUMS"].decode().replace("  ", " *")
    write_zip(packs / "binary.zip", [(n, sums.encode() if n == "SHA256SUMS" else b) for n, b in entries])
    assert verify(packs, "binary.zip")[0] == 4
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    out = packs / "unzipped"
    with zipfile.ZipFile(packs / "signed.zip") as zf:
        zf.extractall(out)
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True).returncode == 0


def test_chain_of_custody_lists_every_sighting_with_how_it_was_made(demo_file: Path, tmp_path: Path) -> None:
    copy_demo(demo_file, tmp_path)
    robots = tmp_path / "robots.txt"
    robots.write_bytes(b"User-agent: GPTBot\nDisallow: /\n")
    for when in ("2025-03-01T10:00:00Z", "2025-04-01T10:00:00Z"):
        proc = cli(
            "evidence", "import", "robots.txt", "--url", "https://custody.example/robots.txt",
            "--observed-at", when, "--note", "Wayback Machine capture", cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert cli("evidence-pack", "custody.example", "--as-of", "2025-05-01", "-o", "c.zip", cwd=tmp_path).returncode == 0
    doc = json.loads(dict(members(tmp_path / "c.zip"))["decision.json"])
    assert doc["tool"]["version"] and doc["run_id"] and doc["generated_at"] and doc["engine"]
    assert doc["policy"] == {"name": "any-ai-trainer", "version": "1", "usage": "train-ai"}
    assert doc["decision"]["verdict"] == "reserved"
    seen = doc["evidence"][0]["observations"]
    assert [o["observed_at"][:10] for o in seen] == ["2025-03-01", "2025-04-01"]
    assert all(
        o["via"] == "import" and o["imported_file"] == "robots.txt" and o["note"] == "Wayback Machine capture"
        and o["http_status"] == 200 and o["url"] == "https://custody.example/robots.txt"
        for o in seen
    )  # fmt: skip
    index = dict(members(tmp_path / "c.zip"))["INDEX.md"].decode()
    assert "2025-04-01" in index and "import robots.txt" in index


def test_format_1_packs_still_verify_and_their_policy_mismatch_is_named(packs: Path) -> None:
    """Packs made before format 2 (no question, no roles, the requested policy at the top)."""

    def old(d):
        q = d.pop("question")
        d.update(target=q["target"], agent=q["agent"], as_of=q["as_of"], policy=q["requested_policy"])
        for key in ("format", "tool", "engine", "run_id", "generated_at", "store", "reference_time", "blocklisted"):
            d.pop(key)
        for e in d["evidence"]:
            e.pop("role"), e.pop("observations"), e.pop("size")

    write_zip(packs / "v1.zip", edit_decision(members(packs / "unsigned.zip"), old), resum=True)
    code, doc = verify(packs, "v1.zip")
    assert doc["rederived_verdict"] == doc["verdict"] == "allowed"
    assert code == 3 and doc["problems"] == [
        "decision.json: top-level policy 'any-ai-trainer' is not the decision's 'agent:gptbot'"
    ]
