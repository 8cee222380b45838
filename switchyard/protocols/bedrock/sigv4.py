"""AWS Signature Version 4 for header-signed requests, as botocore's ``SigV4Auth`` computes it.

    canonical request = METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n
                        signed header names \\n hex(sha256(body))
    string to sign    = "AWS4-HMAC-SHA256" \\n amz-date \\n date/region/service/aws4_request \\n
                        hex(sha256(canonical request))
    signing key       = HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request"
    Authorization     = AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=..., Signature=...

The canonical URI is the path *as sent* URI-encoded once more (AWS's rule for every service but S3):
a model id ``amazon.titan-embed-text-v2:0`` sent as ``.../v2%3A0/...`` is signed as ``v2%253A0``, and
sent as ``.../v2:0/...`` is signed as ``v2%3A0``. The server applies the same rule to the path it
receives, so what matters is signing the exact path that goes on the wire.

Every header handed to ``sign`` is signed except the hop-by-hop and tracing ones botocore skips.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

import msgspec

ALGORITHM = "AWS4-HMAC-SHA256"
# botocore's SIGNED_HEADERS_BLACKLIST: headers that proxies may change are never signed.
UNSIGNED_HEADERS = frozenset({
    "authorization", "baggage", "connection", "expect", "keep-alive", "proxy-authenticate",
    "proxy-authorization", "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade",
    "user-agent", "x-amzn-trace-id",
})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Credentials(msgspec.Struct, frozen=True):
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key_id={self.access_key_id[:4]}...)"

    __str__ = __repr__


def host_header(url: str) -> str:
    """The ``host`` value for ``url``: lower-case host, port only when it is not the default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, and AWS also drops empty segments (botocore.utils.remove_dot_segments).
    out: list[str] = []
    for seg in path.split("/"):
        if seg == "..":
            if out:
                out.pop()
        elif seg and seg != ".":
            out.append(seg)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


def canonical_uri(path: str) -> str:
    return quote(_remove_dot_segments(path) if path else "/", safe="/~") or "/"


def canonical_query(query: str) -> str:
    # Query parameters are signed as sent (already encoded), sorted by name then value.
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{k}={v}" for k, v in pairs)


def _trim(value: str) -> str:
    return " ".join(value.split())


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class SigV4Signer:
    """Signs requests for one set of credentials, region and service. The derived signing key is
    cached for the current date (it changes once a day); safe to share between requests."""

    def __init__(self, credentials: Credentials, region: str, service: str = "bedrock",
                 sign_payload_header: bool = False) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        # x-amz-content-sha256 is optional outside S3 (botocore does not send it to Bedrock); the
        # payload hash is in the canonical request either way.
        self.sign_payload_header = sign_payload_header
        self._key_date = ""
        self._key = b""

    def signing_key(self, date: str) -> bytes:
        if date != self._key_date:
            k = _hmac(("AWS4" + self.credentials.secret_access_key).encode(), date)
            for part in (self.region, self.service, "aws4_request"):
                k = _hmac(k, part)
            self._key, self._key_date = k, date
        return self._key

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
             now: datetime | None = None) -> dict[str, str]:
        """``headers`` plus ``host``, ``x-amz-date``, ``x-amz-security-token`` (with a session
        token), ``x-amz-content-sha256`` (if asked for) and ``authorization``, all lower-case.
        ``url`` must be the URL exactly as it will be sent."""
        now = now or datetime.now(timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        payload_hash = hashlib.sha256(body).hexdigest()
        out = {k.lower(): v for k, v in headers.items() if k.lower() not in ("authorization", "x-amz-date")}
        out.setdefault("host", host_header(url))
        out["x-amz-date"] = amz_date
        if self.credentials.session_token:
            out["x-amz-security-token"] = self.credentials.session_token
        if self.sign_payload_header:
            out["x-amz-content-sha256"] = payload_hash
        signed = sorted(k for k in out if k not in UNSIGNED_HEADERS)
        parts = urlsplit(url)
        canonical = "\n".join((
            method.upper(),
            canonical_uri(parts.path),
            canonical_query(parts.query),
            "".join(f"{k}:{_trim(out[k])}\n" for k in signed),
            ";".join(signed),
            out.get("x-amz-content-sha256", payload_hash),
        ))
        scope = f"{amz_date[:8]}/{self.region}/{self.service}/aws4_request"
        to_sign = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
        signature = hmac.new(self.signing_key(amz_date[:8]), to_sign.encode(), hashlib.sha256).hexdigest()
        out["authorization"] = (f"{ALGORITHM} Credential={self.credentials.access_key_id}/{scope}, "
                                f"SignedHeaders={';'.join(signed)}, Signature={signature}")
        return out
