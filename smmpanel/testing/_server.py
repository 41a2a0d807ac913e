"""``FakePanel.serve()``: uvicorn on a local port, in a background thread.

The socket is bound here (port 0 picks a free one) and handed to uvicorn, so the URL is
known before the first request and two fakes never race for a port. uvicorn leaves the
process's logging configuration alone (``log_config=None``) and logs no access lines.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._panel import FakePanel

__all__ = ["serve"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
# What uvicorn logs when an app leaves a response unfinished, which the fake does on
# purpose for the ``drop`` and ``refuse`` faults.
_DELIBERATE = frozenset(
    {
        "ASGI callable returned without starting response.",
        "ASGI callable returned without completing response.",
    }
)


class _Hush(logging.Filter):
    """Drops uvicorn's complaints about deliberate faults, from this server's thread only."""

    def __init__(self, thread: threading.Thread) -> None:
        super().__init__()
        self._thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        deliberate = isinstance(record.msg, str) and record.msg in _DELIBERATE
        return not (deliberate and record.thread == self._thread.ident)


@contextlib.contextmanager
def serve(panel: FakePanel, host: str, port: int, stopping: threading.Event) -> Iterator[str]:
    """Run ``panel`` on ``host:port`` until the block exits; yields its API URL.

    ``stopping`` is set as the block exits, so served requests still waiting give up.
    """
    try:
        import uvicorn
    except ImportError as error:  # pragma: no cover - uvicorn comes with the cli extra
        raise ImportError(
            "FakePanel.serve() needs uvicorn; install it with: pip install 'smmpanel[cli]'"
        ) from error

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted connections only
    # when the listening socket says TCP, and without it every answer stalls ~40 ms on
    # Nagle's algorithm meeting the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        bound = sock.getsockname()[1]
        config = uvicorn.Config(
            panel,
            host=host,
            port=bound,
            loop="asyncio",
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            log_config=None,
            access_log=False,
            # Ctrl-C stops it in well under a second; uvicorn waits with a float just as well.
            timeout_graceful_shutdown=0.5,  # type: ignore[arg-type]
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"fake-panel:{bound}", daemon=True
        )
        hush = _Hush(thread)
        uvicorn_logger = logging.getLogger("uvicorn.error")
        uvicorn_logger.addFilter(hush)
        stopping.clear()
        thread.start()
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake panel's server did not start on {host}:{bound}")
                time.sleep(0.005)
            shown = f"[{host}]" if family == socket.AF_INET6 else host
            yield f"http://{shown}:{bound}/api/{panel.dialect}"
        finally:
            stopping.set()  # served requests waiting (latency, slow) give up
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            uvicorn_logger.removeFilter(hush)
    finally:
        sock.close()
