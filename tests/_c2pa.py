"""Real C2PA-signed assets for tests: a PNG signed by the official C2PA SDK (c2pa-python) with a
test certificate chain made here (a root CA and an ES256 end-entity certificate)."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from functools import cache

import pytest

c2pa = pytest.importorskip("c2pa", reason="c2pa-python (the [c2pa] extra) is not installed")

from cryptography import x509  # noqa: E402  (a dependency of c2pa-python)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def png(width: int = 8, height: int = 8) -> bytes:
    """A small valid RGB PNG."""
    rows = b"".join(
        b"\x00" + b"".join(bytes([x * 30 % 256, y * 30 % 256, 128]) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _usage(**on: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement")
    names += ("key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


@cache
def credentials() -> tuple[bytes, bytes, str]:
    """(certificate chain PEM, private key PEM, trust anchor PEM)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Provenance Test Root")])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Provenance Test Signer")])

    def cert(subject, public, ca: bool, *extra) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        )
        for ext in extra:
            builder = builder.add_extension(ext, critical=isinstance(ext, x509.KeyUsage))
        return builder.sign(ca_key, hashes.SHA256())

    root = cert(ca_name, ca_key.public_key(), True, _usage(key_cert_sign=True, crl_sign=True))
    leaf = cert(
        name,
        key.public_key(),
        False,
        _usage(digital_signature=True),
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
    )
    pem = serialization.Encoding.PEM
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return leaf.public_bytes(pem) + root.public_bytes(pem), private, root.public_bytes(pem).decode()


def signed_png(label: str, data: dict, *, tamper: bool = False) -> bytes:
    """A PNG whose active manifest holds `data` under `label`; `tamper` flips a pixel byte after
    signing, so the hard binding (data hash) no longer holds."""
    chain, key, _ = credentials()
    manifest = {
        "claim_generator_info": [{"name": "provenance-scanner-tests", "version": "1"}],
        "title": "asset.png",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": _CAPTURE}]}},
            {"label": label, "data": data},
        ],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/png", io.BytesIO(png()), out)
    body = bytearray(out.getvalue())
    if tamper:
        body[body.find(b"IDAT") + 10] ^= 0xFF
    return bytes(body)
