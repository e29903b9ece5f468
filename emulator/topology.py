"""The deployment a rotation rehearsal runs against, seeded as the Pulumi program leaves it.

:func:`seed_topology` builds, on one :class:`~emulator.AzureState`, the world of
:func:`emulator.world.seed_world` (the AI account, the vault, the secret, the rotator) with two
consumers of the secret:

- ``app-ref-drill``: an App Service site whose AZURE_AI_API_KEY is a versionless Key Vault
  reference (the rotator reads and writes its config and lists its instances);
- ``app-sdk-drill``: a site whose app reads the secret through the SDK with its own
  user-assigned identity (``id-app-sdk-drill``, "Key Vault Secrets User" on the one secret),
  scaled out to ``instances`` App Service instances. It carries the reference too, as the stack
  gives every app one.

The secret's latest version holds key1 with the tags and content type the caller passes (what
the stack writes with the first version); the reference site has resolved it. What runs on the
sites is the caller's to mount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emulator import AzureState, Identity
from emulator.world import REFERENCE_SETTING, World, seed_world

REFERENCE_SITE = "app-ref-drill"
SDK_SITE = "app-sdk-drill"
SDK_IDENTITY = "id-app-sdk-drill"
SECRETS_USER = "Key Vault Secrets User"


def site_url(site: str) -> str:
    """Where a site's mounted app is served: App Service's default host name."""
    return f"https://{site}.azurewebsites.net"


@dataclass
class Topology:
    """What :func:`seed_topology` created (the sites: REFERENCE_SITE and SDK_SITE)."""

    state: AzureState
    world: World
    sdk_identity: Identity
    instances: list[str]


def seed_topology(
    state: AzureState,
    *,
    first_version_tags: Callable[[str, str], dict[str, str]],
    content_type: str,
    accept_delay: float = 0.0,
    instances: int = 1,
) -> Topology:
    """Seed the rehearsal's deployment on `state`.

    `first_version_tags(account_id, consumers)` gives the tags of the version holding key1
    (`consumers`: the two sites' names, comma-separated); `accept_delay`: how long a
    regenerated key takes to be accepted by the AI endpoint."""
    world = seed_world(state, site=REFERENCE_SITE, accept_delay=accept_delay, secret_tags={})
    state.set_secret(
        world.vault.name,
        world.secret_name,
        state.keys(world.account.name)["key1"],
        content_type=content_type,
        tags=first_version_tags(world.account.id, f"{REFERENCE_SITE},{SDK_SITE}"),
    )
    state.refresh_references(REFERENCE_SITE)
    sdk_site = state.add_site(SDK_SITE)
    sdk_identity = state.add_identity(SDK_IDENTITY)
    state.grant(sdk_identity, world.vault.secret_id(world.secret_name), SECRETS_USER)
    # The SDK app's site carries the reference too (the stack gives every app one); the app
    # itself reads the secret through the SDK.
    state.grant(sdk_site, world.vault.secret_id(world.secret_name), SECRETS_USER)
    state.set_app_settings(
        SDK_SITE, {REFERENCE_SETTING: f"@Microsoft.KeyVault(SecretUri={world.secret_uri})"}
    )
    state.grant(
        world.rotator,
        sdk_site.id,
        actions=(
            "Microsoft.Web/sites/config/read",
            "Microsoft.Web/sites/config/write",
            "Microsoft.Web/sites/instances/read",
        ),
    )
    state.grant(world.rotator, world.site.id, actions=("Microsoft.Web/sites/instances/read",))
    return Topology(state, world, sdk_identity, state.scale_out(SDK_SITE, instances))
