"""Scriptable raw-asyncio HTTP servers and a self-signed certificate for the upstream tests."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Req:
    method: str
    target: str
    headers: dict[str, str]
    raw_head: bytes
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> Req | None:
    """One request off the connection; None on a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Req(method, target, headers, head, body)


def response(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
             reason: str = "OK", version: str = "1.1") -> bytes:
    h = {"content-length": str(len(body)), **(headers or {})}
    head = f"HTTP/{version} {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items() if v is not None)
    return head.encode() + b"\r\n" + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


Handler = Callable[["Conn"], Awaitable[None]]


@dataclass
class Conn:
    """One server-side connection, as the handler sees it."""
    index: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the client went away
    requests: list[Req] = field(default_factory=list)

    async def request(self) -> Req | None:
        r = await read_request(self.reader)
        if r is not None:
            self.requests.append(r)
        return r

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def wait_client_gone(self) -> None:
        """Read until EOF/reset: what a provider notices when the client disconnects."""
        try:
            while await self.reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass
        self.closed.set()


class RawServer:
    """``handler(conn)`` runs once per accepted connection; the connection is closed after it."""

    def __init__(self, handler: Handler, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl = ssl_ctx
        self.conns: list[Conn] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Req]:
        return [r for c in self.conns for r in c.requests]

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        for c in self.conns:
            c.writer.transport.abort()
        await asyncio.sleep(0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(len(self.conns), reader, writer)
        self.conns.append(conn)
        try:
            await self.handler(conn)
        except (ConnectionError, OSError, RuntimeError):  # the client went away (uvloop: RuntimeError)
            pass
        except asyncio.CancelledError:  # test over: end quietly (asyncio logs cancelled handlers)
            pass
        finally:
            writer.transport.abort()


async def keepalive_handler(conn: Conn, body: bytes = b'{"ok":true}') -> None:
    """Answer every request on the connection with ``body`` until the client leaves."""
    while (req := await conn.request()) is not None:
        await conn.send(response(200, body, {"content-type": "application/json", "x-path": req.target}))


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for 127.0.0.1 / localhost, generated with ``cryptography``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
