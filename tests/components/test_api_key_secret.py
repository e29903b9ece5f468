"""AccountKeySecret: its provider against the real Azure SDK clients over the in-memory emulator,
its pure rules, and its registration under Pulumi mocks."""

from __future__ import annotations

import asyncio
import base64
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest
from azure.core.exceptions import HttpResponseError, ODataV4Format
from pulumi.output import Unknown
from pulumi.runtime import rpc

import emulator
from components import api_key_secret as aks
from components.api_key_secret import (
    AccountKeySecret,
    AccountKeySecretError,
    AccountKeySecretProvider,
    InvalidInput,
    SecretSpec,
)
from components.azure_edge.clients import Connection
from components.azure_edge.errors import EdgeError
from components.azure_edge.vault import SecretRecord
from components.catalog import ids
from components.catalog.secret import CONTENT_TYPE
from emulator.state import ACTION_LIST_KEYS

REPO = Path(__file__).resolve().parents[2]
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z: every clock in these tests starts here
ACCOUNT = "ai-keytest"
VAULT = "kv-keytest"
SECRET = "ai-api-key"
SITE = "app-web"
OFFICER = "Key Vault Secrets Officer"
DAY = 86_400


# --- Fixtures -------------------------------------------------------------------------------------


@dataclass
class Harness:
    """One emulated subscription, the deployer's identity, and a provider wired to both."""

    state: emulator.AzureState
    clock: emulator.ManualClock
    app: emulator.EmulatorApp
    credential: Any
    deployer: emulator.Identity
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Any = None

    @property
    def account(self) -> emulator.Account:
        return self.state.account(ACCOUNT)

    @property
    def vault(self) -> emulator.Vault:
        return self.state.vault(VAULT)

    @property
    def vault_host(self) -> str:
        return f"{VAULT}.vault.azure.net"

    def account_keys(self) -> list[str]:
        return list(self.state.keys(ACCOUNT).values())

    def grant_vault(self) -> None:
        self.state.grant(self.deployer, self.vault.id, OFFICER)

    def grant_account(self) -> None:
        self.state.grant(self.deployer, self.account.id, actions=(ACTION_LIST_KEYS,))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(sum(self.sleeps))

    def connection(self) -> Connection:
        """The edge's clients over the emulator: the SDKs' own, on an emulator transport."""
        transport = emulator.transport(self.app)
        return Connection(self.credential, sdk_options=lambda: {"transport": transport})

    def provider(
        self, deadline_seconds: float = 300, connection: Connection | None = None
    ) -> AccountKeySecretProvider:
        return AccountKeySecretProvider(
            connection=connection or self.connection(),
            clock=lambda: datetime.fromtimestamp(self.clock(), UTC),
            sleep=self.sleep,
            deadline_seconds=deadline_seconds,
        )

    def props(self, **changes: Any) -> dict[str, Any]:
        # As the engine sends them: numbers as floats, the vault URI as ARM returns it.
        base = {
            "account_id": self.account.id,
            "vault_uri": self.vault.uri,
            "secret_name": SECRET,
            "rotation_period_days": 90.0,
            "__provider": "serialised-provider",
        }
        return {**base, **changes}

    def versions(self) -> list[Any]:
        return self.state.secret_versions(VAULT, SECRET)

    def soft_delete_calls(self) -> dict[str, int]:
        """Deletes and recoveries the vault answered (Key Vault soft delete, purge protection)."""
        host = self.vault_host
        return {
            "delete": self.state.requests(host, method="DELETE", route="/secrets/{name}"),
            "recover": self.state.requests(
                host, method="POST", route="/deletedsecrets/{name}/recover"
            ),
        }

    def value_reads(self) -> int:
        return self.state.requests(self.vault_host, method="GET", route="/secrets/{name}/{version}")


@pytest.fixture
def harness() -> Iterator[Harness]:
    clock = emulator.ManualClock(start=START)
    state = emulator.AzureState(clock=clock)
    state.add_account(ACCOUNT)
    state.add_vault(VAULT)
    deployer = state.add_identity("deployer")
    app = emulator.EmulatorApp(state)
    emulator.clear_challenge_cache()
    with emulator.identity_environment(state):
        credential = emulator.managed_identity_credential(app, deployer)
        yield Harness(state, clock, app, credential, deployer)
    emulator.clear_challenge_cache()


@pytest.fixture
def granted(harness: Harness) -> Harness:
    harness.grant_vault()
    harness.grant_account()
    return harness


def assert_no_key(harness: Harness, *things: Any) -> None:
    text = "\n".join(repr(t) + repr(getattr(t, "__dict__", "")) for t in things)
    for key in harness.account_keys():
        assert key not in text


# --- Create ---------------------------------------------------------------------------------------


def test_create_writes_key1_with_content_type_expiry_and_rotation_tags(granted: Harness) -> None:
    result = granted.provider().create(granted.props())

    [version] = granted.versions()
    assert version.value == granted.state.keys(ACCOUNT)["key1"]
    assert version.content_type == CONTENT_TYPE == "text/plain; azure-ai-api-key"
    assert version.enabled is True
    assert version.exp == int(START) + 90 * DAY
    assert version.tags == {
        "CredentialId": "key1",
        "RotationState": "idle",
        "ProviderAddress": granted.account.id,
        "ValidityPeriodDays": "90",
    }
    secret_uri = f"https://{VAULT}.vault.azure.net/secrets/{SECRET}"
    assert result.id == secret_uri
    assert result.outs == {
        "account_id": granted.account.id,
        "vault_uri": f"https://{VAULT}.vault.azure.net",
        "secret_name": SECRET,
        "rotation_period_days": 90,
        "secret_uri": secret_uri,
        "version": version.version,
        "slot": "key1",
        "secret_tags": version.tags,
    }


def test_create_never_returns_or_logs_a_key(
    granted: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = granted.provider().create(granted.props())

    assert_no_key(granted, result, result.outs)
    assert caplog.records, "the provider logs what it published"
    assert_no_key(granted, *(r.getMessage() for r in caplog.records))
    assert granted.value_reads() == 0


def test_create_waits_while_key_vault_answers_403_until_the_role_assignment_applies(
    harness: Harness,
) -> None:
    harness.grant_account()
    # The deployer's "Key Vault Secrets Officer" assignment takes effect 20 s into the run.
    harness.on_sleep = _once_after(20, harness.grant_vault)

    result = harness.provider().create(harness.props())

    assert harness.sleeps == [2, 4, 8, 16]
    assert result.outs["version"] == harness.versions()[0].version
    assert harness.versions()[0].value == harness.state.keys(ACCOUNT)["key1"]


def test_create_waits_while_arm_answers_403_for_list_keys(harness: Harness) -> None:
    harness.grant_vault()
    harness.on_sleep = _once_after(
        6,
        lambda: harness.state.grant(
            harness.deployer, harness.account.id, actions=(ACTION_LIST_KEYS,)
        ),
    )

    harness.provider().create(harness.props())

    assert harness.sleeps == [2, 4]
    assert len(harness.versions()) == 1


def test_create_gives_up_after_its_deadline_with_one_line(harness: Harness) -> None:
    harness.grant_account()  # never the vault role

    with pytest.raises(EdgeError) as raised:
        harness.provider().create(harness.props())

    message = str(raised.value)
    assert message == (
        f"Key Vault https://{VAULT}.vault.azure.net (set secret {SECRET}) still answers 403 "
        "Forbidden (Forbidden) after 300 s: the deploying identity needs 'Key Vault Secrets "
        "Officer' on the vault (RBAC assignments can take minutes to apply)"
    )
    assert harness.sleeps == [2, 4, 8, 16] + [30] * 9 and sum(harness.sleeps) == 300
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert harness.versions() == []
    assert_no_key(harness, message)


def test_a_shorter_deadline_is_honoured_exactly(harness: Harness) -> None:
    harness.grant_account()

    with pytest.raises(EdgeError, match=r"after 45 s"):
        harness.provider(deadline_seconds=45).create(harness.props())

    assert harness.sleeps == [2, 4, 8, 16, 15]


def test_other_errors_are_not_retried_and_name_the_status(granted: Harness) -> None:
    # Rights on the whole resource group, as a deployer has them: a missing account is a 404.
    group = granted.account.id.split("/providers/")[0]
    granted.state.grant(granted.deployer, group, actions=(ACTION_LIST_KEYS,))
    props = granted.props(account_id=granted.account.id.replace(ACCOUNT, "ai-missing"))

    with pytest.raises(EdgeError) as raised:
        granted.provider().create(props)

    assert str(raised.value) == (
        "ARM listKeys of account ai-missing (resource group rg-secure-ai) failed: HTTP 404 "
        "ResourceNotFound; the rule is an existing account and an identity with "
        "Microsoft.CognitiveServices/accounts/listKeys/action on it"
    )
    assert granted.sleeps == []


def test_create_recovers_a_soft_deleted_secret_of_the_same_name(granted: Harness) -> None:
    provider = granted.provider()
    provider.create(granted.props())
    provider.delete(f"https://{VAULT}.vault.azure.net/secrets/{SECRET}", granted.props())
    assert granted.versions() == []

    result = provider.create(granted.props())

    assert granted.soft_delete_calls() == {"delete": 1, "recover": 1}
    old, new = granted.versions()
    assert old.enabled is False  # disabled before the delete, and recovery keeps it so
    assert new.enabled is True and new.value == granted.state.keys(ACCOUNT)["key1"]
    assert result.outs["version"] == new.version
    assert granted.sleeps == [2]


# --- Update ---------------------------------------------------------------------------------------


def rotate_out_of_band(harness: Harness) -> Any:
    """What a rotation does meanwhile: key2 published as a new version, progress in its tags."""
    harness.clock.advance(DAY)
    current = harness.versions()[-1]
    tags = {
        **current.tags,
        "CredentialId": "key2",
        "RotationState": "published",
        "RotationOp": "rotate",
    }
    return harness.state.set_secret(
        VAULT,
        SECRET,
        harness.state.regenerate_key(ACCOUNT, "key2"),
        content_type=CONTENT_TYPE,
        tags=tags,
        exp=int(harness.clock()) + 90 * DAY,
    )


def test_update_touches_tags_and_expiry_never_the_value_rotation_wrote(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    rotated = rotate_out_of_band(granted)
    rotated_value = rotated.value
    granted.clock.advance(DAY)

    news = granted.props(rotation_period_days=30.0, consumers=[SITE, "app-admin"])
    result = provider.update(created.id, created.outs, news)

    first, latest = granted.versions()
    assert latest.version == rotated.version and latest.value == rotated_value
    assert latest.tags == {
        "CredentialId": "key2",
        "RotationState": "published",
        "RotationOp": "rotate",
        "ProviderAddress": granted.account.id,
        "ValidityPeriodDays": "30",
        "Consumers": "app-web,app-admin",
    }
    assert latest.exp == rotated.created + 30 * DAY
    assert first.tags["ValidityPeriodDays"] == "90"  # older versions are left alone
    assert result.outs["version"] == rotated.version
    assert result.outs["slot"] == "key2"
    assert result.outs["consumers"] == [SITE, "app-admin"]
    assert_no_key(granted, result.outs)
    assert granted.value_reads() == 0


def test_update_without_a_period_change_keeps_the_expiry(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())

    provider.update(created.id, created.outs, granted.props(consumers=[SITE]))

    [version] = granted.versions()
    assert version.exp == int(START) + 90 * DAY
    assert version.tags["Consumers"] == SITE


def test_update_never_sets_an_expiry_in_the_past(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    granted.clock.advance(40 * DAY)

    provider.update(created.id, created.outs, granted.props(rotation_period_days=30.0))

    assert granted.versions()[0].exp == int(START) + 41 * DAY


def test_update_of_a_secret_gone_meanwhile_is_one_line(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    granted.vault.secrets.clear()

    with pytest.raises(AccountKeySecretError) as raised:
        provider.update(created.id, created.outs, granted.props(rotation_period_days=30.0))

    assert str(raised.value) == (
        f"https://{VAULT}.vault.azure.net/secrets/{SECRET} no longer exists: run `pulumi "
        "refresh`, then `pulumi up` to write it again"
    )


# --- Read -----------------------------------------------------------------------------------------


def test_read_follows_rotation_from_properties_without_reading_the_value(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    rotated = rotate_out_of_band(granted)

    result = provider.read(created.id, created.outs)

    assert result.id == created.id
    assert result.outs == {
        **created.outs,
        "version": rotated.version,
        "slot": "key2",
        "secret_tags": rotated.tags,
    }
    assert granted.value_reads() == 0
    assert_no_key(granted, result.outs)


def test_read_reports_a_vanished_secret_as_gone(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    granted.vault.secrets.clear()

    result = provider.read(created.id, created.outs)

    assert (result.id, result.outs) == ("", {})


# --- Diff -----------------------------------------------------------------------------------------


OLD = {
    "account_id": "/subscriptions/5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b/resourceGroups/rg"
    "/providers/Microsoft.CognitiveServices/accounts/ai-one",
    "vault_uri": "https://kv-one.vault.azure.net",
    "secret_name": "ai-api-key",
    "rotation_period_days": 90,
    "secret_uri": "https://kv-one.vault.azure.net/secrets/ai-api-key",
    "version": "v1",
    "slot": "key1",
    "secret_tags": {
        "CredentialId": "key2",
        "RotationState": "idle",
        "ProviderAddress": "/subscriptions/5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b/resourceGroups/rg"
        "/providers/Microsoft.CognitiveServices/accounts/ai-one",
        "ValidityPeriodDays": "90",
    },
}


@pytest.mark.parametrize(
    ("change", "replaces", "changes"),
    [
        ({}, [], False),
        ({"vault_uri": "https://KV-one.vault.azure.net:443/"}, [], False),
        (
            {"account_id": OLD["account_id"].upper().replace("SUBSCRIPTIONS", "subscriptions")},
            [],
            False,
        ),
        ({"rotation_period_days": 90.0}, [], False),
        ({"rotation_period_days": 30.0}, [], True),
        ({"consumers": [SITE]}, [], True),
        ({"consumers": []}, [], True),
        ({"account_id": OLD["account_id"].replace("ai-one", "ai-two")}, ["account_id"], True),
        ({"vault_uri": "https://kv-two.vault.azure.net/"}, ["vault_uri"], True),
        ({"secret_name": "other"}, ["secret_name"], True),
    ],
)
def test_diff_replaces_on_identity_and_updates_on_settings(
    change: dict[str, Any], replaces: list[str], changes: bool
) -> None:
    news = {k: v for k, v in OLD.items() if k in aks._INPUTS} | change
    result = AccountKeySecretProvider().diff("id", OLD, news)

    assert (result.replaces, result.changes, result.delete_before_replace) == (
        replaces,
        changes,
        False,
    )


def test_diff_updates_when_refresh_found_owned_tags_drifted() -> None:
    drifted = {**OLD, "secret_tags": {**OLD["secret_tags"], "ValidityPeriodDays": "7"}}
    news = {k: v for k, v in OLD.items() if k in aks._INPUTS}

    assert AccountKeySecretProvider().diff("id", drifted, news).changes is True
    # Rotation's own tags changing (slot, state) is no drift.
    rotated = {
        **OLD,
        "secret_tags": {**OLD["secret_tags"], "CredentialId": "key1", "RotationOp": "x"},
    }
    assert AccountKeySecretProvider().diff("id", rotated, news).changes is False


# --- Delete ---------------------------------------------------------------------------------------


def test_delete_disables_every_version_then_soft_deletes(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    rotate_out_of_band(granted)
    versions = granted.versions()

    provider.delete(created.id, created.outs)

    assert granted.versions() == []
    assert [v.enabled for v in versions] == [False, False]
    assert granted.soft_delete_calls() == {"delete": 1, "recover": 0}
    assert [v.version for v in granted.vault.deleted[SECRET].versions] == [
        v.version for v in versions
    ]


def test_delete_after_a_replacement_for_another_account_keeps_the_secret(
    granted: Harness,
) -> None:
    provider = granted.provider()
    old = provider.create(granted.props())
    other = granted.state.add_account("ai-other")
    granted.state.grant(granted.deployer, other.id, actions=(ACTION_LIST_KEYS,))
    granted.clock.advance(60)
    new = provider.create(granted.props(account_id=other.id))

    provider.delete(old.id, old.outs)

    first, second = granted.versions()
    assert (first.enabled, second.enabled) == (False, True)
    assert second.version == new.outs["version"]
    assert granted.soft_delete_calls() == {"delete": 0, "recover": 0}


def test_delete_of_a_secret_already_gone_is_a_no_op(granted: Harness) -> None:
    provider = granted.provider()
    created = provider.create(granted.props())
    granted.vault.secrets.clear()

    provider.delete(created.id, created.outs)

    assert granted.soft_delete_calls() == {"delete": 0, "recover": 0}


# --- Check and input rules ------------------------------------------------------------------------


def test_check_names_each_bad_input_in_one_line() -> None:
    news = {
        "account_id": "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Web/x",
        "vault_uri": "http://kv.vault.azure.net",
        "secret_name": "bad_name",
        "rotation_period_days": 0.5,
        "__provider": "p",
    }
    result = AccountKeySecretProvider().check({}, news)

    reasons = {f.property: f.reason for f in result.failures}
    assert reasons == {
        "account_id": (
            "AccountKeySecret input account_id='/subscriptions/not-a-guid/resourceGroups/rg/"
            "providers/Microsoft.Web/x': must be /subscriptions/<subscription GUID>/resourceGroups"
            "/<group>/providers/Microsoft.CognitiveServices/accounts/<name>"
        ),
        "vault_uri": (
            "AccountKeySecret input vault_uri='http://kv.vault.azure.net': must be "
            "https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
            "vault.azure.cn and vault.usgovcloudapi.net too)"
        ),
        "secret_name": (
            "AccountKeySecret input secret_name='bad_name': must be 1-127 letters, digits or "
            "hyphens"
        ),
        "rotation_period_days": (
            "AccountKeySecret input rotation_period_days=0.5: must be a whole number of days "
            "from 1 to 365"
        ),
    }
    assert all("\n" not in reason for reason in reasons.values())


def wire(props: dict[str, Any]) -> Any:
    """The protobuf Struct of a property bag, as the host serialises one (a loop of its own:
    ``asyncio.run`` would unset the thread's loop that later mocks tests need)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def as_host_decodes(props: dict[str, Any]) -> dict[str, Any]:
    """Check/Diff inputs as the dynamic provider host hands them to the provider: the engine's
    wire form (an unknown value is the rpc.UNKNOWN string) decoded with ``keep_unknowns=True``,
    which turns each unknown into a ``pulumi.output.Unknown`` (pulumi/dynamic/__main__.py)."""
    return rpc.deserialize_properties(wire(props), keep_unknowns=True)


def test_check_normalises_and_skips_values_unknown_during_preview(harness: Harness) -> None:
    provider = AccountKeySecretProvider()
    result = provider.check({}, harness.props(vault_uri="https://KV-keytest.vault.azure.net/"))
    assert result.failures == []
    assert result.inputs == {
        "account_id": harness.account.id,
        "vault_uri": "https://kv-keytest.vault.azure.net",
        "secret_name": SECRET,
        "rotation_period_days": 90,
        "__provider": "serialised-provider",
    }

    # A first preview: the account and the vault are still to be created.
    news = as_host_decodes(
        harness.props(
            account_id=rpc.UNKNOWN,
            vault_uri=rpc.UNKNOWN,
            consumers=[SITE, rpc.UNKNOWN],
        )
    )
    assert isinstance(news["account_id"], Unknown)
    preview = provider.check({}, news)
    assert preview.failures == []
    assert set(preview.inputs) == {*aks._INPUTS, "__provider"}
    assert isinstance(preview.inputs["account_id"], Unknown)
    assert isinstance(preview.inputs["vault_uri"], Unknown)
    assert preview.inputs["consumers"][0] == SITE
    assert isinstance(preview.inputs["consumers"][1], Unknown)
    assert (preview.inputs["secret_name"], preview.inputs["rotation_period_days"]) == (SECRET, 90)


def test_check_still_names_a_bad_known_input_beside_unknown_ones(harness: Harness) -> None:
    news = as_host_decodes(harness.props(account_id=rpc.UNKNOWN, secret_name="bad_name"))

    result = AccountKeySecretProvider().check({}, news)

    assert [(f.property, f.reason) for f in result.failures] == [
        (
            "secret_name",
            "AccountKeySecret input secret_name='bad_name': must be 1-127 letters, digits or "
            "hyphens",
        )
    ]


@pytest.mark.parametrize(
    ("unknown", "replaces", "updates"),
    [
        ("account_id", ["account_id"], True),
        ("vault_uri", ["vault_uri"], True),
        ("secret_name", ["secret_name"], True),
        ("rotation_period_days", [], True),
        ("consumers", [], True),
    ],
)
def test_diff_of_a_value_not_known_yet_says_it_may_change(
    unknown: str, replaces: list[str], updates: bool
) -> None:
    # A preview that replaces the account (or the vault) sends its ID unknown: the secret must
    # be shown as replaced too, never as unchanged.
    news = as_host_decodes(
        {k: v for k, v in OLD.items() if k in aks._INPUTS} | {unknown: rpc.UNKNOWN}
    )

    result = AccountKeySecretProvider().diff("id", OLD, news)

    assert (result.replaces, result.changes) == (replaces, updates)


def test_create_with_a_bad_account_id_fails_in_one_line_before_any_call(harness: Harness) -> None:
    with pytest.raises(InvalidInput) as raised:
        harness.provider().create(harness.props(account_id="ai-keytest"))

    assert str(raised.value) == (
        "AccountKeySecret input account_id='ai-keytest': must be /subscriptions/<subscription "
        "GUID>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>"
    )
    assert harness.state.counters == {}


def test_an_account_id_too_long_for_its_tag_is_refused() -> None:
    group, name = "g" * 90, "a" * 64
    too_long = OLD["account_id"].replace("/rg/", f"/{group}/").replace("ai-one", name)

    with pytest.raises(InvalidInput) as raised:
        SecretSpec.of({**OLD, "account_id": too_long})

    assert str(raised.value).endswith(
        ": must be at most 256 characters (Key Vault's limit for a tag value)"
    )
    spec = SecretSpec.of({**OLD, "vault_uri": "https://KV-one.vault.azure.net/"})
    assert spec.account == ids.ResourceId(
        "5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b",
        "rg",
        "ai-one",
        "Microsoft.CognitiveServices",
        "accounts",
    )
    assert spec.secret_uri == "https://kv-one.vault.azure.net/secrets/ai-api-key"


@pytest.mark.parametrize(
    ("days", "accepted"),
    [(1.0, True), (90.0, True), (365.0, True), (0.0, False), (366.0, False), (730.0, False)],
)
def test_the_rotation_period_is_the_stacks_one_bound(days: float, accepted: bool) -> None:
    # The stack's config has always refused more than 365 days (components/config.py), so no
    # resource in state holds a period the provider's former 730-day bound alone allowed.
    failures = AccountKeySecretProvider().check({}, {**OLD, "rotation_period_days": days}).failures

    assert [f.property for f in failures] == ([] if accepted else ["rotation_period_days"])


def test_an_input_that_looks_like_a_key_is_never_echoed() -> None:
    key_like = "".join(f"{b:02x}" for b in bytes(range(16)))  # 32 hex characters, synthetic

    with pytest.raises(InvalidInput) as raised:
        SecretSpec.of({"account_id": key_like})

    assert str(raised.value) == (
        "AccountKeySecret input account_id=<32 characters, masked: it looks like a key>: must be "
        "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/"
        "Microsoft.CognitiveServices/accounts/<name>"
    )


def test_consumers_become_one_comma_joined_tag_within_key_vault_limits() -> None:
    assert aks.consumers_tag(["app-web", "App-2"]) == "app-web,App-2"
    assert aks.consumers_tag(None) is None
    assert aks.consumers_tag([]) == ""
    longest = [f"{i:02d}" + "s" * 58 for i in range(4)]  # 4 names of 60 + 3 commas = 243
    assert len(aks.consumers_tag(longest) or "") == 243
    with pytest.raises(InvalidInput) as raised:
        aks.consumers_tag([*longest, "site-number-five"])
    assert str(raised.value) == (
        "AccountKeySecret input consumers='5 names, 260 characters comma-joined': must fit Key "
        "Vault's 256-character tag value once comma-joined"
    )
    with pytest.raises(InvalidInput, match="each site may be named only once"):
        aks.consumers_tag(["app-web", "APP-WEB"])
    with pytest.raises(InvalidInput) as raised:
        aks.consumers_tag(["a,b"])
    assert str(raised.value) == (
        "AccountKeySecret input consumers='a,b': each must be a site name: 2-60 letters, digits "
        "or single hyphens, starting and ending with a letter or digit"
    )
    with pytest.raises(InvalidInput, match="must be a list of App Service site names"):
        aks.consumers_tag("app-web")


def test_merged_tags_bring_only_the_resources_own_tags_in_line() -> None:
    spec = SecretSpec.of({**OLD, "rotation_period_days": 30, "consumers": [SITE]})
    current = {
        "CredentialId": "key2",
        "RotationState": "confirmed",
        "RotationStep": "2",
        "ValidityPeriodDays": "90",
        "ProviderAddress": "stale",
        "Consumers": "gone",
    }

    assert aks.merged_tags(current, spec) == {
        "CredentialId": "key2",
        "RotationState": "confirmed",
        "RotationStep": "2",
        "ValidityPeriodDays": "30",
        "ProviderAddress": OLD["account_id"],
        "Consumers": SITE,
    }
    # Without a consumers input the resource leaves the Consumers tag to whoever wrote it; with
    # an empty list it owns the tag and removes it.
    assert aks.merged_tags(current, SecretSpec.of(OLD))["Consumers"] == "gone"
    assert "Consumers" not in aks.merged_tags(current, SecretSpec.of({**OLD, "consumers": []}))


def test_latest_version_and_expiry_rules() -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    # Key Vault's creation times have one-second resolution: on a tie the one listed last wins.
    versions = [
        SecretRecord(name, {}, None, at + timedelta(seconds=second), True)
        for name, second in (("a", 0), ("b", 1), ("c", 1), ("d", 0))
    ]
    assert aks.latest_version(versions).version == "c"
    assert aks.expiry_after_period_change(at, 30, at + timedelta(days=40)) == at + timedelta(
        days=41
    )


@pytest.mark.parametrize("denial", ["ForbiddenByFirewall", "ForbiddenByConnection"])
def test_a_403_from_the_vault_firewall_fails_at_once_naming_the_stacks_network(
    granted: Harness, denial: str
) -> None:
    # Waiting helps a role assignment that is still applying, never a firewall rule: the user
    # must hear about the network now, not about a missing role after five minutes. Key Vault
    # names the denial in the error's innererror.code (Key Vault REST API error format).
    connection = granted.connection()
    real = connection.secret_client(granted.vault.uri)

    def firewalled(*_: Any, **__: Any) -> None:
        error = _status_error(403)
        error.error = ODataV4Format(
            {
                "code": "Forbidden",
                "message": "Client address is not authorized and caller is not a trusted service.",
                "innererror": {"code": denial},
            }
        )
        raise error

    connection.secret_client = lambda _url: SimpleNamespace(  # type: ignore[method-assign]
        vault_url=real.vault_url, set_secret=firewalled
    )

    with pytest.raises(EdgeError) as raised:
        granted.provider(connection=connection).create(granted.props())

    assert granted.sleeps == []
    assert granted.versions() == []
    assert str(raised.value) == (
        f"Key Vault https://{VAULT}.vault.azure.net (set secret {SECRET}) answers 403 Forbidden "
        f"({denial}): the vault's network rules turn the deploying machine away: with "
        "networkMode public, add its public IP address to secure-azure-ai:allowedIpRanges; with "
        "networkMode private, run `pulumi up` again from a machine in the stack's virtual network "
        "or a network peered with it, whose DNS resolves privatelink.vaultcore.azure.net "
        "(docs/private-network.md)"
    )


def _status_error(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    return error


def _once_after(seconds: float, action: Any) -> Any:
    done: list[bool] = []

    def on_sleep(slept: float) -> None:
        if slept >= seconds and not done:
            done.append(True)
            action()

    return on_sleep


# --- Serialisation and registration under Pulumi mocks --------------------------------------------


def test_the_serialised_provider_holds_nothing_but_its_deadline(harness: Harness) -> None:
    provider = harness.provider(deadline_seconds=120)
    blob = pulumi.dynamic.dynamic.serialize_provider(provider)

    # A fresh interpreter in the project directory, as the dynamic provider host runs it.
    code = (
        "import base64, dill, sys; p = dill.loads(base64.b64decode(sys.stdin.read()));"
        "print(type(p).__module__, type(p).__name__, p.deadline_seconds, sorted(vars(p)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        input=blob,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.split(" ", 3)
    assert loaded[:3] == ["components.api_key_secret", "AccountKeySecretProvider", "120.0"]
    assert "_connection" in loaded[3]
    raw = base64.b64decode(blob)
    assert b"Connection" not in raw and b"emulator" not in raw and len(raw) < 300


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every registration; an unmocked invoke fails loudly."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(args)
        outputs = aks.planned_outputs(args.inputs)
        return outputs["secret_uri"], {**args.inputs, **outputs, "version": "v1"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        raise AssertionError(f"unexpected invoke {args.token}")


def test_registers_as_a_dynamic_resource_with_exactly_its_inputs_and_no_key() -> None:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="secure-azure-ai", stack="test", preview=False)
    account_id = OLD["account_id"]
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output:
        secret = AccountKeySecret(
            "ai-key",
            account_id=pulumi.Output.from_input(account_id),
            vault_uri="https://kv-one.vault.azure.net/",
            secret_name="ai-api-key",
            rotation_period_days=90,
            consumers=[SITE],
        )
        return pulumi.Output.all(secret.secret_uri, secret.version, secret.slot).apply(
            lambda outs: seen.update(uri=outs[0], version=outs[1], slot=outs[2])
        )

    program()

    [registered] = mocks.resources
    assert registered.typ == "pulumi-python:dynamic:Resource"
    assert registered.name == "ai-key"
    assert set(registered.inputs) == {
        "account_id",
        "vault_uri",
        "secret_name",
        "rotation_period_days",
        "consumers",
        "__provider",
    }
    assert {k: v for k, v in registered.inputs.items() if k != "__provider"} == {
        "account_id": account_id,
        "vault_uri": "https://kv-one.vault.azure.net/",
        "secret_name": "ai-api-key",
        "rotation_period_days": 90,
        "consumers": [SITE],
    }
    assert seen == {
        "uri": "https://kv-one.vault.azure.net/secrets/ai-api-key",
        "version": "v1",
        "slot": "key1",
    }


def test_a_plain_bad_input_stops_the_program_before_registration() -> None:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="secure-azure-ai", stack="test", preview=False)

    with pytest.raises(InvalidInput) as raised:
        AccountKeySecret(
            "ai-key",
            account_id=pulumi.Output.from_input(OLD["account_id"]),
            vault_uri="https://kv-one.vault.azure.net/",
            secret_name="ai_api_key",
            rotation_period_days=90,
        )

    assert isinstance(raised.value, pulumi.RunError)  # printed without a traceback
    assert str(raised.value) == (
        "AccountKeySecret input secret_name='ai_api_key': must be 1-127 letters, digits or hyphens"
    )
    assert mocks.resources == []


def test_the_first_version_is_a_state_rotation_starts_from() -> None:
    from rotation import state as rotation_state

    first = rotation_state.parse_state(aks.first_version_tags(SecretSpec.of(OLD)), SECRET)

    assert (first.active_slot, first.progress, first.state_name) == ("key1", None, "idle")
