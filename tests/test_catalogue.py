"""``smmpanel.diff`` and the catalogue cache of ``Panels.services``."""

from __future__ import annotations

from decimal import Decimal

import anyio
import pytest
from _fleet import ErrorOn, Held, fleet, panels_of, service
from anyio import wait_all_tasks_blocked
from hypothesis import given
from hypothesis import strategies as st

import smmpanel
from smmpanel import CatalogueDiff, Panels, ProtocolError, Service, diff
from smmpanel._panels.catalogue import Entry
from smmpanel._panels.cheapest import Query, candidates
from smmpanel.testing import FakePanel

pytestmark = pytest.mark.anyio


def svc(id: int, rate: str = "1.00", **fields: object) -> Service:
    values: dict[str, object] = {
        "name": f"S{id}",
        "type": "Default",
        "category": "C",
        "rate": Decimal(rate),
        "min": 10,
        "max": 1000,
    }
    values.update(fields)
    return Service(id, **values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- diff


def test_diff_lists_added_removed_and_each_changed_field() -> None:
    old = [svc(1), svc(2, "2.00"), svc(3), svc(4)]
    new = [svc(1, "1.50", max=2000), svc(2, "2.00"), svc(4, name="Renamed"), svc(5)]
    result = diff(old, new)
    assert result.suspect is False
    assert result.reason is None
    assert [s.id for s in result.added] == [5]
    assert [s.id for s in result.removed] == [3]
    assert result.changed == [
        (1, "rate", Decimal("1.00"), Decimal("1.50")),
        (1, "max", 1000, 2000),
        (4, "name", "S4", "Renamed"),
    ]
    assert result.changed[0].service_id == 1
    assert result.changed[0].field == "rate"
    assert result


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("rate", Decimal("1"), Decimal("0.9")),
        ("min", 10, 20),
        ("max", 1000, 10),
        ("refill", False, True),
        ("cancel", None, True),
        ("dripfeed", True, False),
        ("name", "a", "b"),
        ("type", "Default", "Package"),
        ("category", "x", "y"),
    ],
)
def test_diff_compares_every_named_field(field: str, old: object, new: object) -> None:
    result = diff([svc(1, **{field: old})], [svc(1, **{field: new})])
    assert result.changed == [(1, field, old, new)]


def test_diff_ignores_the_same_rate_written_differently_and_the_description() -> None:
    old = [svc(1, "1.0", description="old words")]
    new = [svc(1, "1.00", description="new words")]
    assert diff(old, new) == CatalogueDiff()
    assert not diff(old, new)


@pytest.mark.parametrize(
    ("new", "why"),
    [
        (ProtocolError("services: not JSON", action="services"), "error"),
        (None, "no new catalogue"),
        ([], "empty"),
        ([svc(1)], "lost 3 of 4"),
    ],
    ids=["error", "none", "empty", "lost-most"],
)
def test_a_bad_answer_is_suspect_and_never_every_service_removed(new: object, why: str) -> None:
    old = [svc(1), svc(2), svc(3), svc(4)]
    result = diff(old, new)  # type: ignore[arg-type]
    assert result.suspect is True
    assert result.reason is not None
    assert why in result.reason
    assert result.removed == []
    assert result.added == []
    assert result.changed == []
    assert not result


def test_threshold_decides_how_much_loss_is_believed() -> None:
    old = [svc(1), svc(2), svc(3), svc(4)]
    assert diff(old, [svc(1), svc(2)]).suspect is False  # half: not more than half
    assert diff(old, [svc(1)], threshold=0.8).removed == [svc(2), svc(3), svc(4)]
    assert diff(old, [svc(1), svc(2)], threshold=0.25).suspect is True
    with pytest.raises(ValueError, match="threshold"):
        diff(old, old, threshold=1.5)


def test_an_error_or_nothing_as_the_old_side_is_suspect_too() -> None:
    assert diff(ProtocolError("x"), [svc(1)]).suspect is True
    assert diff(None, [svc(1)]).reason == "there is no old catalogue"


def test_a_first_catalogue_after_an_empty_one_is_all_added() -> None:
    result = diff([], [svc(1), svc(2)])
    assert result.suspect is False
    assert [s.id for s in result.added] == [1, 2]
    assert diff([], []) == CatalogueDiff()


services_lists = st.lists(
    st.builds(
        svc,
        st.integers(1, 30),
        st.sampled_from(["0.5", "1.00", "2"]),
        max=st.sampled_from([1000, 5000]),
        refill=st.sampled_from([None, True, False]),
    ),
    max_size=12,
    unique_by=lambda s: s.id,
)


@given(services_lists, services_lists)
def test_diff_invariants(old: list[Service], new: list[Service]) -> None:
    """Rows account for every ID exactly once; a catalogue equals itself."""
    assert diff(old, old) == CatalogueDiff()
    result = diff(old, new, threshold=1.0)
    if old and not new:
        assert result.suspect
        return
    before, after = {s.id for s in old}, {s.id for s in new}
    assert {s.id for s in result.removed} == before - after
    assert {s.id for s in result.added} == after - before
    assert {row.service_id for row in result.changed} <= before & after
    for row in result.changed:
        assert row.old != row.new


# ---------------------------------------------------------------------------- the cache


async def test_services_are_cached_until_max_age_and_refresh_asks_again() -> None:
    fakes = fleet()
    async with Panels(panels_of(fakes)) as panels:
        clock = [1000.0]
        panels._clock = lambda: clock[0]
        first = await panels.services()
        assert list(first) == ["big", "cheap", "euro"]
        assert [s.id for s in first["cheap"]] == [10, 11]
        fakes["cheap"].update_service(10, rate="0.65")
        clock[0] += 899
        assert (await panels.services())["cheap"][0].rate == Decimal("0.70")  # cached
        assert (await panels.services()).age["cheap"] == 899
        clock[0] += 2
        assert (await panels.services())["cheap"][0].rate == Decimal("0.65")  # older than 900 s
        fakes["cheap"].remove_service(11)
        assert [s.id for s in (await panels.services(refresh=True))["cheap"]] == [10]
        assert [s.id for s in (await panels.services(max_age=0))["cheap"]] == [10]
        asked = [r.action for r in fakes["cheap"].requests]
        assert asked.count("services") == 4
    for panel in panels.values():
        await panel.aclose()


async def test_concurrent_callers_share_one_request() -> None:
    fake = FakePanel()
    held = Held(fake.transport())
    panel = smmpanel.Panel(fake.url, fake.key, transport=held)
    async with panel, Panels({"main": panel}) as panels:
        answers: list[smmpanel.Catalogue] = []

        async def ask() -> None:
            answers.append(await panels.services(refresh=True))

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(ask)
            await wait_all_tasks_blocked()
            held.release()
        assert held.arrived == 1
        assert len(answers) == 5
        assert all(answer == answers[0] for answer in answers)
        answers[0]["main"].clear()  # each caller's own list: the cache is untouched
        assert len((await panels.services())["main"]) == len(fake.services)


async def test_a_cancelled_leader_hands_the_request_to_a_waiter() -> None:
    fake = FakePanel()
    held = Held(fake.transport())
    panel = smmpanel.Panel(fake.url, fake.key, transport=held)
    async with panel, Panels({"main": panel}) as panels:
        answers: list[smmpanel.Catalogue] = []
        leader = anyio.CancelScope()

        async def lead() -> None:
            with leader:
                await panels.services()

        async def follow() -> None:
            answers.append(await panels.services())

        async with anyio.create_task_group() as group:
            group.start_soon(lead)
            await wait_all_tasks_blocked()
            group.start_soon(follow)
            await wait_all_tasks_blocked()
            leader.cancel()
            await wait_all_tasks_blocked()
            held.release()
        assert held.arrived == 2  # the waiter asked again
        assert [s.id for s in answers[0]["main"]] == [s.id for s in fake.services]


async def test_an_error_is_not_cached_and_the_last_good_catalogue_stays() -> None:
    fakes = fleet()
    panels_map = panels_of(fakes)
    broken = ErrorOn(fakes["big"].transport(), "services", "Service temporarily unavailable")
    panels_map["flaky"] = smmpanel.Panel(
        fakes["big"].url, fakes["big"].key, transport=broken, retries=0
    )
    async with Panels(panels_map) as panels:
        catalogue = await panels.services()
        assert "flaky" not in catalogue  # never a catalogue: absent, not empty
        assert isinstance(catalogue.errors["flaky"], smmpanel.PanelError)
        assert "temporarily unavailable" in str(catalogue.errors["flaky"])
        assert [s.id for s in catalogue["cheap"]] == [10, 11]  # the others still answer
        # The error was not cached: the next call asks again, and then it works.
        broken.action = "nothing"
        again = await panels.services()
        assert [s.id for s in again["flaky"]] == [1, 2, 3, 4]
        assert not again.errors
        # Broken again on a refresh: the last good catalogue stays, with the error beside it.
        broken.action = "services"
        stale = await panels.services(refresh=True)
        assert [s.id for s in stale["flaky"]] == [1, 2, 3, 4]
        assert set(stale.errors) == {"flaky"}
        assert diff(again["flaky"], stale.errors["flaky"]).suspect
    for panel in panels_map.values():
        await panel.aclose()


async def test_a_panel_that_is_down_never_hides_the_others_over_http() -> None:
    fakes = fleet()
    fakes["big"].inject("refuse", rate=1.0)
    fakes["cheap"].inject("html502", rate=1.0, actions="services")
    with (
        fakes["big"].serve() as big,
        fakes["cheap"].serve() as cheap,
        fakes["euro"].serve() as euro,
    ):
        made = {
            "big": smmpanel.Panel(big, fakes["big"].key, retries=0),
            "cheap": smmpanel.Panel(cheap, fakes["cheap"].key, retries=0),
            "euro": smmpanel.Panel(euro, fakes["euro"].key, retries=0),
        }
        async with Panels(made) as panels:
            catalogue = await panels.services()
        for panel in made.values():
            await panel.aclose()
    assert list(catalogue) == ["euro"]
    assert [s.id for s in catalogue["euro"]] == [20]
    assert isinstance(catalogue.errors["big"], smmpanel.SMMPanelError)
    assert isinstance(catalogue.errors["cheap"], ProtocolError)


def test_suspect_diff_of_a_fake_that_empties_its_catalogue() -> None:
    fake = FakePanel(services=[service(1, "1"), service(2, "1")])

    async def main() -> tuple[list[Service], list[Service]]:
        async with fake.panel() as panel:
            before = await panel.services()
            fake.remove_service(1)
            fake.remove_service(2)
            return before, await panel.services()

    before, after = anyio.run(main)
    assert after == []
    assert diff(before, after).suspect


# ---------------------------------------------------------------------------- cheapest's index

catalogues = st.lists(
    st.builds(
        svc,
        st.integers(1, 40),
        st.sampled_from(["0.5", "0.50", "1", "2.25", "9"]),
        type=st.sampled_from(["Default", "default ", "Package"]),
        min=st.sampled_from([1, 10, 100]),
        max=st.sampled_from([100, 1000]),
        refill=st.sampled_from([None, True, False]),
    ),
    max_size=15,
    unique_by=lambda s: s.id,
)


@given(
    st.lists(catalogues, min_size=1, max_size=4),
    st.sampled_from([None, "Default", "package"]),
    st.sampled_from([None, 1, 50, 500]),
    st.sampled_from([None, True, False]),
)
def test_the_rate_index_finds_what_a_full_scan_finds(
    lists: list[list[Service]], type_: str | None, quantity: int | None, refill: bool | None
) -> None:
    entries = {f"p{i}": Entry(services, 0.0) for i, services in enumerate(lists)}
    query = Query(type_, quantity, refill)
    found = candidates(entries, dict.fromkeys(entries, Decimal(1)), query)
    amount = 1000 if quantity is None else quantity
    scan = [
        (service.cost(amount), panel, position, name, service)
        for panel, (name, services) in enumerate(zip(entries, lists, strict=True))
        for position, service in enumerate(services)
        if (type_ is None or service.type.strip().lower() == type_.lower())
        and query.matches(name, service)
    ]
    if not scan:
        assert found == []
        return
    best = min(scan, key=lambda row: row[:3])
    assert (found[0].name, found[0].service) == (best[3], best[4])
    assert found[0].cost == best[0]


def test_fake_catalogue_changes_between_calls() -> None:
    fake = FakePanel(services=[service(1, "1.00")])
    fake.add_service(service(2, "2.00"))
    assert fake.update_service(1, rate="1.50").rate == Decimal("1.50")
    fake.remove_service(2)

    async def main() -> list[Service]:
        async with fake.panel() as panel:
            return await panel.services()

    assert [(s.id, s.rate) for s in anyio.run(main)] == [(1, Decimal("1.50"))]
    with pytest.raises(ValueError, match="no service 9"):
        fake.update_service(9, rate="1")
    with pytest.raises(ValueError, match="no service 9"):
        fake.remove_service(9)
    with pytest.raises(ValueError, match="already has a service 1"):
        fake.add_service(service(1, "1"))
    with pytest.raises(ValueError, match="min <= max"):
        fake.update_service(1, min=10, max=5)
