"""What the issue 9 tests share: a MockTransport panel, canned answers, and key checks."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

import httpx

import smmpanel

URL = "https://panel.example/api/v2"
KEY = "s3cr3t/k\u00e9y+&<0123456789>"
OK = {"charge": "0.27819", "start_count": "3572", "status": "Partial", "remains": "157"}

Handler = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def pairs(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.content.decode(), keep_blank_values=True)


class Recorder:
    """A MockTransport handler that answers from ``answer`` and keeps every request."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        return self.answer(request)


def panel(handler: Handler, **options: Any) -> smmpanel.Panel:
    options.setdefault("backoff", 0)
    return smmpanel.Panel(URL, KEY, transport=httpx.MockTransport(handler), **options)


def json_answer(data: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=data)


def text_answer(text: str, status: int = 200, **headers: str) -> Handler:
    return lambda request: httpx.Response(status, text=text, headers=headers)


def key_forms(key: str = KEY) -> list[str]:
    """Every form a panel may echo the key in."""
    escaped = json.dumps(key)[1:-1]
    return [
        key,
        quote_plus(key),
        quote(key, safe=""),
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(key, ensure_ascii=False)[1:-1].replace("/", "\\/"),
        html.escape(key),
        html.escape(key, quote=False),
        "".join(f"&#{ord(c)};" for c in key),
    ]


def assert_no_key(error: BaseException) -> None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts = [str(current), repr(current), repr(current.args), repr(vars(current))]
        for text in texts:
            for form_ in key_forms():
                assert form_ not in text, (form_, text)
        current = current.__cause__ or current.__context__
