"""MinHash signatures, computed in numpy over whole batches, bit-identical to datasketch 2.0.

datasketch's `MinHash(num_perm, seed)` uses the `affine32` scheme: each shingle is hashed to 32
bits, pre-mixed with the MurmurHash3 32-bit finaliser, then permuted as `a·h + b mod 2^32` (odd
`a`); the signature is the minimum per permutation. We draw `a` and `b` exactly as datasketch
does (numpy RandomState(seed)), so a signature computed here loads as
`MinHash(num_perm, seed, hashfunc=..., hashvalues=sig, scheme="affine32")` into a `MinHashLSH`.

Two hash profiles, never mixed in one store (the profile is part of the stored parameters):

* `fast` (default): the whole batch is hashed in numpy, no Python call per shingle. Words are
  runs of `[A-Za-z0-9]` and non-ASCII bytes of the UTF-8 text, ASCII-lower-cased; each word gets
  a 64-bit polynomial hash (from one prefix sum over the batch), each n-gram of word hashes is
  combined and mixed, and its top 32 bits are the shingle hash. The scalar twin `shingle_hash`
  hashes one shingle from `fast_shingles(text)` the same way, so
  `MinHash(num_perm, seed, hashfunc=shingle_hash)` fed with `fast_shingles(text)` gives our
  signature bit for bit.
* `sha1`: `\\w+` words of `str.lower()`, each shingle hashed with SHA-1 as datasketch's default
  `sha1_hash32`: bit-identical to a plain `MinHash(num_perm, seed)` fed with `shingles(text)`,
  for comparing with sketches made elsewhere with datasketch defaults. About 6× slower.

Shingles are word n-grams (default 5) joined by one space; a text with fewer than n words is one
shingle of all its words; an empty text has no shingles and the empty signature (all 2^32 - 1),
as in datasketch.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np

if TYPE_CHECKING:  # Arrow is imported where texts are split, never by a worker process
    import pyarrow as pa

Texts: TypeAlias = "Sequence[str | None] | pa.Array | pa.ChunkedArray"

NUM_PERM = 128
SEED = 1
SHINGLE_WORDS = 5
PROFILES = ("fast", "sha1")
EMPTY = np.uint32(0xFFFFFFFF)
_FMIX = (np.uint32(16), np.uint32(2246822507), np.uint32(13), np.uint32(3266489909), np.uint32(16))
_WORD = re.compile(r"\w+")
_TEXT_BATCH = 1 << 20  # bytes of text per part: what one lane (a worker process, or this one) is given at once
_RUN_BYTES = 1 << 18  # bytes of text a part hashes at once, so its temporaries (8 bytes per text byte) stay in a core's
# cache: with the blocks below, 1.10× faster than whole parts and (128 × 8192) blocks (dedup_bench.py --geometry-docs)
_BLOCK = 16384  # shingles per permutation block; narrower ones pay numpy's per-row cost (0.3 ns per product at 2048,
_GROUP = 32  # 0.1 at 8192). Permutations per block: (32 × 16384) uint32 = 2 MiB, one core's L2 here, in one buffer
# reused for the part (blocks allocated afresh, 4 MiB each, cost most with both cores busy)

# fast profile constants
_M64 = (1 << 64) - 1
_P = 0x100000001B3  # odd, so invertible mod 2^64
_P_INV = pow(_P, -1, 1 << 64)
_K = tuple((0x9E3779B97F4A7C15 * (2 * j + 1)) & _M64 for j in range(16))  # per-position word weights
_LOWER = bytes(range(256)).translate(bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"))
_IS_WORD = np.array([chr(c).isalnum() for c in range(128)] + [True] * 128, dtype=bool)
_SPLIT = bytes(c if _IS_WORD[c] else 32 for c in _LOWER)  # bytes.translate table: separators -> space
_WORD_BYTES = bytes(c if _IS_WORD[c] else 0 for c in _LOWER)  # bytes.translate table: lower-cased, separators -> 0


def permutations(num_perm: int = NUM_PERM, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) as datasketch 2.0 draws them for affine32."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _ngrams(words: list, n: int, sep) -> list:
    if not words:
        return []
    if len(words) <= n:
        return [sep.join(words)]
    return list(dict.fromkeys(sep.join(words[i : i + n]) for i in range(len(words) - n + 1)))


def shingles(text: str | None, n: int = SHINGLE_WORDS) -> list[bytes]:
    """The `sha1` profile's shingles (UTF-8 bytes), as fed to datasketch."""
    return [s.encode("utf-8") for s in _ngrams(_WORD.findall((text or "").lower()), n, " ")]


def fast_shingles(text: str | None, n: int = SHINGLE_WORDS) -> list[bytes]:
    """The `fast` profile's shingles (bytes), to feed `MinHash(hashfunc=shingle_hash)`."""
    return _ngrams((text or "").encode("utf-8").translate(_SPLIT).split(), n, b" ")


def _fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _M64
    return x ^ (x >> 33)


def shingle_hash(shingle: bytes) -> int:
    """The `fast` profile's 32-bit hash of one shingle: the scalar twin of the numpy path."""
    x = 0
    for j, word in enumerate(shingle.split(b" ")):
        poly = 0
        for c in reversed(word):  # Horner: sum of c_k * P^k
            poly = (poly * _P + c) & _M64
        x = (x + _fmix64_int(poly) * _K[j]) & _M64
    return _fmix64_int(x) >> 32


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


def fmix64(x: np.ndarray) -> np.ndarray:
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


class _Powers:
    """P^i and P^-i mod 2^64 for i < length, grown on demand and shared by all batches."""

    def __init__(self) -> None:
        self.pow = np.ones(0, dtype=np.uint64)
        self.inv = np.ones(0, dtype=np.uint64)

    def upto(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.pow) < length:
            size = max(length, 2 * len(self.pow), 1 << 16)
            self.pow, self.inv = _cumpow(_P, size), _cumpow(_P_INV, size)
        return self.pow[:length], self.inv[:length]


def _cumpow(base: int, size: int) -> np.ndarray:
    out = np.empty(size, dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        out[1:] = np.cumprod(np.full(size - 1, base, dtype=np.uint64))
    return out


_POWERS = _Powers()


def _fast_hashes(data: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes (uint32) of texts concatenated in `data` (UTF-8 bytes) with `offsets`
    (len = texts + 1), and the text index of each; hashes come out grouped by text, in order."""
    size = len(data)
    texts = len(offsets) - 1
    if size == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.int64)
    low = np.frombuffer(data.tobytes().translate(_WORD_BYTES), dtype=np.uint8)  # C speed, one pass
    isw = low != 0
    flips = np.flatnonzero(np.diff(isw.view(np.int8), prepend=np.int8(0), append=np.int8(0)))
    starts, ends = flips[0::2], flips[1::2]  # word runs: [start, end)
    inner = offsets[1:-1][(offsets[1:-1] > 0) & (offsets[1:-1] < size)]
    cross = np.unique(inner[isw[inner - 1] & isw[inner]])  # words never run across texts: split them there
    if len(cross):
        starts = np.insert(starts, np.searchsorted(starts, cross), cross)
        ends = np.insert(ends, np.searchsorted(ends, cross), cross)
    if len(starts) == 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.int64)
    if size + 1 <= 8 * _TEXT_BATCH:
        pw, inv = _POWERS.upto(size + 1)
    else:  # one very long text: its powers are not worth keeping for the next batches
        pw, inv = _cumpow(_P, size + 1), _cumpow(_P_INV, size + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(size + 1, dtype=np.uint64)
        np.multiply(low, pw[:size], out=prefix[1:])  # separators are 0: they add nothing
        np.cumsum(prefix[1:], out=prefix[1:])
        words = fmix64((prefix[ends] - prefix[starts]) * inv[starts])
        nw = len(words)
        first_word = np.searchsorted(starts, offsets)  # per text, its first word (the last entry is nw)
        counts = np.diff(first_word)
        end_word = np.repeat(first_word[1:], counts)  # one past the text's last word, per word
        padded = np.concatenate((words, np.zeros(n, dtype=np.uint64)))
        x = padded[:nw] * np.uint64(_K[0])
        step = np.empty(nw, dtype=np.uint64)
        for j in range(1, n):  # windows running past a text's end are dropped, or redone just below
            x += np.multiply(padded[j : nw + j], np.uint64(_K[j]), out=step)
        keep = np.arange(nw) + n <= end_word
        short = first_word[:-1][(counts > 0) & (counts < n)]  # texts of fewer than n words: one shingle each
        if len(short):
            x[short] = sum(
                np.where(short + j < end_word[short], padded[short + j], np.uint64(0)) * np.uint64(_K[j])
                for j in range(n)
            )
            keep[short] = True
        hashes = (fmix64(x[keep]) >> np.uint64(32)).astype(np.uint32)
        word_text = np.repeat(np.arange(texts), counts)
    return hashes, word_text[keep]


def _sha1_hashes(texts: Sequence[str | None], n: int) -> tuple[np.ndarray, np.ndarray]:
    hashes: list[int] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        hs = [_sha1_32(s) for s in shingles(text, n)]
        hashes += hs
        owner += [i] * len(hs)
    return np.asarray(hashes, dtype=np.uint32), np.asarray(owner, dtype=np.int64)


def _minima(
    out: np.ndarray, hashes: np.ndarray, owner: np.ndarray, perms: tuple[np.ndarray, np.ndarray], base: int = 0
) -> None:
    """Permute shingle hashes and write each text's minima into `out` (texts without shingles keep
    the empty signature). Blocks are (_GROUP permutations, _BLOCK shingles), reduced along the
    contiguous axis, all in one buffer."""
    a, b = perms
    h = _fmix32(hashes)
    texts_start = np.flatnonzero(owner[1:] != owner[:-1]) + 1  # once for the part, not per block
    cuts = [slice(g, g + _GROUP) for g in range(0, len(a), _GROUP)]
    groups = [(cols, a[cols, None], b[cols, None]) for cols in cuts]  # sliced once per part, not per block
    buffer = np.empty((min(_GROUP, len(a)), min(_BLOCK, len(h))), dtype=np.uint32)
    for lo in range(0, len(h), _BLOCK):
        hi = min(lo + _BLOCK, len(h))
        inside = texts_start[np.searchsorted(texts_start, lo, "right") : np.searchsorted(texts_start, hi)]
        starts = np.concatenate(([0], inside - lo))
        mins = np.empty((len(starts), len(a)), dtype=np.uint32)
        for cols, ga, gb in groups:
            block = buffer[: len(ga), : hi - lo]
            with np.errstate(over="ignore"):
                np.multiply(ga, h[None, lo:hi], out=block)
                block += gb  # wraps mod 2^32: the affine32 modulus
            mins[:, cols] = np.minimum.reduceat(block, starts, axis=1).T
        rows = owner[lo + starts] + base
        np.minimum(out[rows], mins, out=mins)  # a text can straddle two blocks
        out[rows] = mins


@dataclass(frozen=True)
class SignatureParams:
    """What a signature is made with. Its `key` is stored beside each signature, so signatures of
    different parameters are never compared; `perms` are drawn once per parameters."""

    num_perm: int = NUM_PERM
    seed: int = SEED
    words: int = SHINGLE_WORDS
    profile: str = "fast"

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown MinHash profile {self.profile!r}; expected one of {', '.join(PROFILES)}")

    @property
    def key(self) -> str:
        return f"{self.profile}-affine32/{self.num_perm}/seed{self.seed}/words{self.words}"

    @cached_property
    def perms(self) -> tuple[np.ndarray, np.ndarray]:
        return permutations(self.num_perm, self.seed)


DEFAULT = SignatureParams()


Bands: TypeAlias = "tuple[int, int] | None"  # (b, r) of the LSH band keys to compute with the signatures


@dataclass(frozen=True)
class Signed:
    """The signatures of a run of texts, and their LSH band keys ((rows, b) uint64) when asked for:
    computed where the signatures are, so the coordinator never hashes bands itself."""

    signatures: np.ndarray
    keys: np.ndarray | None = None


class PartPool(Protocol):
    """Where parts are hashed besides this process (`scanner.dedup.workers.SignaturePool`)."""

    def submit(
        self, params: SignatureParams, data: np.ndarray, offsets: np.ndarray, bands: Bands
    ) -> Future[Signed]: ...


def signatures(texts: Texts, params: SignatureParams = DEFAULT, pool: PartPool | None = None) -> np.ndarray:
    """(len(texts), num_perm) uint32 signatures of a list of texts or an Arrow string column.
    With a `pool`, parts of about `_TEXT_BATCH` bytes are hashed in its worker processes; each
    text's signature depends on that text alone, so the result is the same bit for bit, in the
    same order."""
    return start_signatures(texts, params, pool)().signatures


def start_signatures(
    texts: Texts, params: SignatureParams = DEFAULT, pool: PartPool | None = None, bands: Bands = None
) -> Callable[[], Signed]:
    """`signatures`, started: with a pool the parts are submitted at once and the returned
    function waits for them, so a caller can read and write the store meanwhile. Either profile
    goes to a part as one UTF-8 buffer and its offsets (no pickled strings). With `bands` (b, r)
    each part also comes back with its band keys (`scanner.dedup.lsh.band_keys`)."""
    import pyarrow as pa  # here, not at the top: worker processes import this module without Arrow

    column = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(list(texts), pa.large_string())
    column = column.cast(pa.large_string())
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts: list[tuple[int, np.ndarray, np.ndarray]] = []  # (first row, bytes, offsets from 0)
    base = 0
    for chunk in chunks:
        for lo, hi in _byte_batches(chunk):
            part = chunk.slice(lo, hi - lo)
            offsets = np.frombuffer(part.buffers()[1], dtype=np.int64)[part.offset : part.offset + len(part) + 1]
            data = np.frombuffer(part.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
            parts.append((base + lo, data, offsets - offsets[0]))
        base += len(chunk)
    rows = len(column)
    if pool is None or len(parts) < 2:
        done = [(lo, sign_part(params, data, offsets, bands)) for lo, data, offsets in parts]
        return lambda: _assemble(rows, params.num_perm, bands, done)
    futures = [(lo, pool.submit(params, data, offsets, bands)) for lo, data, offsets in parts]
    return lambda: _assemble(rows, params.num_perm, bands, [(lo, f.result()) for lo, f in futures])


def sign_part(params: SignatureParams, data: np.ndarray, offsets: np.ndarray, bands: Bands = None) -> Signed:
    """Signatures of the texts in one UTF-8 buffer (`offsets`: len = texts + 1, from 0), and their
    band keys if `bands` is given: the work of one part, here or in a worker process, hashed in
    runs of about `_RUN_BYTES`."""
    out = np.full((len(offsets) - 1, params.num_perm), EMPTY, dtype=np.uint32)
    for lo, hi in _row_runs(offsets, _RUN_BYTES):
        run = offsets[lo : hi + 1]
        if params.profile == "sha1":
            raw = data[run[0] : run[-1]].tobytes()
            hashes, owner = _sha1_hashes([raw[x:y].decode("utf-8") for x, y in pairwise(run - run[0])], params.words)
        else:
            hashes, owner = _fast_hashes(data[run[0] : run[-1]], run - run[0], params.words)
        _minima(out, hashes, owner, params.perms, lo)
    if bands is None:
        return Signed(out)
    from scanner.dedup.lsh import band_keys  # lsh builds on this module; numpy only, as a worker needs

    return Signed(out, band_keys(out, *bands))


def _assemble(rows: int, num_perm: int, bands: Bands, parts: list[tuple[int, Signed]]) -> Signed:
    """Parts put together in row order, whatever order the workers finished in."""
    out = np.full((rows, num_perm), EMPTY, dtype=np.uint32)
    keys = None if bands is None else np.zeros((rows, bands[0]), dtype=np.uint64)
    for lo, part in parts:
        out[lo : lo + len(part.signatures)] = part.signatures
        if keys is not None and part.keys is not None:
            keys[lo : lo + len(part.keys)] = part.keys
    return Signed(out, keys)  # every row is in a part (a run of empty texts is one part of no bytes)


def _byte_batches(chunk: pa.Array) -> list[tuple[int, int]]:
    """Row ranges of about _TEXT_BATCH bytes of text each."""
    if len(chunk) == 0:
        return []
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
    return _row_runs(offsets, _TEXT_BATCH)


def _row_runs(offsets: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Row ranges of about `size` bytes of text each (a longer text is a range of its own)."""
    rows = len(offsets) - 1
    cuts = np.searchsorted(offsets, np.arange(offsets[0], offsets[-1], size)[1:])
    bounds = [0, *sorted(set(int(c) for c in cuts) - {0, rows}), rows]
    return list(pairwise(bounds)) if rows else []


def estimated_jaccard(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise share of equal values: the MinHash estimate of Jaccard similarity."""
    return (x == y).mean(axis=-1)
