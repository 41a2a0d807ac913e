"""The in-memory httpx transport: a ``FakePanel`` without sockets, faults included.

Network faults become the exceptions httpx raises for the real thing, so a client sees
the same errors as over TCP: a refused connection is ``httpx.ConnectError``, a dropped one
``httpx.RemoteProtocolError``, and a wait beyond the request's read timeout
``httpx.ReadTimeout`` (httpx applies timeouts in its own transports only, so this one
honours the request's ``timeout`` extension itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._panel import FakePanel

__all__ = ["FakeTransport"]


class FakeTransport(httpx.AsyncBaseTransport):
    """Hands each request to a ``FakePanel``; see ``FakePanel.transport()``."""

    def __init__(self, panel: FakePanel) -> None:
        self._panel = panel

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        timeout = request.extensions.get("timeout") or {}
        limit = timeout.get("read")
        reply = await self._panel.reply(request.method, body, limit=limit, path=request.url.path)
        if reply.outcome == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if reply.outcome == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if reply.outcome in ("timeout", "gone"):
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(
            reply.status, headers=reply.headers(), content=reply.body, request=request
        )
