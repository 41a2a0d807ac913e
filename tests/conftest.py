"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["_tracker_fixtures", "pytester"]  # store fixtures; pytester for the plugin test

settings.register_profile(
    "fast", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``anyio``-marked test once per backend."""
    return str(request.param)


# Tests that serve a FakePanel over real HTTP (uvicorn, from the cli extra): skipped, with a
# reason, in the session that installs only the core dependencies (nox -s tests_core).
_OVER_HTTP = {
    "test_sync_panels_from_toml_over_http",
    "test_balances_over_http_with_a_closed_port",
    "test_a_panel_that_is_down_never_hides_the_others_over_http",
    "test_the_shared_transport_keeps_one_small_pool_per_host",
    "test_from_toml_uses_a_given_client_and_leaves_it_open",
    "test_from_toml_over_http_shares_one_pool_and_closes_it",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the over-HTTP tests of Panels when uvicorn is not installed."""
    try:
        import uvicorn  # noqa: F401
    except ModuleNotFoundError:
        skip = pytest.mark.skip(reason="serving over HTTP needs the cli extra (uvicorn)")
        for item in items:
            if getattr(item, "originalname", item.name) in _OVER_HTTP:
                item.add_marker(skip)
