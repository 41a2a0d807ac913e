"""The fastest panel we can serve: uvloop + httptools, answers built straight as bytes.

The client figures are only as good as the server is fast: FakePanel under uvicorn spends
more CPU per request than the clients measured against it, so at 0 ms latency its own limit
shows in every client's wall. This server answers ``status`` exactly as FakePanel's
``auto_orders`` do (same words, charges and counts per ID), in its own process, so that
wall clock reflects the client. ``python -m benchmarks.raw_server --latency 0.05`` prints
its port, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from typing import Any
from urllib.parse import parse_qsl

import httptools
import uvloop

from smmpanel.testing._orders import AUTO_PERIOD, auto_view, start_count_of

from .server import KEY

# One pre-encoded entry per phase of the synthetic lifecycle, with a slot for start_count.
_ROWS: list[tuple[bytes, bytes, bool]] = []
for _i in range(AUTO_PERIOD):
    _word, _charge, _started, _remains = auto_view(_i)
    _ROWS.append(
        (
            b'{"charge":"%s","start_count":"' % _charge.encode(),
            b'","status":"%s","remains":"%d","currency":"USD"}' % (_word.encode(), _remains),
            _started,
        )
    )


def entry(order: int) -> bytes:
    head, tail, started = _ROWS[order % AUTO_PERIOD]
    return head + (b"%d" % start_count_of(order) if started else b"0") + tail


def answer(body: bytes) -> bytes:
    form = dict(parse_qsl(body.decode()))
    if form.get("key") != KEY:
        return b'{"error":"Invalid API key"}'
    action = form.get("action")
    if action == "balance":
        return b'{"balance":"100.00","currency":"USD"}'
    if action != "status":
        return b'{"error":"Incorrect request"}'
    if "orders" in form:
        ids = [int(token) for token in form["orders"].split(",") if token.strip()]
        return b"{" + b",".join(b'"%d":%s' % (i, entry(i)) for i in ids) + b"}"
    return entry(int(form.get("order", "0") or 0))


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; requests answered in order."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport instances

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        payload = answer(b"".join(self.body))
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        reply = head % len(payload) + payload
        if self.latency:
            asyncio.get_running_loop().call_later(self.latency, self.send, reply)
        else:
            self.send(reply)

    def send(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)


async def serve(latency: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(latency), sock=sock, backlog=2048)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    uvloop.run(serve(args.latency))


if __name__ == "__main__":
    main()
