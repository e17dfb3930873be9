"""Playing time read from a media file's own header, where it can be read without a decoder.

WAV (RIFF/WAVE): data-chunk bytes / byte rate of the fmt chunk. Pure and bounded: it walks the
chunk headers of at most the first 64 KiB plus the sizes they declare, never the samples.
Other formats return None: the summary then says the hours are not measured.
"""

from __future__ import annotations

import struct


def wav_duration(payload: bytes) -> float | None:
    if len(payload) < 12 or payload[:4] != b"RIFF" or payload[8:12] != b"WAVE":
        return None
    pos, byte_rate, data_size = 12, None, None
    while pos + 8 <= len(payload) and pos < 65_536:
        chunk, size = payload[pos : pos + 4], struct.unpack_from("<I", payload, pos + 4)[0]
        if chunk == b"fmt " and size >= 16 and pos + 24 <= len(payload):
            byte_rate = struct.unpack_from("<I", payload, pos + 16)[0]
        elif chunk == b"data":
            data_size = min(size, len(payload) - pos - 8)
            break
        pos += 8 + size + (size & 1)
    if not byte_rate or data_size is None:
        return None
    return data_size / byte_rate


def media_duration(payload: bytes, content_type: str | None) -> float | None:
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave") or payload[:4] == b"RIFF":
        return wav_duration(payload)
    return None
