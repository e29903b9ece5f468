"""Fixtures: a fresh emulated world per test, its identity environment and a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import emulator


@pytest.fixture(autouse=True)
def _fresh_challenge_cache() -> Iterator[None]:
    # Key Vault's challenge cache is process-wide: a vault name reused across tests must
    # see its own 401 challenge.
    emulator.clear_challenge_cache()
    yield
    emulator.clear_challenge_cache()


@pytest.fixture
def clock() -> emulator.ManualClock:
    return emulator.ManualClock(start=1_800_000_000.0)


@pytest.fixture
def state(clock: emulator.ManualClock) -> emulator.AzureState:
    return emulator.AzureState(clock=clock)


@pytest.fixture
def world(state: emulator.AzureState) -> emulator.World:
    return emulator.seed_world(state)


@pytest.fixture
def site_env(world: emulator.World, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """IDENTITY_ENDPOINT/IDENTITY_HEADER of the world's site, set in os.environ."""
    values = emulator.identity_env(world.state, world.site.name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
