"""Which AI SDK provider-spec version a request speaks: 2, 3 or 4.

The client says it in a header on model calls (``ai-language-model-specification-version``,
``ai-embedding-model-specification-version``). Metadata calls (``/config``) carry no version header;
there the ``@ai-sdk/gateway`` user-agent suffix (``ai-sdk/gateway/2.0.168``, ``ai-sdk-gateway/4.0.146``)
names the client, and the path prefix (``/v1/ai`` v2, ``/v3/ai`` v3, ``/v4/ai`` v4, the default
baseURLs of each major) is the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SPECS = (2, 3, 4)
PREFIXES: dict[str, int] = {"/v1/ai": 2, "/v3/ai": 3, "/v4/ai": 4}
LANGUAGE_HEADER = "ai-language-model-specification-version"
EMBEDDING_HEADER = "ai-embedding-model-specification-version"
_UA = re.compile(r"ai-sdk[/-]gateway/(\d+)\.")


def from_header(headers: Mapping[str, str], name: str, default: int) -> int:
    value = headers.get(name, "").strip()
    if value.isdigit() and int(value) in SPECS:
        return int(value)
    return default


def from_user_agent(headers: Mapping[str, str], default: int) -> int:
    """@ai-sdk/gateway 1.x and 2.x speak v2, 3.x v3, 4.x (and later, until told otherwise) v4."""
    m = _UA.search(headers.get("user-agent", ""))
    if m is None:
        return default
    major = int(m.group(1))
    return 2 if major <= 2 else min(major, 4)


def literal(spec: int) -> str:
    """The ``specificationVersion`` literal the client's zod schema expects."""
    return f"v{spec}"
