"""Small conversions several provider adapters need, kept in one place."""

from __future__ import annotations

from typing import Any

import msgspec

_decode = msgspec.json.Decoder().decode

# Base64 prefixes of the magic numbers of the media types providers accept inline.
MAGIC = (("iVBORw0KGgo", "image/png"), ("/9j/", "image/jpeg"), ("R0lGOD", "image/gif"),
         ("UklGR", "image/webp"), ("JVBERi0", "application/pdf"))


def sniff_media_type(data: str, default: str = "image/png") -> str:
    """The media type of base64 ``data`` from its first bytes, for callers that did not say."""
    for prefix, media_type in MAGIC:
        if data.startswith(prefix):
            return media_type
    return default


def arguments_object(text: str) -> dict[str, Any]:
    """Tool-call arguments are JSON text canonically; Anthropic, Bedrock and Gemini want the object.
    Text that is not a JSON object becomes {} (the model's malformed call is still delivered)."""
    if not text:
        return {}
    try:
        value = _decode(text)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}
