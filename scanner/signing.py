"""Ed25519 keys and signatures for evidence packs. A checksum manifest shows a pack is consistent;
only a signature by a key the reader trusts shows who made it and that nobody rewrote it since.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner.errors import InputError

ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key_id: str


def key_id(public: Ed25519PublicKey) -> str:
    """Short fingerprint: the first 16 hex digits of the raw public key's sha256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def init_keys(prefix: Path) -> KeyPair:
    """Write PREFIX.key (PKCS#8 PEM, owner-only) and PREFIX.pub (SubjectPublicKeyInfo PEM).
    Never overwrites: a lost signing key cannot be recovered, a replaced one breaks trust."""
    private_path, public_path = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    for p in (private_path, public_path):
        if p.exists():
            raise InputError(str(p), "exists already; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    prefix.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return KeyPair(private_path, public_path, key_id(key.public_key()))


def load_private(path: Path) -> Ed25519PrivateKey:
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(str(path), f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(str(path), "not an Ed25519 key (make one with `provenance keys init`)")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    data = _read(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(str(path), f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(str(path), "not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, message: bytes) -> dict:
    """The SIGNATURE document of a pack: algorithm, key id, public key and signature."""
    public = key.public_key()
    return {
        "algorithm": ALGORITHM,
        "key_id": key_id(public),
        "public_key": base64.b64encode(
            public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        ).decode("ascii"),
        "signed_member": "SHA256SUMS",
        "signature": base64.b64encode(key.sign(message)).decode("ascii"),
    }


def check(signature: dict, message: bytes, trusted: Ed25519PublicKey | None) -> list[str]:
    """Problems with a SIGNATURE document (empty: it signs `message` with the embedded key, and
    that key is `trusted` when one is given)."""
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return [f"SIGNATURE: not an {ALGORITHM} signature document"]
    try:
        raw = base64.b64decode(str(signature.get("public_key", "")), validate=True)
        sig = base64.b64decode(str(signature.get("signature", "")), validate=True)
        embedded = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        return [f"SIGNATURE: unreadable key or signature ({exc})"]
    problems = []
    if trusted is not None and key_id(trusted) != key_id(embedded):
        problems.append(f"SIGNATURE: made with key {key_id(embedded)}, not the trusted key {key_id(trusted)}")
    try:
        (trusted or embedded).verify(sig, message)
    except InvalidSignature:
        problems.append("SIGNATURE: does not match SHA256SUMS (the manifest or the pack was changed after signing)")
    return problems


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
