"""``smmpanel demo``: a guided tour of the library against a fake panel served in-process.

The tour uses the public API over real HTTP, as a user's script would, so it doubles as an
end-to-end check: CI runs it without a terminal, and it must finish in seconds and exit 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal

import anyio
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._client import Panel
from .._errors import SMMPanelError
from .._models import Bulk, OrderStatus, Service
from ..testing import FakePanel

__all__ = ["run_demo"]

_PROFILE = "https://instagram.com/fake_user"
_POST = "https://instagram.com/p/C0ffee"


def run_demo(*, orders: int = 3000) -> int:
    """Serve a ``FakePanel`` on a free local port and tour the client against it."""
    console = Console(highlight=False)
    if not console.is_terminal:  # a log file: wide enough that tables need not fold
        console = Console(highlight=False, width=110)
    started = time.perf_counter()
    # Enough money for the bulk orders (0.09 each) and the tour's own.
    fake = FakePanel(realtime=True, balance=Decimal(1000 * (1 + orders // 10_000)))
    with fake.serve() as url:
        tour = Tour(console, fake, url, orders)
        anyio.run(tour.run)
    console.rule()
    console.print(
        f"[bold green]Done[/] in {time.perf_counter() - started:.1f} s, "
        f"{len(fake.requests)} requests to the fake panel. "
        "Try it yourself: [bold]smmpanel fake-panel[/], then [bold]smmpanel --help[/]."
    )
    return 0


class Tour:
    """The demo's steps, in order; each prints what it does, the code, and what came back."""

    def __init__(self, console: Console, fake: FakePanel, url: str, orders: int) -> None:
        self.out = console
        self.fake = fake
        self.url = url
        self.count = orders
        self.placed: dict[str, int] = {}
        """The tour's own orders, by kind."""
        self.bulk_ids: list[int] = []
        """The orders placed server-side for the bulk poll."""

    async def run(self) -> None:
        """Every step on one ``Panel``, as an application would hold it."""
        self.section(
            "Connect", f"A FakePanel (smmpanel.testing) serves the SMM panel API at {self.url}."
        )
        self.say("The client talks to it over real HTTP, exactly as it would to a real panel:")
        self.code("async with smmpanel.Panel(url, key) as panel:")
        async with Panel(self.url, self.fake.key) as panel:
            await self.balance(panel)
            await self.services(panel)
            await self.orders(panel)
            await self.bulk(panel)
            await self.clock(panel)
            await self.refill(panel)
            await self.cancel(panel)
            await self.errors(panel)

    # ------------------------------------------------------------------ steps

    async def balance(self, panel: Panel) -> None:
        self.section("Balance", "Money is a Decimal, never a float: no cent is ever lost.")
        self.code("await panel.balance()")
        self.result(repr(await panel.balance()))

    async def services(self, panel: Panel) -> None:
        self.section("Services", "The catalogue, with rates per 1000 and each service's limits.")
        self.code("services = await panel.services()")
        catalogue = await panel.services()
        table = _table("ID", "Name", "Type", "Rate", "Min", "Max", "Refill", "Cancel")
        for service in catalogue[:6]:
            table.add_row(
                str(service.id),
                escape(service.name),
                service.type,
                f"{service.rate}",
                str(service.min),
                str(service.max),
                _yes(service.refill),
                _yes(service.cancel),
            )
        self.out.print(table)
        first: Service = catalogue[0]
        self.say(f"...and {len(catalogue) - 6} more. Service.cost() prices an order:")
        self.code("services[0].cost(1000)")
        self.result(repr(first.cost(1000)))

    async def orders(self, panel: Panel) -> None:
        self.section(
            "Orders of several types",
            "add() takes each order type's fields; list fields take a list of strings.",
        )
        expiry = dt.date.today() + dt.timedelta(days=30)
        comments = [
            "Love this!",
            "So good",
            "Wow",
            "Amazing shot",
            "Great colours",
            "Where is this?",
            "Stunning",
            "Nice one",
            "Perfect light",
            "Goals",
        ]
        calls: list[tuple[str, str, Callable[[], Awaitable[int]]]] = [
            (
                "default",
                f'add(service=1, link="{_PROFILE}", quantity=1000)',
                lambda: panel.add(service=1, link=_PROFILE, quantity=1000),
            ),
            (
                "custom comments",
                f'add(service=3, link="{_POST}", comments=[...10 lines])',
                lambda: panel.add(service=3, link=_POST, comments=comments),
            ),
            (
                "subscription",
                'add(service=11, username="fake_user", min=100, max=150, posts=10, delay=30, '
                f"expiry=date({expiry.year}, {expiry.month}, {expiry.day}))",
                lambda: panel.add(
                    service=11,
                    username="fake_user",
                    min=100,
                    max=150,
                    posts=10,
                    delay=30,
                    expiry=expiry,
                ),
            ),
            (
                "drip-feed",
                f'add(service=1, link="{_PROFILE}", quantity=500, runs=4, interval=30)',
                lambda: panel.add(service=1, link=_PROFILE, quantity=500, runs=4, interval=30),
            ),
            (
                "poll",
                'add(service=12, link="https://x.com/fake/status/1", quantity=200, '
                "answer_number=2)",
                lambda: panel.add(
                    service=12, link="https://x.com/fake/status/1", quantity=200, answer_number=2
                ),
            ),
        ]
        before = (await panel.balance()).amount
        for kind, shown, call in calls:
            self.code(f"await panel.{shown}  # {kind}")
            order = await call()
            self.placed[kind] = order
            self.result(str(order))
        after = (await panel.balance()).amount
        self.say(f"Balance now {after} (these orders cost {before - after}).")

    async def bulk(self, panel: Panel) -> None:
        self.section(
            f"A bulk status poll of {self.count:,} orders",
            "iter_statuses() sends 100 IDs per request, 8 requests at a time, and yields each "
            "chunk's Bulk as it completes; memory stays flat however many IDs stream in.",
        )
        self.say(f"First the fake places {self.count:,} orders server-side, as if made earlier:")
        self.code("ids = [fake.place(1, 100, link=...) for n in range(...)]")
        self.bulk_ids = [
            self.fake.place(1, 100, link=f"https://instagram.com/user{n}")
            for n in range(self.count)
        ]
        unknown = [999_000_001, 999_000_002, 999_000_003]
        self.say("Then we poll them, with three IDs the panel does not know at the end:")
        self.code("async for bulk in panel.iter_statuses(ids):  # bulk.ok, bulk.errors")
        requests = len(self.fake.requests)
        started = time.perf_counter()
        counts: Counter[str] = Counter()
        errors: dict[int, SMMPanelError] = {}
        ids = [*self.bulk_ids, *unknown]
        with _progress(self.out, len(ids)) as advance:
            async for bulk in panel.iter_statuses(ids):
                counts.update(status.status.value for status in bulk.ok.values())
                errors.update(bulk.errors)
                advance(len(bulk))
        seconds = time.perf_counter() - started
        sent = len(self.fake.requests) - requests
        self.say(
            f"{len(ids):,} IDs answered in {seconds:.2f} s with {sent} requests "
            f"({len(ids) / max(seconds, 1e-9):,.0f} IDs/s)."
        )
        self.out.print(_counts(counts, errors))

    async def clock(self, panel: Panel) -> None:
        self.section(
            "Time passes",
            "Orders move Pending -> In progress -> Completed (or Partial) on the fake's clock; "
            "fake.advance(seconds) jumps it ahead.",
        )
        ids = list(self.placed.values())
        kinds = {order: kind for kind, order in self.placed.items()}
        for step in (0, 10, 7200):
            if step:
                self.code(f"fake.advance({step})")
                self.fake.advance(step)
            self.code("await panel.statuses(ids)")
            bulk = await panel.statuses(ids)
            self.out.print(_status_table(bulk, kinds))
        self.say(f"The {self.count:,} bulk orders, two hours later:")
        later = await panel.statuses(self.bulk_ids)
        self.out.print(_counts(Counter(s.status.value for s in later.ok.values()), later.errors))

    async def refill(self, panel: Panel) -> None:
        self.section(
            "Refill",
            "A completed order of a service with refill can be refilled; multi-ID calls "
            "return a Bulk with each ID's result or error.",
        )
        default, comments = self.placed["default"], self.placed["custom comments"]
        self.code(f"await panel.refills([{default}, {comments}])")
        bulk = await panel.refills([default, comments])
        self.out.print(_bulk_table(bulk, "Refill ID"))
        for refill in bulk.ok.values():
            self.code(f"await panel.refill_status({refill})")
            self.result(repr(await panel.refill_status(refill)))
            self.code("fake.advance(20)")
            self.fake.advance(20)
            self.code(f"await panel.refill_status({refill})")
            self.result(repr(await panel.refill_status(refill)))

    async def cancel(self, panel: Panel) -> None:
        self.section(
            "Cancel",
            "Only orders that have not started can be canceled; the charge is refunded.",
        )
        self.code(f'order = await panel.add(service=1, link="{_PROFILE}", quantity=2000)')
        fresh = await panel.add(service=1, link=_PROFILE, quantity=2000)
        self.result(str(fresh))
        done = self.placed["default"]
        self.code(f"await panel.cancel([{fresh}, {done}])")
        bulk = await panel.cancel([fresh, done])
        self.out.print(_bulk_table(bulk, "Answer"))
        self.code(f"await panel.status({fresh})")
        self.result(repr(await panel.status(fresh)))

    async def errors(self, panel: Panel) -> None:
        self.section(
            "Errors",
            "The panel's refusals become exceptions you can catch by kind, all under "
            "smmpanel.SMMPanelError; none of them ever holds the API key.",
        )
        balance = self.fake.balance

        async def poor() -> object:
            self.fake.balance = Decimal("0.50")  # the fake lets us empty the account
            try:
                return await panel.add(service=1, link=_PROFILE, quantity=10_000)
            finally:
                self.fake.balance = balance

        async def wrong_key() -> object:
            async with Panel(self.url, "not-the-key") as other:
                return await other.balance()

        tries: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            (
                "add(service=999, ...)",
                lambda: panel.add(service=999, link=_PROFILE, quantity=100),
            ),
            ("status(987654321)", lambda: panel.status(987_654_321)),
            (
                "add(service=1, ..., quantity=5_000_000)",
                lambda: panel.add(service=1, link=_PROFILE, quantity=5_000_000),
            ),
            ("add(service=1, ..., quantity=10_000)  # 0.50 left", poor),
            ('Panel(url, "not-the-key").balance()', wrong_key),
        ]
        table = _table("Call", "Raises", "Message")
        for shown, attempt in tries:
            try:
                await attempt()
            except SMMPanelError as error:
                name = f"[red]{type(error).__name__}[/]"
                table.add_row(escape(shown), name, escape(error.message))
            else:  # pragma: no cover - the fake refuses each of these
                table.add_row(escape(shown), "[yellow]nothing[/]", "")
        self.out.print(table)

    # ------------------------------------------------------------------ printing

    def section(self, title: str, text: str) -> None:
        self.out.print()
        self.out.rule(f"[bold]{escape(title)}", align="left")
        self.say(text)

    def say(self, text: str) -> None:
        self.out.print(escape(text))

    def code(self, text: str) -> None:
        self.out.print(f"  [cyan]>>> {escape(text)}[/]", soft_wrap=True)

    def result(self, text: str) -> None:
        self.out.print(f"  {escape(text)}", soft_wrap=True)


def _table(*headers: str) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2, 0, 0))
    for header in headers:
        table.add_column(header)
    return table


def _yes(flag: bool | None) -> str:
    return "?" if flag is None else "yes" if flag else "no"


def _status_table(bulk: Bulk[OrderStatus], kinds: dict[int, str]) -> Table:
    table = _table("Order", "Kind", "Status", "Charge", "Start count", "Remains")
    for order, status in bulk.ok.items():
        table.add_row(
            str(order),
            kinds.get(order, ""),
            status.status.value,
            str(status.charge) if status.charge is not None else "",
            str(status.start_count) if status.start_count is not None else "",
            str(status.remains) if status.remains is not None else "",
        )
    for order, error in bulk.errors.items():
        table.add_row(str(order), kinds.get(order, ""), f"[red]{escape(error.message)}[/]")
    return table


def _bulk_table(bulk: Bulk[int], what: str) -> Table:
    table = _table("Order", what, "Error")
    for order, value in bulk.ok.items():
        table.add_row(str(order), str(value), "")
    for order, error in bulk.errors.items():
        table.add_row(str(order), "", f"[red]{type(error).__name__}: {escape(error.message)}[/]")
    return table


def _counts(counts: Counter[str], errors: dict[int, SMMPanelError]) -> Table:
    table = _table("Status", "Orders")
    for word, count in counts.most_common():
        table.add_row(word, f"{count:,}")
    by_error = Counter(f"{type(e).__name__}: {e.message}" for e in errors.values())
    for text, count in by_error.most_common():
        table.add_row(f"[red]{escape(text)}[/]", f"{count:,}")
    return table


@contextlib.contextmanager
def _progress(console: Console, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; elsewhere (CI, a file) nothing, as a summary follows."""
    if not console.is_terminal:
        yield lambda count: None
        return
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("statuses", total=total)
        yield lambda count: bar.advance(task, count)
