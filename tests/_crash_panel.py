"""A scripted panel for the crash test, served in its own process (it outlives the tracker).

``python tests/_crash_panel.py PORT STORE`` serves three panels, ``/p0/api/v2`` ..
``/p2/api/v2``. Order ``n`` goes through a sequence of statuses fixed by its ID
(``stages(n)``) and stays at its last. It moves one step when it is asked for and the
tracker's store already holds its current step: a status lasts until the tracker has
recorded it, as a real status lasts far longer than one poll. A kill between the panel's
answer and the tracker's commit can then delay a step but never hide it, so every step
served must show up as exactly one event. Each panel keeps, per order, the distinct
statuses it served in order; ``action=served`` returns them as JSON.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import parse_qsl

KEY = "crash-key"
_FINAL = ("Completed", "Partial", "Canceled")


def stages(order: int) -> list[tuple[str, int]]:
    """The (status word, remains) steps order ``order`` goes through."""
    quantity = 100 + order % 7 * 10
    steps = [("Pending", quantity)]
    if order % 3 == 1:
        steps.append(("In progress", quantity - 10))
    steps.append((_FINAL[order % 3], 0 if order % 3 == 0 else quantity // 2))
    return steps


class Panel:
    """One scripted panel's counters and served log."""

    def __init__(self) -> None:
        self.step: dict[int, int] = {}
        self.served: dict[int, list[tuple[str, int]]] = {}

    def status(self, order: int, recorded: tuple[str, int] | None) -> dict[str, Any]:
        steps = stages(order)
        step = self.step.get(order, 0)
        if recorded == steps[step] and step < len(steps) - 1:
            step = self.step[order] = step + 1
        word, remains = steps[step]
        log = self.served.setdefault(order, [])
        if not log or log[-1] != (word, remains):
            log.append((word, remains))
        return {
            "charge": "0.50000",
            "start_count": "1000",
            "status": word,
            "remains": str(remains),
            "currency": "USD",
        }


PANELS = {f"p{n}": Panel() for n in range(3)}
STORE: Any = None  # the tracker's store (an SQLAlchemy engine), read-only here


def recorded(panel: str, orders: list[int]) -> dict[int, tuple[str, int]]:
    """What the tracker's store holds for these orders: (raw status, remains)."""
    from sqlalchemy import text

    query = text(
        "SELECT order_id, state FROM smmpanel_orders WHERE panel = :panel"
        f" AND state IS NOT NULL AND order_id IN ({','.join(map(str, orders))})"
    )
    with STORE.connect() as conn:
        states = {row[0]: json.loads(row[1]) for row in conn.execute(query, {"panel": panel})}
    # A state is [order, status, raw_status, charge, start_count, remains, currency, extra].
    return {order: (state[2], state[5]) for order, state in states.items()}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    form = dict(parse_qsl(body.decode()))
    name = scope["path"].strip("/").split("/")[0]
    panel = PANELS.get(name)
    if panel is None or form.get("key") != KEY:
        answer: Any = {"error": "Invalid API key"}
    elif form.get("action") == "served":
        answer = {str(order): log for order, log in panel.served.items()}
    elif form.get("action") == "status" and "orders" in form:
        orders = [int(token) for token in form["orders"].split(",")]
        known = recorded(name, orders)
        answer = {str(order): panel.status(order, known.get(order)) for order in orders}
    else:
        answer = {"error": "Incorrect request"}
    data = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


if __name__ == "__main__":
    import sqlalchemy
    import uvicorn

    STORE = sqlalchemy.create_engine(sys.argv[2])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
