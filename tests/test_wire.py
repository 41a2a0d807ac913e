"""The Panel's own wires over a real socket: every way an answer can go wrong, on each stack.

The default wire (h11 over anyio, on asyncio and trio) and the fast one (aiohttp) must
fail exactly as the httpx client path does: the same error classes and messages, the
same "never sent" proof for writes, no redirect followed, the size limit on the decoded
body, and no connection left open by a failure or a cancellation.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import anyio
import anyio.abc
import anyio.streams.tls
import h11
import httpx
import pytest
from _hardening import KEY, assert_no_key

import smmpanel
from smmpanel._http import exchange as _exchange
from smmpanel._http import fast as _fast
from smmpanel._http import pool as _pool

pytestmark = pytest.mark.anyio

BALANCE = b'{"balance": "1.50", "currency": "USD"}'
ORDER = {"service": 1, "link": "https://x.example/p/1", "quantity": 100}


@pytest.fixture(
    params=[("asyncio", False), ("trio", False), ("asyncio", True)],
    ids=["default-asyncio", "default-trio", "fast"],
)
def stack(request: pytest.FixtureRequest) -> tuple[str, bool]:
    if request.param[1]:
        pytest.importorskip("aiohttp")
    return tuple(request.param)  # type: ignore[return-value]


@pytest.fixture
def anyio_backend(stack: tuple[str, bool]) -> str:
    return stack[0]


@pytest.fixture
def fast(stack: tuple[str, bool]) -> bool:
    return stack[1]


class Reply:
    """What the raw server does with one request: bytes to send, then close or not."""

    def __init__(self, data: bytes = b"", *, close: bool = False, hang: bool = False) -> None:
        self.data = data
        self.close = close
        self.hang = hang


def answer(body: bytes, status: int = 200, *, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Server:
    """A bare HTTP/1.1 server on 127.0.0.1 (h11 reads the requests) answering from a script."""

    def __init__(self, script: Callable[[int], Reply]) -> None:
        self.script = script
        self.requests: list[dict[str, str]] = []
        self.connections = 0
        self.open = 0

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        self.open += 1
        try:
            async with stream:
                while True:
                    body = await self._request(stream)
                    if body is None:
                        return
                    self.requests.append(dict(parse_qsl(body.decode())))
                    reply = self.script(len(self.requests))
                    if reply.hang:  # until the client gives up and closes
                        await self._drain(stream)
                        return
                    await stream.send(reply.data)
                    if reply.close:
                        return
        finally:
            self.open -= 1

    @staticmethod
    async def _request(stream: anyio.abc.SocketStream) -> bytes | None:
        state = h11.Connection(h11.SERVER)
        body = b""
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                try:
                    state.receive_data(await stream.receive())
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return None
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return body
            elif isinstance(event, h11.ConnectionClosed):
                return None

    @staticmethod
    async def _drain(stream: anyio.abc.SocketStream) -> None:
        try:
            while await stream.receive():
                pass
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass


@asynccontextmanager
async def serving(
    script: Callable[[int], Reply], tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[Server, str]]:
    server = Server(script)
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener: anyio.abc.Listener[Any] = tcp
    if tls is not None:
        listener = anyio.streams.tls.TLSListener(tcp, tls, standard_compatible=False)
    scheme = "http" if tls is None else "https"
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server.handle)
        try:
            yield server, f"{scheme}://127.0.0.1:{port}/api/v2"
        finally:
            tg.cancel_scope.cancel()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made by the openssl command line)."""
    if shutil.which("openssl") is None:
        pytest.skip("making a test certificate needs the openssl command")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def always(reply: Reply) -> Callable[[int], Reply]:
    return lambda _: reply


def make(url: str, fast: bool, **options: Any) -> smmpanel.Panel:
    options.setdefault("retries", 0)
    options.setdefault("backoff", 0)
    return smmpanel.Panel(url, KEY, fast=fast, **options)


async def settle(server: Server) -> None:
    """Wait until the server has closed its side of every connection, and a moment more.

    The moment lets the client's event loop see the close too (aiohttp learns of it from
    a callback, the default wire from the socket itself).
    """
    for _ in range(500):
        if not server.open:
            break
        await anyio.sleep(0.01)
    await anyio.sleep(0.05)


# ---------------------------------------------------------------- success paths


async def test_answers_come_back_on_one_kept_alive_connection(fast: bool) -> None:
    async with serving(always(Reply(answer(BALANCE)))) as (server, url):
        async with make(url, fast) as panel:
            for _ in range(5):
                assert (await panel.balance()).currency == "USD"
        await settle(server)
    assert server.connections == 1
    assert server.open == 0
    assert [r["action"] for r in server.requests] == ["balance"] * 5
    assert all(r["key"] == KEY for r in server.requests)


async def test_a_gzip_answer_is_decoded(fast: bool) -> None:
    reply = Reply(answer(gzip.compress(BALANCE), headers={"Content-Encoding": "gzip"}))
    async with serving(always(reply)) as (_, url), make(url, fast) as panel:
        assert str((await panel.balance()).amount) == "1.50"


async def test_connection_close_and_a_panel_closing_idle_connections(fast: bool) -> None:
    """Neither an announced close nor a silent one fails the next request (no retries)."""

    def script(n: int) -> Reply:
        if n == 1:
            return Reply(answer(BALANCE, headers={"Connection": "close"}), close=True)
        return Reply(answer(BALANCE), close=True)  # closes without saying so

    async with serving(script) as (server, url), make(url, fast) as panel:
        for _ in range(3):
            await panel.balance()
            await settle(server)  # the close has reached the client's socket
    assert server.connections == 3


async def test_https_with_a_trusted_certificate(
    fast: bool, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS with the certificate checked, kept alive across calls."""
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    for module in (_pool, _fast):
        monkeypatch.setattr(module, "ssl_context", lambda: trusting)
    reply = Reply(answer(BALANCE))
    async with serving(always(reply), server_tls(certificate)) as (server, url):
        async with make(url, fast) as panel:
            for _ in range(3):
                assert (await panel.balance()).currency == "USD"
        await settle(server)
    assert server.connections == 1
    assert len(server.requests) == 3


# ---------------------------------------------------------------- failures


async def test_an_untrusted_certificate_is_proven_unsent(
    fast: bool, certificate: tuple[Path, Path]
) -> None:
    """A certificate no CA signed: nothing was sent, so even an add is a plain error."""
    tls = server_tls(certificate)
    async with serving(always(Reply(answer(BALANCE))), tls) as (server, url), make(url, fast) as p:
        with pytest.raises(smmpanel.TransportError, match="could not connect") as read:
            await p.balance()
        with pytest.raises(smmpanel.TransportError) as write:
            await p.add(**ORDER)
    assert not isinstance(write.value, smmpanel.UncertainOrderError)
    assert server.requests == []
    assert_no_key(read.value)


async def test_a_refused_connection_is_proven_unsent(fast: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v2"
    async with make(url, fast, retries=1) as panel:
        with pytest.raises(smmpanel.TransportError, match="could not connect") as read:
            await panel.balance()
        with pytest.raises(smmpanel.TransportError) as write:
            await panel.add(**ORDER)
    assert not isinstance(write.value, smmpanel.UncertainOrderError)
    assert_no_key(read.value)
    assert_no_key(write.value)


async def test_a_connection_dropped_mid_answer(fast: bool) -> None:
    """Half a body, then the socket closes: a read fails, an add may exist and is not resent."""
    half = answer(BALANCE)[:-10]
    async with serving(always(Reply(half, close=True))) as (server, url):
        async with make(url, fast) as panel:
            with pytest.raises(smmpanel.TransportError, match="connection failed") as read:
                await panel.balance()
        async with make(url, fast, retries=3) as panel:
            with pytest.raises(smmpanel.UncertainOrderError) as write:
                await panel.add(**ORDER)
    assert [r["action"] for r in server.requests] == ["balance", "add"]
    assert write.value.fields["link"] == ORDER["link"]
    assert_no_key(read.value)
    assert_no_key(write.value)


async def test_a_silent_panel_times_out_reading_and_the_socket_is_closed(fast: bool) -> None:
    # Only the read is short: a loaded machine must not time the connect out instead.
    timeout = httpx.Timeout(10.0, read=0.3)
    async with (
        serving(always(Reply(hang=True))) as (server, url),
        make(url, fast, timeout=timeout) as panel,
    ):
        with pytest.raises(smmpanel.TransportError) as caught:
            await panel.balance()
        await settle(server)
        assert server.open == 0
    assert "timed out waiting for the panel's answer" in str(caught.value)
    assert_no_key(caught.value)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_a_redirect_is_never_followed(fast: bool, code: int) -> None:
    """The key never goes to the Location; an add that was redirected may exist."""
    location = f"http://127.0.0.1:9/steal?key={quote_plus(KEY)}"
    reply = Reply(answer(b"moved", code, headers={"Location": location}))
    async with serving(always(reply)) as (server, url), make(url, fast, retries=3) as panel:
        with pytest.raises(smmpanel.ProtocolError, match="redirect") as read:
            await panel.balance()
        with pytest.raises(smmpanel.UncertainOrderError) as write:
            await panel.add(**ORDER)
    assert [r["action"] for r in server.requests] == ["balance", "add"]
    assert "127.0.0.1:9/steal" in str(read.value)
    assert_no_key(read.value)
    assert_no_key(write.value)


@pytest.mark.parametrize("shape", ["length", "chunked", "gzip"])
async def test_an_oversized_answer_is_refused(
    fast: bool, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the limit by its Content-Length, while streaming, or once inflated."""
    monkeypatch.setattr(_exchange, "MAX_BODY", 1000)
    big = b'{"balance": "' + b"9" * 50_000 + b'"}'
    if shape == "length":
        data = answer(big)
    elif shape == "chunked":
        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(big[i : i + 500]), big[i : i + 500])
            for i in range(0, len(big), 500)
        )
        data = b"HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    else:
        data = answer(gzip.compress(big), headers={"Content-Encoding": "gzip"})
    async with serving(always(Reply(data))) as (server, url):
        async with make(url, fast) as panel:
            with pytest.raises(smmpanel.ProtocolError, match="too large"):
                await panel.balance()
        await settle(server)
    assert server.open == 0


async def test_a_cancelled_call_closes_its_connection(fast: bool) -> None:
    """Cancelled mid-answer: the socket is closed at once, and the Panel still works."""

    def script(n: int) -> Reply:
        return Reply(hang=True) if n == 1 else Reply(answer(BALANCE))

    async with serving(script) as (server, url), make(url, fast) as panel:
        with anyio.move_on_after(0.2) as scope:
            await panel.balance()
        assert scope.cancelled_caught
        await settle(server)
        assert server.open == 0
        assert (await panel.balance()).currency == "USD"
