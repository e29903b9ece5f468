"""Every SDK client the project uses, built once per process from one credential.

A :class:`Connection` holds the credential, the HTTP session (the probe and the health checks)
and the options each SDK client is built with; tests and the drill pass a ``transport=`` bound
to a local emulator, or their own credential, and storage containers bound to Azurite.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from . import credentials
from .account_keys import AccountKeys
from .probe import Probe
from .retry import Patience, Waiter
from .sites import ConsumerSites
from .vault import VaultSecrets


@dataclass
class Connection:
    """A credential plus what every client shares.

    `sdk_options()` gives fresh keyword arguments for each SDK client (e.g. a `transport=` bound
    to a local emulator); `session` carries the probe and the health checks; `containers`
    builds a blob ContainerClient for (storage account, container), by default
    https://<account>.blob.core.windows.net with this credential.
    """

    credential: Any
    session: requests.Session = field(default_factory=requests.Session)
    sdk_options: Callable[[], dict[str, Any]] = dict
    containers: Callable[[str, str], Any] | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def default(cls) -> Connection:
        """DefaultAzureCredential: environment, workload identity, managed identity, Azure CLI."""
        from azure.identity import DefaultAzureCredential

        return cls(DefaultAzureCredential())

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Connection:
        """The credential a deploying process's environment calls for (credentials.choose: a
        fresh GitHub OIDC assertion per token, workload identity, else DefaultAzureCredential)."""
        environ = os.environ if environ is None else environ
        return cls(credentials.build(credentials.choose(environ), environ))

    def _once(self, kind: str, key: str, build: Callable[[], Any]) -> Any:
        if (kind, key) not in self._clients:
            self._clients[(kind, key)] = build()
        return self._clients[(kind, key)]

    # -- SDK clients ----------------------------------------------------------------------------

    def secret_client(self, vault_url: str) -> Any:
        """The `azure.keyvault.secrets.SecretClient` of a vault."""

        def build() -> Any:
            from azure.keyvault.secrets import SecretClient

            return SecretClient(vault_url, self.credential, **self.sdk_options())

        return self._once("secrets", vault_url.rstrip("/").lower(), build)

    def cognitive_client(self, subscription: str) -> Any:
        """The `CognitiveServicesManagementClient` of a subscription."""

        def build() -> Any:
            from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

            return CognitiveServicesManagementClient(
                self.credential, subscription, **self.sdk_options()
            )

        return self._once("cognitive", subscription.lower(), build)

    def web_client(self, subscription: str) -> Any:
        """The `WebSiteManagementClient` of a subscription."""

        def build() -> Any:
            from azure.mgmt.web import WebSiteManagementClient

            return WebSiteManagementClient(self.credential, subscription, **self.sdk_options())

        return self._once("web", subscription.lower(), build)

    def blob_container(self, blob_url: str, container: str) -> Any:
        """A blob `ContainerClient` signed in with this credential (no key, no SAS)."""
        from azure.storage.blob import ContainerClient

        return ContainerClient(blob_url, container, credential=self.credential)

    def lease_container(self, account: str, container: str) -> Any:
        """The blob `ContainerClient` of a storage account's container (`containers` when set)."""
        if self.containers is not None:
            return self.containers(account, container)
        return self.blob_container(f"https://{account}.blob.core.windows.net", container)

    def queue(self, queue_url: str, name: str) -> Any:
        """A `QueueClient` signed in with this credential that base64-encodes messages, as a
        queue trigger decodes them by default (host.json extensions.queues.messageEncoding)."""
        from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient

        return QueueClient(
            queue_url,
            name,
            credential=self.credential,
            message_encode_policy=BinaryBase64EncodePolicy(),
        )

    # -- service surfaces -----------------------------------------------------------------------

    def vault(
        self, vault_url: str, secret_name: str, *, patience: Patience | None = None
    ) -> VaultSecrets:
        """One secret of a vault."""
        return VaultSecrets(self.secret_client(vault_url), secret_name, patience=patience)

    def account_keys(
        self,
        subscription: str,
        resource_group: str,
        account_name: str,
        arm_key_names: Mapping[str, str],
        *,
        patience: Patience | None = None,
    ) -> AccountKeys:
        """One AI account's keys."""
        return AccountKeys(
            self.cognitive_client(subscription),
            resource_group,
            account_name,
            arm_key_names,
            patience=patience,
        )

    def probe(self, endpoint: str, deployment: str) -> Probe:
        """The probe of one chat deployment."""
        return Probe(self.session, endpoint, deployment)

    def sites(self, vault_name: str, secret_name: str, waiter: Waiter) -> ConsumerSites:
        """The consumers of one secret."""
        return ConsumerSites(
            self.web_client, self.session, waiter, vault_name=vault_name, secret_name=secret_name
        )
