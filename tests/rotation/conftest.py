"""A local emulated deployment (reference site + SDK app) and helpers to inspect it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drill.world import LocalWorld, local_world
from emulator.topology import REFERENCE_SITE


@dataclass
class Look:
    """Reads the emulated world directly (no SDK): keys, versions, environments."""

    local: LocalWorld

    @property
    def account(self) -> str:
        return self.local.world.account.name

    def keys(self) -> dict[str, str]:
        return self.local.state.keys(self.account)

    def versions(self) -> list[Any]:
        world = self.local.world
        return self.local.state.secret_versions(world.vault.name, world.secret_name)

    def latest(self) -> Any:
        return self.versions()[-1]

    def latest_works(self) -> bool:
        """The invariant: the latest version holds a key the AI endpoint accepts."""
        return self.local.state.key_accepted(self.local.world.account, self.latest().value)

    def site_key(self) -> str:
        return self.local.state.site_environment(REFERENCE_SITE)["AZURE_AI_API_KEY"]

    def sdk_version(self) -> str | None:
        cached = self.local.key_clients[0].cached
        return cached.version if cached else None


@pytest.fixture
def local() -> Iterator[LocalWorld]:
    with local_world(key_max_age=0.02) as world:
        yield world


@pytest.fixture
def look(local: LocalWorld) -> Look:
    return Look(local)


@pytest.fixture(scope="session")
def storage():
    """Azurite (npm `azurite`, Microsoft's storage emulator): real blob leases and queues, as the
    Blob and Queue service REST APIs define them. One per session, on loopback."""
    from emulator.azurite import azurite

    with azurite() as running:
        yield running
