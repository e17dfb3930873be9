"""MinHash signatures, computed in numpy over whole batches, bit-identical to datasketch 2.0.

datasketch's default `MinHash(num_perm, seed)` uses the `affine32` scheme: each shingle is hashed
with `sha1_hash32`, pre-mixed with the MurmurHash3 32-bit finaliser, then permuted as
`a·h + b mod 2^32` (odd `a`); the signature is the minimum per permutation. We draw `a` and `b`
exactly as datasketch does (numpy RandomState(seed)), so a signature computed here can be loaded
as `MinHash(num_perm, seed, hashvalues=sig, scheme="affine32")` and queried in a `MinHashLSH`.

Shingles (documented, configurable): lower-cased word n-grams (default 5) of `\\w+` words,
joined by one space and UTF-8 encoded; a text with fewer than n words is one shingle of all its
words; an empty text has no shingles and the empty signature (all 2^32 - 1), as in datasketch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

NUM_PERM = 128
SEED = 1
SHINGLE_WORDS = 5
EMPTY = np.uint32(0xFFFFFFFF)
_FMIX = (np.uint32(16), np.uint32(2246822507), np.uint32(13), np.uint32(3266489909), np.uint32(16))
_WORD = re.compile(r"\w+")
_BLOCK = 8192  # shingles per permutation block: (128 × 8192) uint32 = 4 MiB, cache-friendly


def permutations(num_perm: int = NUM_PERM, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) as datasketch 2.0 draws them for affine32."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def shingles(text: str | None, n: int = SHINGLE_WORDS) -> list[bytes]:
    words = _WORD.findall((text or "").lower())
    if not words:
        return []
    if len(words) <= n:
        return [" ".join(words).encode("utf-8")]
    return list(dict.fromkeys(" ".join(words[i : i + n]).encode("utf-8") for i in range(len(words) - n + 1)))


def _sha1_32(data: bytes) -> int:
    """datasketch.hashfunc.sha1_hash32: the first 4 bytes of SHA-1, little-endian."""
    return int.from_bytes(hashlib.sha1(data).digest()[:4], "little")


def _fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def signatures(
    texts: Sequence[str | None],
    num_perm: int = NUM_PERM,
    seed: int = SEED,
    n: int = SHINGLE_WORDS,
    perms: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """(len(texts), num_perm) uint32 signatures. One permutation block per batch: the shingle
    hashes of all texts side by side, permuted at once, reduced per text with `minimum.reduceat`
    along the contiguous axis."""
    a, b = perms or permutations(num_perm, seed)
    out = np.full((len(texts), num_perm), EMPTY, dtype=np.uint32)
    chunk: list[int] = []  # text indexes whose shingles are in the current block
    hashes: list[int] = []
    counts: list[int] = []

    def flush() -> None:
        if hashes:
            h = _fmix32(np.asarray(hashes, dtype=np.uint32))
            with np.errstate(over="ignore"):
                block = np.multiply.outer(a, h) + b[:, None]  # (num_perm, shingles), wraps mod 2^32
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
            out[chunk] = np.minimum.reduceat(block, starts, axis=1).T
        chunk.clear(), hashes.clear(), counts.clear()

    for i, text in enumerate(texts):
        hs = [_sha1_32(s) for s in shingles(text, n)]
        if not hs:
            continue  # the empty signature
        chunk.append(i)
        hashes.extend(hs)
        counts.append(len(hs))
        if len(hashes) >= _BLOCK:
            flush()
    flush()
    return out


def bands_for(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(b, r) with b·r = num_perm and the S-curve's knee (1/b)^(1/r) at or just below the
    threshold: the most rows that still detect pairs at the threshold (0.8 -> 16×8, 0.5 -> 32×4).
    datasketch's optimiser picks 9×13 for 0.8, which misses most pairs at exactly 0.8."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        if num_perm % r:
            continue
        b = num_perm // r
        if (1 / b) ** (1 / r) <= threshold:
            best = (b, r)
    return best


def band_keys(sigs: np.ndarray, b: int, r: int) -> np.ndarray:
    """(docs, b) uint64 keys: each band's r values mixed into one 64-bit key."""
    rows = sigs[:, : b * r].reshape(len(sigs), b, r).astype(np.uint64)
    key = np.zeros((len(sigs), b), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(r):
            key = (key ^ rows[:, :, j]) * np.uint64(0x100000001B3) + np.uint64(j + 1)
            key ^= key >> np.uint64(29)
    return key


def estimated_jaccard(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise share of equal values: the MinHash estimate of Jaccard similarity."""
    return (x == y).mean(axis=-1)
