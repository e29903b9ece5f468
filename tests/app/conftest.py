"""The app against the emulator in memory: real SecretClient and ManagedIdentityCredential."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests

import emulator
from app.ai_client import AiClient
from app.key_client import KeyClient
from app.settings import Settings
from app.web import build_clients, create_app

# Fast SDK backoff: the retries still happen, the waits are short.
FAST_RETRY = {"retry_total": 4, "retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}


@dataclass
class Env:
    """One seeded emulated world and the means to build the app's clients inside it."""

    world: emulator.World
    state: emulator.AzureState
    wsgi: Callable[..., Any]

    @property
    def kv_host(self) -> str:
        return f"{self.world.vault.name}.vault.azure.net"

    def kv_gets(self) -> int:
        """GETs of the secret seen by the emulated vault (challenge requests included)."""
        return self.state.requests(self.kv_host, method="GET", route="/secrets/{name}/{version}")

    def keys(self) -> dict[str, str]:
        return self.state.keys(self.world.account.name)

    def site_env(self) -> dict[str, str]:
        return self.state.site_environment(self.world.site.name)

    def credential(self) -> Any:
        return emulator.managed_identity_credential(self.wsgi)

    def secret_client(self, **options: Any) -> Any:
        from azure.keyvault.secrets import SecretClient

        return SecretClient(
            self.world.vault_url,
            self.credential(),
            transport=emulator.transport(self.wsgi),
            **{**FAST_RETRY, **options},
        )

    def key_client(self, *, env_value: str | None = None, sdk: bool = True, **kw: Any) -> KeyClient:
        return KeyClient(
            self.secret_client() if sdk else None,
            secret_name=self.world.secret_name if sdk else None,
            env_value=env_value,
            **kw,
        )

    def session(self) -> requests.Session:
        return emulator.session(self.wsgi)

    def ai_client(self, key_client: KeyClient, **kw: Any) -> AiClient:
        return AiClient(
            self.world.endpoint, self.world.deployment, key_client, self.session(), **kw
        )

    def rotate(self, slot: str) -> str:
        """Regenerate `slot` and publish it as the new version (tag slot); return the version."""
        value = self.state.regenerate_key(self.world.account.name, slot)
        published = self.state.set_secret(
            self.world.vault.name,
            self.world.secret_name,
            value,
            content_type="text/plain",
            tags={"CredentialId": slot},
        )
        return published.version

    def app(self, environ: dict[str, str] | None = None) -> Any:
        """The Flask app built from the site's environment as App Service injects it."""
        settings = Settings.from_env(environ if environ is not None else self.site_env())
        key_client, ai_client = build_clients(
            settings,
            credential=self.credential(),
            session=self.session(),
            transport=emulator.transport(self.wsgi),
            **FAST_RETRY,
        )
        return create_app(settings, key_client=key_client, ai_client=ai_client)


def make_env(
    wsgi: Callable[[emulator.AzureState], Callable[..., Any]] | None = None, **seed: Any
) -> Env:
    state = emulator.AzureState()
    world = emulator.seed_world(state, **seed)
    app = wsgi(state) if wsgi is not None else emulator.EmulatorApp(state)
    return Env(world, state, app)


@contextmanager
def world_env(
    wsgi: Callable[[emulator.AzureState], Callable[..., Any]] | None = None, **seed: Any
) -> Iterator[Env]:
    """A fresh world (optionally behind a WSGI wrapper) with the site's identity environment."""
    built = make_env(wsgi, **seed)
    emulator.clear_challenge_cache()
    with emulator.identity_environment(built.state, built.world.site.name):
        yield built
    emulator.clear_challenge_cache()


@pytest.fixture
def env() -> Iterator[Env]:
    """A fresh world; the site's managed identity environment is set for the test."""
    with world_env() as built:
        yield built
