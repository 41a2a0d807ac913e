"""The public surface is exactly API.md's names: ``__all__`` cannot drift."""

from __future__ import annotations

import enum
import importlib
import inspect
import types
from decimal import Decimal

import attrs
import pytest

import smmpanel
from smmpanel._validate import FIELDS

PUBLIC = {
    # the client
    "Panel",
    "Watch",
    # many panels as one
    "Panels",
    "Catalogue",
    "CatalogueDiff",
    "diff",
    # models
    "Balance",
    "Bulk",
    "OrderStatus",
    "RefillState",
    "RefillStatus",
    "Service",
    "Status",
    # errors and warnings
    "SMMPanelError",
    "PanelError",
    "AuthenticationError",
    "InsufficientFundsError",
    "NotFoundError",
    "InvalidRequestError",
    "RateLimitError",
    "TransportError",
    "UncertainOrderError",
    "ProtocolError",
    "InsecureURLWarning",
    # metadata
    "__version__",
}


def test_all_is_exactly_the_public_names() -> None:
    """smmpanel.__all__ holds exactly the names API.md fixes, plus __version__."""
    assert set(smmpanel.__all__) == PUBLIC
    assert len(smmpanel.__all__) == len(set(smmpanel.__all__))


def test_all_is_exactly_what_the_package_exposes() -> None:
    """Every public attribute of smmpanel is in __all__ and vice versa: nothing leaks.

    As httpx's test_exported_members: submodules (``smmpanel.testing``) are not members.
    """
    exposed = {
        name
        for name, value in vars(smmpanel).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert exposed == set(smmpanel.__all__) - {"__version__"}


def test_add_names_every_field_of_the_field_table() -> None:
    """Panel.add's keyword fields are exactly the table that formats them, in its order."""
    parameters = inspect.signature(smmpanel.Panel.add).parameters
    named = [name for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY]
    assert named == ["service", *FIELDS]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_name_is_importable(name: str) -> None:
    """Each public name is an attribute of the package and importable with from-import."""
    module = importlib.import_module("smmpanel")
    assert getattr(module, name) is not None
    namespace: dict[str, object] = {}
    exec(f"from smmpanel import {name}", namespace)
    assert namespace[name] is getattr(smmpanel, name)


def test_public_classes_live_in_the_package_namespace() -> None:
    """Public classes come from smmpanel's own private modules, re-exported."""
    for name in PUBLIC - {"__version__"}:
        assert getattr(smmpanel, name).__module__.startswith("smmpanel")


def test_version_is_a_string() -> None:
    """__version__ is a non-empty version string."""
    assert isinstance(smmpanel.__version__, str)
    assert smmpanel.__version__[:1].isdigit()


INSTANCES = [
    smmpanel.Balance(Decimal("1.5"), "USD"),
    smmpanel.Service(1, "n", "Default", "c", Decimal(1), 10, 100),
    smmpanel.OrderStatus(1, smmpanel.Status.PENDING),
    smmpanel.RefillStatus(1, smmpanel.RefillState.PENDING),
]


@pytest.mark.parametrize("instance", INSTANCES, ids=lambda i: type(i).__name__)
def test_models_are_frozen_attrs_classes(instance: object) -> None:
    """The models are frozen attrs classes: fields cannot be reassigned."""
    assert attrs.has(type(instance))
    first = attrs.fields(type(instance))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, first, 2)


@pytest.mark.parametrize(
    ("enum_class", "members"),
    [
        (
            smmpanel.Status,
            {
                "PENDING",
                "IN_PROGRESS",
                "PROCESSING",
                "COMPLETED",
                "PARTIAL",
                "CANCELED",
                "REFUNDED",
                "ACTIVE",
                "AWAITING",
                "PAUSED",
                "EXPIRED",
                "FAILED",
                "UNKNOWN",
            },
        ),
        (
            smmpanel.RefillState,
            {"PENDING", "IN_PROGRESS", "COMPLETED", "REJECTED", "FAILED", "UNKNOWN"},
        ),
    ],
)
def test_enums_have_exactly_the_api_members(enum_class: type[enum.Enum], members: set[str]) -> None:
    """Status and RefillState have exactly the members API.md lists."""
    assert {member.name for member in enum_class} == members


def test_model_fields_are_the_api_fields() -> None:
    """Each model has the fields API.md names, in that order."""
    names = {
        model: [f.name for f in attrs.fields(model)]
        for model in (
            smmpanel.Balance,
            smmpanel.Service,
            smmpanel.OrderStatus,
            smmpanel.RefillStatus,
        )
    }
    assert names[smmpanel.Balance] == ["amount", "currency"]
    assert names[smmpanel.Service] == [
        "id",
        "name",
        "type",
        "category",
        "rate",
        "min",
        "max",
        "refill",
        "cancel",
        "dripfeed",
        "description",
        "extra",
    ]
    assert names[smmpanel.OrderStatus] == [
        "order",
        "status",
        "charge",
        "start_count",
        "remains",
        "currency",
        "raw_status",
        "extra",
    ]
    assert names[smmpanel.RefillStatus] == ["refill", "status", "raw_status"]
