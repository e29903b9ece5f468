"""How the SDK clients are made: one credential, one HTTP session, optional SDK options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from rotation.azure import AccountKeys, Consumers, Probe, Vault, Waiter
from rotation.engine import Edges
from rotation.target import Target


@dataclass
class Connection:
    """A credential plus what every client shares.

    `sdk_options()` gives fresh keyword arguments for each SDK client (e.g. a `transport=` bound
    to a local emulator); `session` carries the probe and the health checks.
    """

    credential: Any
    session: requests.Session = field(default_factory=requests.Session)
    sdk_options: Callable[[], dict[str, Any]] = dict
    # (storage account, container) -> ContainerClient; None: https://<account>.blob.core.windows.net
    # with this credential (the drill binds it to Azurite).
    containers: Callable[[str, str], Any] | None = None
    _web: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Connection:
        """DefaultAzureCredential: environment, workload identity, managed identity, Azure CLI."""
        from azure.identity import DefaultAzureCredential

        return cls(DefaultAzureCredential())

    def secret_client(self, vault_url: str) -> Any:
        """An `azure.keyvault.secrets.SecretClient` for the vault."""
        from azure.keyvault.secrets import SecretClient

        return SecretClient(vault_url, self.credential, **self.sdk_options())

    def cognitive_client(self, subscription: str) -> Any:
        """A `CognitiveServicesManagementClient` for the subscription."""
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        return CognitiveServicesManagementClient(
            self.credential, subscription, **self.sdk_options()
        )

    def lease_container(self, account: str, container: str) -> Any:
        """The `ContainerClient` holding the secrets' lease blobs (rotation/lease.py)."""
        if self.containers is not None:
            return self.containers(account, container)
        from azure.storage.blob import ContainerClient

        return ContainerClient(
            f"https://{account}.blob.core.windows.net", container, credential=self.credential
        )

    def web_client(self, subscription: str) -> Any:
        """A `WebSiteManagementClient` for the subscription (one per subscription, reused)."""
        if subscription not in self._web:
            from azure.mgmt.web import WebSiteManagementClient

            self._web[subscription] = WebSiteManagementClient(
                self.credential, subscription, **self.sdk_options()
            )
        return self._web[subscription]

    def edges(
        self, target: Target, vault: Vault, *, probe_waiter: Waiter, confirm_waiter: Waiter
    ) -> Edges:
        """The four edges of a rotation of `target` (the endpoint asked of ARM when not given)."""
        keys = AccountKeys(self.cognitive_client(target.account.subscription), target.account)
        endpoint = target.endpoint or keys.endpoint()
        return Edges(
            vault=vault,
            keys=keys,
            probe=Probe(self.session, endpoint, target.deployment, probe_waiter),
            consumers=self.consumers(target, vault, confirm_waiter),
        )

    def consumers(self, target: Target, vault: Vault, waiter: Waiter) -> Consumers:
        """The consumer edge alone (all `status` needs)."""
        return Consumers(
            self.web_client,
            self.session,
            waiter,
            vault_name=vault.vault_name,
            secret_name=target.secret_name,
        )
