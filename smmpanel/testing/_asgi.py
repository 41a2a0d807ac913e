"""The ASGI side of ``FakePanel``: read a form body, write the reply, model network faults.

Over a real socket the faults are as real as ASGI allows: ``drop`` declares the full
``Content-Length`` and sends half the body, so the server closes the connection on an
incomplete answer. ``refuse`` can only send nothing (uvicorn then answers 500 itself):
a true refusal needs a port nothing listens on, e.g. a ``serve()`` that has exited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._panel import FakePanel

__all__ = ["Receive", "Scope", "Send", "asgi"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def asgi(panel: FakePanel, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI connection scope."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    body = await _body(receive)
    if body is None:
        return  # the client left before sending its body
    method = scope.get("method", "GET")
    reply = await panel.reply(method, body, served=True, path=scope.get("path", "/"))
    if reply.outcome != "answer" and reply.outcome != "drop":
        return  # refuse, or serve() is stopping: send nothing
    headers = [(name.encode(), value.encode()) for name, value in reply.headers()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reply.outcome == "drop":
        half = reply.body[: len(reply.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        return  # the response stays incomplete: the server closes the connection
    await send({"type": "http.response.body", "body": reply.body})


async def _body(receive: Receive) -> bytes | None:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop, but servers that send lifespan events get their replies."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
