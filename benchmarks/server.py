"""A FakePanel served by uvicorn in its own process, answering every ID (``auto_orders``).

``python -m benchmarks.server --latency 0.05`` prints the port it listens on, then serves
until killed. Its own process, so its CPU never counts as the client's.
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from smmpanel.testing import FakePanel

KEY = "bench-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    # IPPROTO_TCP so asyncio sets TCP_NODELAY on every accepted connection (see FakePanel.serve).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    fake = FakePanel(key=KEY, auto_orders=True, latency=args.latency)
    config = uvicorn.Config(
        fake, log_level="warning", access_log=False, lifespan="off", backlog=2048
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(0)


if __name__ == "__main__":
    main()
