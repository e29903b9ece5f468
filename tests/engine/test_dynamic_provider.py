"""AccountKeySecret's provider under the real dynamic provider host, driven as the engine drives it.

One ``python -m emulator`` process (TLS, CONNECT proxy, managed identity, GitHub's ID token
endpoint) serves the whole module, with two ``python -m pulumi.dynamic`` processes started as
pulumi-resource-pulumi-python starts them: one in a workstation's environment (the managed identity
answers DefaultAzureCredential), one in the deploy workflow's (GitHub OIDC).
The program side is the SDK itself: each test runs the registration under the SDK and takes the
Struct it sends, ``__provider`` included (pulumi/dynamic/dynamic.py ``Resource.__init__``).
tests/engine/dynamic_host.py says which pulumi/pulumi source defines each engine behaviour.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import grpc
import pulumi
import pulumi.dynamic
import pytest
import requests
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from pulumi.runtime import proto, rpc

import emulator
from components.api_key_secret import AccountKeySecret, AccountKeySecretProvider
from components.catalog.secret import CONTENT_TYPE
from tests.engine.dynamic_host import (
    COMPUTED,
    UNKNOWN_STRING_VALUE,
    Engine,
    ProviderError,
    ProviderProcess,
    Secret,
    State,
    registration,
    running_provider,
)
from tests.engine.engine_service import FakeEngine, fake_engine

PROVIDER = "__provider"
DAY = timedelta(days=1)


@dataclass
class Cloud:
    """The emulator process, seen from outside the provider (as an operator would look)."""

    proc: Any
    credential: Any

    @property
    def env(self) -> dict[str, str]:
        return self.proc.env

    @property
    def account_id(self) -> str:
        env = self.env
        return (
            f"/subscriptions/{env['EMULATOR_SUBSCRIPTION']}/resourceGroups/"
            f"{env['EMULATOR_RESOURCE_GROUP']}/providers/Microsoft.CognitiveServices/accounts/"
            f"{env['EMULATOR_ACCOUNT']}"
        )

    @property
    def vault_url(self) -> str:
        return self.env["EMULATOR_VAULT_URL"]

    def tls(self) -> dict[str, Any]:
        return {"connection_verify": self.proc.ca_path, "proxies": self.proc.proxies}

    def azure_requests(self, route: str | None = None) -> int:
        """Requests the emulator answered so far (sign-in, ARM, Key Vault...), or to one route."""
        admin = requests.Session()
        admin.trust_env = False
        admin.verify = self.proc.ca_path
        counters = admin.get(f"{self.proc.admin_url}/counters", headers=self.proc.admin_headers)
        return sum(
            c["count"] for c in counters.json()["counters"] if route is None or c["route"] == route
        )

    def secrets(self) -> SecretClient:
        return SecretClient(self.vault_url, self.credential, **self.tls())

    def account_keys(self) -> list[str]:
        arm = CognitiveServicesManagementClient(
            self.credential, self.env["EMULATOR_SUBSCRIPTION"], **self.tls()
        )
        keys = arm.accounts.list_keys(
            self.env["EMULATOR_RESOURCE_GROUP"], self.env["EMULATOR_ACCOUNT"]
        )
        return [keys.key1, keys.key2]


@dataclass
class Host:
    engine: Engine
    process: ProviderProcess
    service: FakeEngine
    started: dict[str, Any]
    cloud: Cloud
    cli_env: dict[str, str]


GITHUB_SUBJECT = "repo:contoso/secure-azure-ai:environment:dev"
GITHUB_JOB = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
MANAGED_IDENTITY = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")


@contextmanager
def provider_host(cloud: Cloud, env: dict[str, str], stderr: Path) -> Iterator[Host]:
    """One ``python -m pulumi.dynamic`` process with this environment, started and configured."""
    with (
        fake_engine() as (service, address),
        running_provider(env, address, stderr) as process,
        grpc.insecure_channel(f"127.0.0.1:{process.port}") as channel,
    ):
        engine = Engine(proto.ResourceProviderStub(channel))
        yield Host(engine, process, service, engine.start(), cloud, env)


@pytest.fixture(scope="module")
def dynamic_provider_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    started = time.monotonic()
    # Every identity can do anything: this tier proves the wiring (TLS, proxy, managed identity,
    # the Key Vault challenge); the role rules are tests/components/test_api_key_secret.py's.
    with emulator.run_process(["--no-rbac", "--github-oidc", GITHUB_SUBJECT]) as proc:
        served = {k: v for k, v in proc.env.items() if not k.startswith("EMULATOR_")}
        # The test's own client (an operator looking at the vault) reads the managed identity
        # endpoint at each token request, so it stays set while the module runs.
        with mock.patch.dict(os.environ, {k: served[k] for k in MANAGED_IDENTITY}):
            observer = ManagedIdentityCredential(
                connection_verify=proc.ca_path, proxies=proc.proxies
            )
            # The CLI's environment as a developer machine has it (no Azure or GitHub sign-in
            # variables, so DefaultAzureCredential), with the emulator's network and identity.
            cli_env = {
                k: v
                for k, v in {**os.environ, **served}.items()
                if not k.startswith(("AZURE_", "ACTIONS_", "PULUMI_", "ARM_")) and k != "PYTHONPATH"
            }
            stderr = tmp_path_factory.mktemp("dynamic") / "provider.stderr"
            with provider_host(Cloud(proc, observer), cli_env, stderr) as host:
                ready = time.monotonic() - started
                print(f"\nengine tier: provider and emulator ready in {ready:.2f} s")
                yield host
    print(f"\nengine tier (dynamic provider): {time.monotonic() - started:.2f} s in all")


@pytest.fixture(scope="module")
def github_provider_host(
    dynamic_provider_host: Host, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    """The provider as the deploy workflow's ``pulumi up`` step runs it: GitHub's OIDC request
    variables (id-token: write), the step's AZURE_CLIENT_ID/AZURE_TENANT_ID, no managed identity
    and no Azure CLI session to fall back on."""
    cloud = dynamic_provider_host.cloud
    env = {k: v for k, v in dynamic_provider_host.cli_env.items() if k not in MANAGED_IDENTITY}
    env.update({k: cloud.env[k] for k in GITHUB_JOB})
    env["AZURE_CLIENT_ID"] = cloud.env["EMULATOR_DEPLOYER_CLIENT_ID"]
    env["AZURE_TENANT_ID"] = cloud.env["EMULATOR_TENANT_ID"]
    stderr = tmp_path_factory.mktemp("github") / "provider.stderr"
    with provider_host(cloud, env, stderr) as host:
        yield host


def program(
    name: str,
    *,
    secret_name: str,
    period: int = 90,
    consumers: list[str] | None = None,
    secret_account: bool = False,
) -> Any:
    """The stack's shape: the account and vault from azure-native, the key secret from them."""

    def run() -> None:
        account = pulumi.CustomResource(
            "azure-native:cognitiveservices:Account", "ai", {"properties": None}
        )
        vault = pulumi.CustomResource("azure-native:keyvault:Vault", "kv", {"properties": None})
        account_id = pulumi.Output.secret(account.id) if secret_account else account.id
        AccountKeySecret(
            name,
            account_id=account_id,
            vault_uri=vault.properties.apply(lambda p: p["vaultUri"]),
            secret_name=secret_name,
            rotation_period_days=period,
            consumers=consumers,
        )

    return run


def registered(
    host: Host, name: str, *, preview: bool, new: tuple[str, ...] = (), **settings: Any
) -> dict[str, Any]:
    """The resource's inputs as the engine receives them from the program; the account and the
    vault exist unless named in ``new`` (to be created, or replaced, in a preview)."""
    cloud = host.cloud
    group = cloud.account_id.split("/providers/")[0]
    existing = {
        "ai": (cloud.account_id, {"properties": {"endpoint": "https://x/"}}),
        "kv": (
            f"{group}/providers/Microsoft.KeyVault/vaults/kv",
            {"properties": {"vaultUri": cloud.vault_url}},
        ),
    }
    for resource in new:
        del existing[resource]
    return registration(program(name, **settings), preview=preview, existing=existing)[name]


def up(host: Host, name: str, **settings: Any) -> State:
    """``pulumi up`` of a new resource: Check (all known), then Create."""
    news = registered(host, name, preview=False, **settings)
    inputs, failures = host.engine.check(name, {}, news, preview=False)
    assert failures == []
    return host.engine.create(name, inputs)


def assert_no_key(host: Host) -> None:
    """No answer, error, log line or stderr output of the provider holds either account key."""
    seen = "\n".join(
        [
            *host.engine.transcript,
            *(log.message for log in host.service.logs),
            host.process.stderr(),
        ]
    )
    for key in host.cloud.account_keys():
        assert key not in seen


def test_the_host_starts_as_the_engine_starts_it_and_takes_no_secrets(
    dynamic_provider_host: Host,
) -> None:
    """Handshake UNIMPLEMENTED (the engine falls back), CheckConfig UNIMPLEMENTED (the news are
    kept), and Configure's answer: no secrets, no previews, which the engine then applies to every
    request (pkg/resource/plugin/provider_plugin.go handshake, CheckConfig, Configure)."""
    started = dynamic_provider_host.started
    configure = started["Configure"]

    assert started["Handshake"] == grpc.StatusCode.UNIMPLEMENTED
    assert started["CheckConfig"] == grpc.StatusCode.UNIMPLEMENTED
    assert started["GetPluginInfo"] == "0.1.0"
    assert (configure.acceptSecrets, configure.supportsPreview) == (False, False)
    assert dynamic_provider_host.process.process.poll() is None
    assert UNKNOWN_STRING_VALUE == rpc.UNKNOWN


def test_a_first_preview_passes_check_with_the_account_and_vault_unknown(
    dynamic_provider_host: Host,
) -> None:
    """The first preview of a new stack: the account ID and the vault URI are not known yet (an
    empty ID in a preview reads as unknown: sdk/python/lib/pulumi/runtime/resource.py), the
    engine sends them as unknowns (pkg/resource/deploy/step_generator.go: AllowUnknowns is the
    preview flag; pkg/resource/plugin/provider_plugin.go Check), and the host hands them over as
    pulumi.output.Unknown (pulumi/dynamic/__main__.py Check: keep_unknowns=True). A failure here
    stops the whole preview."""
    host = dynamic_provider_host
    news = registered(
        host,
        "preview-key",
        preview=True,
        new=("ai", "kv"),
        secret_name="preview-key",
        consumers=["app-a"],
    )
    assert (news["account_id"], news["vault_uri"]) == (COMPUTED, COMPUTED)
    before = host.cloud.azure_requests()

    inputs, failures = host.engine.check("preview-key", {}, news, preview=True)

    assert failures == []
    assert {k: v for k, v in inputs.items() if k != PROVIDER} == {
        "account_id": COMPUTED,
        "vault_uri": COMPUTED,
        "secret_name": "preview-key",
        "rotation_period_days": 90,
        "consumers": ["app-a"],
    }
    # What the SDK registered: the provider pickled by reference, not marked secret.
    assert news[PROVIDER] == pulumi.dynamic.dynamic.serialize_provider(AccountKeySecretProvider())
    assert inputs[PROVIDER] == news[PROVIDER]
    # Check reads nothing from Azure: a preview needs no credential for this resource.
    assert host.cloud.azure_requests() == before
    assert_no_key(host)


def test_a_preview_that_replaces_the_account_shows_the_secret_replaced(
    dynamic_provider_host: Host,
) -> None:
    """A preview that replaces the AI account: its new ID is unknown, so Check must pass and Diff
    must answer replace on ``account_id`` (the engine shows the secret as replaced). Sources:
    provider_plugin.go Diff (olds are the stored outputs, news the checked inputs, unknowns kept
    in a preview), pulumi/dynamic/__main__.py Diff (keep_unknowns=True)."""
    host = dynamic_provider_host
    state = up(host, "moved-key", secret_name="moved-key")
    news = registered(host, "moved-key", preview=True, new=("ai",), secret_name="moved-key")

    inputs, failures = host.engine.check("moved-key", state.inputs, news, preview=True)
    diff = host.engine.diff("moved-key", state, inputs, preview=True)

    assert (failures, inputs["account_id"]) == ([], COMPUTED)
    assert (diff.changes, list(diff.replaces)) == (proto.DiffResponse.DIFF_SOME, ["account_id"])
    assert_no_key(host)


def test_up_writes_the_key_with_tags_expiry_and_content_type_and_returns_no_value(
    dynamic_provider_host: Host,
) -> None:
    """``pulumi up``: Check with everything known, then Create with the checked inputs and no
    unknowns (provider_plugin.go Create: KeepUnknowns only in a preview, an empty ID refused);
    the host adds ``__provider`` to the outputs it returns (pulumi/dynamic/__main__.py Create).
    Create signs in through the managed identity endpoint (DefaultAzureCredential: no GitHub or
    federated-token variables here), reads the account's keys from ARM and writes key1."""
    host = dynamic_provider_host
    before = datetime.now(UTC)

    state = up(host, "up-key", secret_name="up-key", consumers=["app-a", "app-b"])

    secret = host.cloud.secrets().get_secret("up-key")
    key1, _ = host.cloud.account_keys()
    assert secret.value == key1
    assert secret.properties.content_type == CONTENT_TYPE
    assert secret.properties.tags == {
        "CredentialId": "key1",
        "RotationState": "idle",
        "ProviderAddress": host.cloud.account_id,
        "ValidityPeriodDays": "90",
        "Consumers": "app-a,app-b",
    }
    expires = secret.properties.expires_on
    assert before + 90 * DAY - timedelta(seconds=5) <= expires <= datetime.now(UTC) + 90 * DAY
    vault = host.cloud.vault_url.rstrip("/")
    assert state.id == f"{vault}/secrets/up-key"
    assert {k: v for k, v in state.outputs.items() if k != PROVIDER} == {
        "account_id": host.cloud.account_id,
        "vault_uri": vault,
        "secret_name": "up-key",
        "rotation_period_days": 90,
        "consumers": ["app-a", "app-b"],
        "secret_uri": f"{vault}/secrets/up-key",
        "version": secret.properties.version,
        "slot": "key1",
        "secret_tags": secret.properties.tags,
    }
    assert_no_key(host)


def test_refresh_reads_the_current_version_and_a_drifted_tag_shows_as_an_update(
    dynamic_provider_host: Host,
) -> None:
    """``pulumi refresh``: Read with the stored outputs and inputs (provider_plugin.go Read);
    then ``pulumi up`` diffs the refreshed outputs against the program's inputs."""
    host = dynamic_provider_host
    state = up(host, "refresh-key", secret_name="refresh-key")
    client = host.cloud.secrets()
    version = state.outputs["version"]
    # Someone shortened the period tag by hand; rotation's own tags are no drift.
    tags = {**state.outputs["secret_tags"], "ValidityPeriodDays": "7", "RotationState": "x"}
    client.update_secret_properties("refresh-key", version, tags=tags)

    refreshed = host.engine.read("refresh-key", state)

    assert refreshed.id == state.id
    assert (refreshed.outputs["version"], refreshed.outputs["secret_tags"]) == (version, tags)
    news = registered(host, "refresh-key", preview=False, secret_name="refresh-key")
    inputs, _ = host.engine.check("refresh-key", refreshed.inputs, news, preview=False)
    diff = host.engine.diff("refresh-key", refreshed, inputs, preview=False)
    assert (diff.changes, list(diff.replaces)) == (proto.DiffResponse.DIFF_SOME, [])

    updated = host.engine.update("refresh-key", refreshed, inputs)

    assert client.get_secret("refresh-key").properties.tags == {**tags, "ValidityPeriodDays": "90"}
    assert updated.outputs["version"] == version
    assert_no_key(host)


def test_a_refresh_of_a_secret_deleted_outside_pulumi_reports_it_gone(
    dynamic_provider_host: Host,
) -> None:
    """Read answering an empty ID: the engine drops the resource from state (provider_plugin.go
    Read; the host returns the ID the provider gives)."""
    host = dynamic_provider_host
    state = up(host, "gone-key", secret_name="gone-key")
    host.cloud.secrets().begin_delete_secret("gone-key").wait()

    refreshed = host.engine.read("gone-key", state)

    assert refreshed.id == ""
    assert_no_key(host)


def test_an_update_of_period_and_consumers_changes_tags_and_expiry_never_the_value(
    dynamic_provider_host: Host,
) -> None:
    """A change of settings: the preview (Check and Diff with the account known) shows an
    in-place update and calls no Update (provider_plugin.go Update: a provider without previews
    gets none); ``pulumi up`` then sends Update with the stored outputs as ``olds``, the checked
    inputs as ``news`` and the stored inputs as ``old_inputs`` (provider_plugin.go Update)."""
    host = dynamic_provider_host
    state = up(host, "period-key", secret_name="period-key", consumers=["app-a"])
    client = host.cloud.secrets()
    created = client.get_secret("period-key").properties

    settings = {"secret_name": "period-key", "period": 30, "consumers": ["app-a", "app-b"]}
    preview_news = registered(host, "period-key", preview=True, **settings)
    preview_inputs, failures = host.engine.check(
        "period-key", state.inputs, preview_news, preview=True
    )
    assert failures == []
    diff = host.engine.diff("period-key", state, preview_inputs, preview=True)
    assert (diff.changes, list(diff.replaces)) == (proto.DiffResponse.DIFF_SOME, [])

    news = registered(host, "period-key", preview=False, **settings)
    inputs, _ = host.engine.check("period-key", state.inputs, news, preview=False)
    diff = host.engine.diff("period-key", state, inputs, preview=False)
    assert (diff.changes, list(diff.replaces)) == (proto.DiffResponse.DIFF_SOME, [])
    updated = host.engine.update("period-key", state, inputs)

    [only] = list(client.list_properties_of_secret_versions("period-key"))
    current = client.get_secret("period-key")
    assert only.version == created.version == updated.outputs["version"]
    assert current.value == host.cloud.account_keys()[0]
    assert current.properties.tags["ValidityPeriodDays"] == "30"
    assert current.properties.tags["Consumers"] == "app-a,app-b"
    assert current.properties.expires_on == created.created_on + 30 * DAY
    assert updated.outputs["rotation_period_days"] == 30
    assert_no_key(host)


def test_a_rename_replaces_creating_the_new_secret_before_deleting_the_old(
    dynamic_provider_host: Host,
) -> None:
    """A new secret name: Diff answers replace without delete-before-replace, so the engine
    creates the new resource, repoints its dependents, then deletes the old one with its stored
    outputs (pkg/resource/deploy/step_generator.go: deleteBeforeReplace from the provider's Diff;
    provider_plugin.go Delete)."""
    host = dynamic_provider_host
    old = up(host, "named-key", secret_name="old-name")
    news = registered(host, "named-key", preview=False, secret_name="new-name")
    inputs, _ = host.engine.check("named-key", old.inputs, news, preview=False)

    diff = host.engine.diff("named-key", old, inputs, preview=False)
    assert (list(diff.replaces), diff.deleteBeforeReplace) == (["secret_name"], False)
    new = host.engine.create("named-key", inputs)
    host.engine.delete("named-key", old)

    client = host.cloud.secrets()
    assert client.get_secret("new-name").value == host.cloud.account_keys()[0]
    assert new.id.endswith("/secrets/new-name")
    deleted = client.get_deleted_secret("old-name")
    assert deleted.properties.enabled is False
    assert "old-name" not in {s.name for s in client.list_properties_of_secrets()}
    assert_no_key(host)


def test_a_secret_marked_input_reaches_the_provider_plain_and_comes_back_secret(
    dynamic_provider_host: Host,
) -> None:
    """The program marks the account ID secret: the engine sends it plain to a provider that does
    not accept secrets, and marks the output of the same name secret again (provider_plugin.go
    annotateSecrets)."""
    host = dynamic_provider_host
    news = registered(
        host, "marked-key", preview=False, secret_name="marked-key", secret_account=True
    )
    assert news["account_id"] == Secret(host.cloud.account_id)

    inputs, failures = host.engine.check("marked-key", {}, news, preview=False)
    state = host.engine.create("marked-key", inputs)

    assert failures == []
    assert inputs["account_id"] == Secret(host.cloud.account_id)
    assert state.outputs["account_id"] == Secret(host.cloud.account_id)
    tags = host.cloud.secrets().get_secret("marked-key").properties.tags
    assert tags["ProviderAddress"] == host.cloud.account_id
    assert_no_key(host)


def test_a_failed_write_reaches_the_engine_as_one_line_without_the_key(
    dynamic_provider_host: Host,
) -> None:
    """A provider exception becomes the gRPC error the engine prints (pulumi/dynamic/__main__.py
    aborts with the traceback); the key was already read from ARM when the write failed."""
    host = dynamic_provider_host
    news = registered(host, "lost-key", preview=False, secret_name="lost-key")
    inputs, _ = host.engine.check("lost-key", {}, news, preview=False)
    missing = "https://kv-missing.vault.azure.net"
    inputs = {**inputs, "vault_uri": missing}

    with pytest.raises(ProviderError) as raised:
        host.engine.create("lost-key", inputs)

    assert raised.value.code == grpc.StatusCode.UNKNOWN
    # The edge's error, from the copy the component package carries: the host imported
    # components.azure_edge from the project root, as it imports the pickled provider's module.
    assert raised.value.details.strip().splitlines()[-1] == (
        "components.azure_edge.errors.EdgeError: Key Vault "
        f"{missing} (set secret lost-key) failed: HTTP 404 VaultNotFound"
    )
    assert_no_key(host)


def test_in_github_actions_the_provider_signs_in_with_a_fresh_oidc_assertion_per_token(
    github_provider_host: Host,
) -> None:
    """The deploy workflow's environment: the provider asks GitHub's OIDC endpoint for a new
    assertion for each Entra token it needs (ARM, then Key Vault) and signs in as the deploy
    identity's federated credential; no managed identity is asked."""
    host = github_provider_host
    cloud = host.cloud
    assertions, identity = cloud.azure_requests("idtoken"), cloud.azure_requests("/MSI/token")

    up(host, "github-key", secret_name="github-key")

    assert cloud.azure_requests("idtoken") - assertions == 2
    assert cloud.azure_requests("/MSI/token") == identity
    assert cloud.secrets().get_secret("github-key").value == cloud.account_keys()[0]
    assert_no_key(host)
