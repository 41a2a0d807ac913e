"""What ``add`` needs for each order type, and the panel's words when a field is refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import attrs

from .._validate import LIST_FIELDS
from ._catalogue import FakeService, fold

__all__ = ["Placement", "Refusal", "check_add", "sample_fields"]


class Refusal(Exception):
    """The panel's error answer: ``{"error": message}``, raised where the check fails."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@attrs.frozen
class Placement:
    """An accepted ``add``: what to deliver and what it costs."""

    quantity: int
    charge: Decimal
    runs: int = 1
    interval: int = 0
    expiry: dt.date | None = None


# Where the quantity comes from, and the fields each type needs besides ``link``.
_QUANTITY, _ONE, _COMMENTS, _USERNAMES = "quantity", "one", "comments", "usernames"
_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": (_QUANTITY, ()),
    "package": (_ONE, ()),
    "custom comments": (_COMMENTS, ("comments",)),
    "mentions with hashtags": (_QUANTITY, ("usernames", "hashtags")),
    "mentions custom list": (_USERNAMES, ("usernames",)),
    "mentions hashtag": (_QUANTITY, ("hashtag",)),
    "mentions user followers": (_QUANTITY, ("username",)),
    "mentions media likers": (_QUANTITY, ("media",)),
    "custom comments package": (_ONE, ("comments",)),
    "comment likes": (_QUANTITY, ("username",)),
    "poll": (_QUANTITY, ("answer_number",)),
    "comment replies": (_COMMENTS, ("username", "comments")),
    "invites from groups": (_QUANTITY, ("groups",)),
}


def _lines(text: str) -> list[str]:
    """A list field: lines separated by ``\\r\\n`` or ``\\n``, blank ones ignored."""
    return [line for line in (part.strip() for part in text.splitlines()) if line]


def _word(text: str) -> bool:
    """A single value (link, username, hashtag): non-empty, without whitespace."""
    return bool(text) and len(text.split()) == 1


def _count(text: str | None) -> int:
    """A number the way PHP's ``intval`` reads a form field: 0 when missing or not digits."""
    if text is None:
        return 0
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else 0


def _in_range(service: FakeService, quantity: int) -> None:
    if quantity < service.min:
        raise Refusal(f"Quantity less than minimal {service.min}")
    if quantity > service.max:
        raise Refusal(f"Quantity more than maximal {service.max}")


def check_add(service: FakeService, form: Mapping[str, str], delays: frozenset[int]) -> Placement:
    """Check an ``add``'s fields for the service's order type; raise ``Refusal`` if refused."""
    kind = fold(service.type)
    if kind == "subscriptions":
        return _subscription(service, form, delays)
    source, needs = _RULES[kind]
    if not _word(form.get("link", "").strip()):
        raise Refusal("Bad link")
    for name in needs:
        value = form.get(name, "")
        if name == "answer_number":
            ok = _count(value) > 0
        elif name in LIST_FIELDS:
            ok = bool(_lines(value))
        else:
            ok = _word(value.strip())
        if not ok:
            raise Refusal(f"Incorrect {name.replace('_', ' ')}")
    if source == _ONE:
        return Placement(quantity=1, charge=service.cost(1))
    if source == _COMMENTS:
        quantity = len(_lines(form["comments"]))
    elif source == _USERNAMES:
        quantity = len(_lines(form["usernames"]))
    else:
        quantity = _count(form.get("quantity"))
    _in_range(service, quantity)
    runs, interval = 1, 0
    if kind == "default" and (form.get("runs") or form.get("interval")):
        if not service.dripfeed:
            raise Refusal("Drip-feed is disabled for this service")
        runs, interval = _count(form.get("runs")), _count(form.get("interval"))
        if runs < 2:
            raise Refusal("Incorrect runs: drip-feed needs at least 2")
        if interval < 1:
            raise Refusal("Incorrect interval in minutes")
    total = quantity * runs
    return Placement(quantity=total, charge=service.cost(total), runs=runs, interval=interval)


def _subscription(
    service: FakeService, form: Mapping[str, str], delays: frozenset[int]
) -> Placement:
    """Subscriptions take ``username``, ``min``/``max`` per post, ``delay`` and an expiry.

    They are charged up front for ``max`` on each post they may cover (``posts``, or one
    post when unlimited, plus ``old_posts``).
    """
    if not _word(form.get("username", "").strip()):
        raise Refusal("Incorrect username")
    low, high = _count(form.get("min")), _count(form.get("max"))
    _in_range(service, low)
    _in_range(service, high)
    if low > high:
        raise Refusal("Incorrect min: greater than max")
    delay = form.get("delay", "").strip()
    if not (delay.isascii() and delay.isdigit() and int(delay) in delays):
        raise Refusal("Incorrect delay")
    posts = _optional_count(form, "posts")
    old_posts = _optional_count(form, "old_posts")
    expiry = None
    if form.get("expiry", "").strip():
        try:
            expiry = dt.datetime.strptime(form["expiry"].strip(), "%d/%m/%Y").date()
        except ValueError:
            raise Refusal("Incorrect expiry date, expected d/m/Y") from None
    units = high * ((posts or 1) + old_posts)
    return Placement(quantity=units, charge=service.cost(units), expiry=expiry)


def _optional_count(form: Mapping[str, str], name: str) -> int:
    value = form.get(name, "").strip()
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()):
        raise Refusal(f"Incorrect {name.replace('_', ' ')}")
    return int(value)


def sample_fields(service: FakeService, quantity: int) -> dict[str, str]:
    """Plausible fields for ``FakePanel.place``: ``quantity`` lines for list-sized types."""
    kind = fold(service.type)
    if kind == "subscriptions":
        return {"username": "fake_user", "min": str(quantity), "max": str(quantity), "delay": "0"}
    source, needs = _RULES[kind]
    size = quantity if source in (_COMMENTS, _USERNAMES) else 3
    samples = {
        "comments": "\n".join(f"Great post {n}!" for n in range(1, size + 1)),
        "usernames": "\n".join(f"user{n}" for n in range(1, size + 1)),
        "hashtags": "#fake\n#panel",
        "hashtag": "fake",
        "username": "fake_user",
        "media": "https://example.com/p/media",
        "answer_number": "1",
        "groups": "https://t.me/group_one\nhttps://t.me/group_two",
    }
    return {name: samples[name] for name in needs}
