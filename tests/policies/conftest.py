"""The engine's variables would make pulumi-policy configure a real runtime: keep them out."""

from __future__ import annotations

import pytest

ENGINE_VARIABLES = ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG")


@pytest.fixture(autouse=True)
def _no_engine_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENGINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
