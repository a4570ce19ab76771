"""The HTTP rules every connector keeps: TLS, redirects, 429/5xx/4xx, timeouts, no secret shown.

Status semantics follow RFC 9110 (15.5, 15.6; ``Retry-After`` in 10.2.3) and RFC 6585 (429).
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    TargetUnavailable,
    TlsOptions,
    product_client,
    retry_after_seconds,
)

SECRET = "tok-0123456789abcdef"


def _context(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]
) -> ActionContext:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    def factory(**options: Any) -> httpx.AsyncClient:
        options.pop("verify", None)
        return httpx.AsyncClient(**options, transport=httpx.MockTransport(handler))

    return ActionContext(asset="fw-1", http=factory)


async def _call(answer: Callable[[httpx.Request], httpx.Response], path: str = "/api") -> Any:
    seen: list[httpx.Request] = []
    ctx = _context(answer, seen)
    async with product_client(
        ctx, "https://product.example", headers={"Authorization": SECRET}, secrets=[SECRET]
    ) as api:
        return await api.get_json(path), seen


async def test_a_2xx_answer_is_its_json() -> None:
    body, seen = await _call(lambda r: httpx.Response(200, json={"ok": True}))
    assert body == {"ok": True}
    assert seen[0].headers["authorization"] == SECRET


async def test_429_is_transient_with_the_products_retry_after() -> None:
    with pytest.raises(TargetUnavailable) as caught:
        await _call(lambda r: httpx.Response(429, headers={"Retry-After": "7"}, json={}))
    assert caught.value.retry_after == 7.0
    assert "answered 429" in str(caught.value)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = 1_800_000_000.0
    later = email.utils.formatdate(now + 90, usegmt=True)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(later, now=now) == pytest.approx(90.0)
    assert retry_after_seconds(email.utils.formatdate(now - 5, usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_transient(status: int) -> None:
    with pytest.raises(TargetUnavailable):
        await _call(lambda r: httpx.Response(status, text="busy"))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"message": "no such device"}, "no such device"),
        ({"errors": [{"code": 40, "message": "invalid filter"}]}, "invalid filter"),
        ({"error": {"code": "BadRequest", "message": "Invalid id"}}, "Invalid id"),
        ({"errorSummary": "Not found: Resource not found: u1 (User)"}, "Not found"),
    ],
)
async def test_other_4xx_is_permanent_with_the_vendors_own_message(
    body: dict[str, Any], words: str
) -> None:
    with pytest.raises(ActionError) as caught:
        await _call(lambda r: httpx.Response(404, json=body))
    assert not isinstance(caught.value, TargetUnavailable)
    assert words in str(caught.value)
    assert "answered 404" in str(caught.value)


async def test_no_secret_and_no_query_string_reach_an_error() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": f"bad key {SECRET}"})

    with pytest.raises(ActionError) as caught:
        await _call(echo, path=f"/api?apikey={SECRET}")
    assert SECRET not in str(caught.value)
    assert "apikey" not in str(caught.value)
    assert "***" in str(caught.value)


async def test_a_redirect_on_the_same_host_is_followed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        return httpx.Response(200, json={"path": request.url.path})

    body, seen = await _call(answer, path="/old")
    assert body == {"path": "/new"}
    assert [r.url.path for r in seen] == ["/old", "/new"]
    assert seen[1].headers["authorization"] == SECRET


async def test_a_redirect_to_another_host_is_refused_and_never_contacted() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://collector.example/steal"})

    seen: list[httpx.Request] = []
    async with product_client(_context(answer, seen), "https://product.example") as api:
        with pytest.raises(ActionError, match="another host") as caught:
            await api.get("/api")
    assert not isinstance(caught.value, TargetUnavailable)
    assert [r.url.host for r in seen] == ["product.example"]


async def test_a_transport_failure_and_a_timeout_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    for answer in (refuse, slow):
        with pytest.raises(TargetUnavailable):
            await _call(answer)


# --- TLS against a real TLS server on loopback --------------------------------------------


def _self_signed(folder: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    cert_file, key_file, pem = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            body = b'{"tls": true}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", pem
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_is_verified_by_default_and_a_ca_bundle_trusts_a_private_ca(
    tls_server: tuple[str, str],
) -> None:
    url, pem = tls_server
    ctx = ActionContext(asset="fw-1")
    with pytest.raises(TargetUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        async with product_client(ctx, url) as api:
            await api.get_json("/")
    async with product_client(ctx, url, tls=TlsOptions(ca_bundle=pem)) as api:
        assert await api.get_json("/") == {"tls": True}
    async with product_client(ctx, url, tls=TlsOptions(verify=False)) as api:
        assert await api.get_json("/") == {"tls": True}
