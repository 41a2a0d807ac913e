"""The fake's service catalogue: one service per order type the panel documents describe."""

from __future__ import annotations

from decimal import Decimal

import attrs

__all__ = ["DEFAULT_SERVICES", "ORDER_TYPES", "FakeService", "fold", "to_decimal"]

ORDER_TYPES = (
    "Default",
    "Package",
    "Custom Comments",
    "Mentions with Hashtags",
    "Mentions Custom List",
    "Mentions Hashtag",
    "Mentions User Followers",
    "Mentions Media Likers",
    "Custom Comments Package",
    "Comment Likes",
    "Subscriptions",
    "Poll",
    "Comment Replies",
    "Invites from Groups",
)
"""The order types of the seed documents; a service's ``type`` decides what ``add`` needs."""

_FOLDED_TYPES = frozenset(name.lower() for name in ORDER_TYPES)


def fold(type_name: str) -> str:
    """Order types are compared without case or surrounding spaces, as panels spell them loosely."""
    return " ".join(type_name.lower().split())


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Money from a Decimal, an int or a string; never a float, which would lose cents."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"expected a Decimal, int or str amount, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    return number


@attrs.frozen
class FakeService:
    """One catalogue entry. ``rate`` is the price per 1000, as on every panel.

    Package types (``Package``, ``Custom Comments Package``) sell one unit per order, so
    their ``rate`` is the price of 1000 packages and ``cost(1)`` is one package's price.
    """

    id: int
    name: str
    type: str = "Default"
    category: str = "Fake services"
    rate: Decimal = attrs.field(default=Decimal("1.00"), converter=to_decimal)
    min: int = 10
    max: int = 100_000
    refill: bool = False
    cancel: bool = False
    dripfeed: bool = False
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int) or self.id <= 0:
            raise ValueError(f"service id must be a positive int, got {self.id!r}")
        if fold(self.type) not in _FOLDED_TYPES:
            raise ValueError(f"unknown order type {self.type!r}; known: {', '.join(ORDER_TYPES)}")
        if not 1 <= self.min <= self.max:
            raise ValueError(f"need 1 <= min <= max, got min={self.min} max={self.max}")
        if self.rate < 0:
            raise ValueError(f"rate must not be negative, got {self.rate}")

    def cost(self, quantity: int) -> Decimal:
        """What ``quantity`` units cost: ``rate * quantity / 1000``, exact."""
        return self.rate * quantity / 1000


DEFAULT_SERVICES: tuple[FakeService, ...] = (
    FakeService(
        1,
        "Instagram Followers [Refill 30D] [Max 100K] [Start 0-1H]",
        "Default",
        "Instagram - Followers [Guaranteed/Refill]",
        Decimal("0.90"),
        50,
        100_000,
        refill=True,
        cancel=True,
        dripfeed=True,
        description="Link: profile URL. Speed: 10K/day. Drip-feed available. 30 days refill.",
    ),
    FakeService(
        2,
        "Instagram Auto Likes Package [10 posts x 100 likes]",
        "Package",
        "Instagram - Packages",
        Decimal("2500.00"),
        1,
        1,
        description="Link: profile URL. One package per order.",
    ),
    FakeService(
        3,
        "Instagram Custom Comments [Worldwide]",
        "Custom Comments",
        "Instagram - Comments",
        Decimal("8.00"),
        10,
        1500,
        cancel=True,
        description="Link: post URL. One comment per line.",
    ),
    FakeService(
        4,
        "Instagram Mentions [Users + Hashtags]",
        "Mentions with Hashtags",
        "Instagram - Mentions",
        Decimal("3.20"),
        100,
        50_000,
        description="Link: post URL. Mentions the given users, with the given hashtags.",
    ),
    FakeService(
        5,
        "Instagram Mentions [Custom List]",
        "Mentions Custom List",
        "Instagram - Mentions",
        Decimal("4.50"),
        10,
        10_000,
        description="Link: post URL. One username per line.",
    ),
    FakeService(
        6,
        "Instagram Mentions [Hashtag Users]",
        "Mentions Hashtag",
        "Instagram - Mentions",
        Decimal("2.80"),
        100,
        50_000,
        description="Link: post URL. Mentions users who posted with the hashtag.",
    ),
    FakeService(
        7,
        "Instagram Mentions [User Followers]",
        "Mentions User Followers",
        "Instagram - Mentions",
        Decimal("2.60"),
        100,
        50_000,
        description="Link: post URL. Mentions the followers of the given account.",
    ),
    FakeService(
        8,
        "Instagram Mentions [Media Likers]",
        "Mentions Media Likers",
        "Instagram - Mentions",
        Decimal("2.70"),
        100,
        50_000,
        description="Link: post URL. Mentions the likers of the given media.",
    ),
    FakeService(
        9,
        "Instagram Custom Comments Package [10 comments]",
        "Custom Comments Package",
        "Instagram - Comments",
        Decimal("1500.00"),
        1,
        1,
        description="Link: post URL. Up to 10 comments, one per line.",
    ),
    FakeService(
        10,
        "Instagram Comment Likes [Fast] [Refill 30D]",
        "Comment Likes",
        "Instagram - Comment Likes",
        Decimal("1.02"),
        20,
        20_000,
        refill=True,
        description="Link: post URL; username: the comment's owner.",
    ),
    FakeService(
        11,
        "Instagram Auto Likes [Subscription] [Per Post]",
        "Subscriptions",
        "Instagram - Auto Likes",
        Decimal("0.45"),
        50,
        20_000,
        description="Username: the account to watch; likes each new post.",
    ),
    FakeService(
        12,
        "Twitter Poll Votes [Any Answer]",
        "Poll",
        "Twitter - Poll Votes",
        Decimal("1.80"),
        100,
        100_000,
        cancel=True,
        description="Link: tweet URL; answer_number: 1-4.",
    ),
    FakeService(
        13,
        "YouTube Comment Replies [Custom]",
        "Comment Replies",
        "YouTube - Comments",
        Decimal("12.00"),
        5,
        1000,
        description="Link: video URL; username: the comment's owner. One reply per line.",
    ),
    FakeService(
        14,
        "Telegram Group Members [Invites from Groups]",
        "Invites from Groups",
        "Telegram - Members",
        Decimal("3.60"),
        500,
        50_000,
        refill=True,
        cancel=True,
        description="Link: group URL; groups: source groups, one per line.",
    ),
)
"""The default catalogue: rates as Decimal, some services with refill/cancel, some without."""
