"""Words the drafted text uses for the tool's internal names: protocol and signal names, counted
nouns ("1 domain", "2 domains"), language names."""

from __future__ import annotations

MODALITY_LABELS = {"text": "Text", "image": "Image", "audio": "Audio", "video": "Video", "other": "Other"}

PROTOCOLS_HONOURED = (
    "robots.txt (RFC 9309), an unreachable robots.txt read as a full disallow; W3C TDMRep "
    "(/.well-known/tdmrep.json, tdm-reservation headers and HTML meta); X-Robots-Tag and robots meta "
    "noai / noimageai; IETF AI preferences Content-Usage (header and robots.txt); Cloudflare Content-Signal; "
    "Spawning ai.txt; RSL licences; IPTC Data Mining and C2PA in embedded media metadata"
)

_PROTOCOLS = {
    "robots": "robots.txt",
    "html": "HTML meta tags of the page",
    "headers": "HTTP response headers",
    "tdmrep": "TDMRep tdmrep.json",
    "ai.txt": "ai.txt",
    "rsl": "RSL licence files",
    "embedded": "embedded media metadata",
}

_REASONS = {
    "robots": "robots.txt disallow",
    "robots_unreachable": "robots.txt unreachable (full disallow)",
    "tdmrep": "TDMRep reservation",
    "ai_txt": "ai.txt disallow",
    "content_signal": "Content-Signal ai-train=no",
    "content_usage": "Content-Usage train-ai=n",
    "x_robots_tag": "X-Robots-Tag noai",
    "robots_meta": "robots meta noai",
    "rsl": "RSL licence terms",
    "iptc_dmi": "IPTC Data Mining prohibition",
    "c2pa": "C2PA training assertion",
    "blocklist": "provider blocklist",
}

_LANGUAGES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
    "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish", "fi": "Finnish", "el": "Greek",
    "cs": "Czech", "sk": "Slovak", "sl": "Slovenian", "hu": "Hungarian", "ro": "Romanian", "bg": "Bulgarian",
    "hr": "Croatian", "et": "Estonian", "lv": "Latvian", "lt": "Lithuanian", "mt": "Maltese", "ga": "Irish",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "ar": "Arabic", "tr": "Turkish",
    "uk": "Ukrainian", "hi": "Hindi", "he": "Hebrew", "fa": "Persian", "vi": "Vietnamese", "th": "Thai",
    "id": "Indonesian", "ms": "Malay", "no": "Norwegian", "nb": "Norwegian Bokmål", "ca": "Catalan",
}  # fmt: skip


def protocol_name(name: str) -> str:
    return _PROTOCOLS.get(name, name)


def reason_name(signal: str | None) -> str:
    return _REASONS.get(signal or "", (signal or "unrecorded reason").replace("_", " "))


def language_name(code: str) -> str:
    return _LANGUAGES.get(code, code)


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 domain", "2 domains": numbers agree with their noun."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"
