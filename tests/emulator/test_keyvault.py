"""Key Vault secrets through the real SecretClient, challenge flow and RBAC included."""

from __future__ import annotations

import secrets

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

import emulator

pytestmark = pytest.mark.usefixtures("site_env")


def _client(world: emulator.World, identity: emulator.Identity | None = None) -> SecretClient:
    credential = emulator.managed_identity_credential(world.state, identity)
    return SecretClient(world.vault_url, credential, transport=emulator.transport(world.state))


def test_unauthenticated_request_gets_the_key_vault_challenge(world: emulator.World) -> None:
    response = emulator.session(world.state).get(
        f"{world.vault_url}secrets/{world.secret_name}/?api-version=2026-04-01"
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://login.microsoftonline.com/{world.state.tenant_id}", '
        'resource="https://vault.azure.net"'
    )
    assert response.json()["error"] == {
        "code": "Unauthorized",
        "message": "AKV10000: Request is missing a Bearer or PoP token.",
    }


def test_site_identity_reads_latest_secret_after_one_challenge(world: emulator.World) -> None:
    secret = _client(world).get_secret(world.secret_name)

    assert secret.value == world.state.keys(world.account.name)["key1"]
    assert secret.properties.version == world.secret.version
    assert secret.properties.content_type == "text/plain"
    assert secret.properties.tags == {"CredentialId": "key1"}
    host = f"{world.vault.name}.vault.azure.net"
    # The challenge request (no token) plus the authenticated retry.
    assert world.state.requests(host, method="GET", route="/secrets/{name}/{version}") == 2
    assert world.state.requests("localhost", route="/MSI/token") == 1


def test_set_creates_versions_and_get_by_version_returns_each(world: emulator.World) -> None:
    client = _client(world, world.rotator)
    first_value, second_value = secrets.token_hex(16), secrets.token_hex(16)
    first = client.set_secret(
        world.secret_name, first_value, content_type="text/plain", tags={"slot": "key2"}
    )
    second = client.set_secret(world.secret_name, second_value, expires_on=None)

    assert client.get_secret(world.secret_name).value == second_value
    assert client.get_secret(world.secret_name, first.properties.version).value == first_value
    versions = [p.version for p in client.list_properties_of_secret_versions(world.secret_name)]
    assert versions == [world.secret.version, first.properties.version, second.properties.version]
    assert first.properties.tags == {"slot": "key2"}
    assert second.properties.tags == {}


def test_expiry_and_not_before_round_trip(world: emulator.World) -> None:
    import datetime as dt

    client = _client(world, world.rotator)
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    not_before = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)
    made = client.set_secret(
        world.secret_name, secrets.token_hex(16), expires_on=expires, not_before=not_before
    )
    stored = world.state.latest_secret(world.vault.name, world.secret_name)
    assert stored is not None
    assert (stored.exp, stored.nbf) == (int(expires.timestamp()), int(not_before.timestamp()))
    assert made.properties.expires_on == expires
    assert made.properties.not_before == not_before


def test_update_properties_changes_metadata_but_not_value(world: emulator.World) -> None:
    client = _client(world, world.rotator)
    before = client.get_secret(world.secret_name)
    updated = client.update_secret_properties(
        world.secret_name,
        before.properties.version,
        tags={"slot": "key1", "state": "retired"},
        content_type="application/x-key",
    )
    after = client.get_secret(world.secret_name, before.properties.version)

    assert updated.tags == {"slot": "key1", "state": "retired"}
    assert after.value == before.value
    assert after.properties.content_type == "application/x-key"
    assert len(world.state.secret_versions(world.vault.name, world.secret_name)) == 1


def test_disabled_version_cannot_be_read(world: emulator.World) -> None:
    client = _client(world, world.rotator)
    client.update_secret_properties(world.secret_name, world.secret.version, enabled=False)

    with pytest.raises(HttpResponseError) as caught:
        client.get_secret(world.secret_name)
    assert caught.value.status_code == 403
    assert caught.value.error.code == "Forbidden"
    assert caught.value.error.innererror == {"code": "SecretDisabled"}


@pytest.fixture
def officer(world: emulator.World) -> emulator.Identity:
    """An identity with Key Vault Secrets Officer on the whole vault."""
    identity = world.state.add_identity("id-officer")
    world.state.grant(identity, world.vault.id, "Key Vault Secrets Officer")
    return identity


def test_missing_secret_is_404_in_key_vault_shape(
    world: emulator.World, officer: emulator.Identity
) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        _client(world, officer).get_secret("no-such-secret")
    assert caught.value.error.code == "SecretNotFound"
    assert caught.value.error.message.startswith("A secret with (name/id) (no-such-secret)")


def test_rotator_scoped_to_its_secret_cannot_probe_others(world: emulator.World) -> None:
    with pytest.raises(HttpResponseError) as caught:
        _client(world, world.rotator).get_secret("no-such-secret")
    assert caught.value.status_code == 403


def test_list_secrets_shows_each_name_once(
    world: emulator.World, officer: emulator.Identity
) -> None:
    client = _client(world, officer)
    client.set_secret("other-secret", secrets.token_hex(16))
    client.set_secret("other-secret", secrets.token_hex(16))

    names = sorted(p.name for p in client.list_properties_of_secrets())
    assert names == ["ai-api-key", "other-secret"]


def test_app_identity_is_limited_to_reading_its_one_secret(world: emulator.World) -> None:
    client = _client(world)
    world.state.set_secret(world.vault.name, "unrelated", secrets.token_hex(16))

    for attempt in (
        lambda: client.set_secret(world.secret_name, secrets.token_hex(16)),
        lambda: client.get_secret("unrelated"),
        lambda: list(client.list_properties_of_secrets()),
    ):
        with pytest.raises(HttpResponseError) as caught:
            attempt()
        assert caught.value.status_code == 403
        assert caught.value.error.innererror == {"code": "ForbiddenByRbac"}
    assert len(world.state.secret_versions(world.vault.name, world.secret_name)) == 1


def test_unsupported_api_version_is_rejected(world: emulator.World) -> None:
    credential = emulator.managed_identity_credential(world.state)
    client = SecretClient(
        world.vault_url, credential, transport=emulator.transport(world.state), api_version="7.3"
    )
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret(world.secret_name)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadParameter"
    assert "(7.3)" in caught.value.error.message


def test_token_for_another_audience_is_refused(world: emulator.World) -> None:
    token, _ = world.state.issue_token(
        world.site.identity.principal_id, "https://management.azure.com"
    )
    response = emulator.session(world.state).get(
        f"{world.vault_url}secrets/{world.secret_name}/?api-version=2026-04-01",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("AKV10022: Invalid audience")


def test_rbac_off_lets_any_identity_write(state: emulator.AzureState) -> None:
    relaxed = emulator.AzureState(rbac=False)
    relaxed_world = emulator.seed_world(relaxed)
    with emulator.identity_environment(relaxed, relaxed_world.site.name):
        value = secrets.token_hex(16)
        _client(relaxed_world).set_secret(relaxed_world.secret_name, value)
    assert relaxed.latest_secret(relaxed_world.vault.name, relaxed_world.secret_name).value == value


def test_delete_is_soft_holds_the_name_and_recover_brings_every_version_back(
    world: emulator.World,
) -> None:
    # Key Vault with purge protection: a deleted secret keeps its name (409 on reuse) until it is
    # recovered with all its versions.
    client = _client(world, world.rotator)
    client.set_secret(world.secret_name, secrets.token_hex(16))
    versions = [v.version for v in world.state.secret_versions(world.vault.name, world.secret_name)]

    deleted = client.begin_delete_secret(world.secret_name).result()

    assert deleted.recovery_id == f"{world.vault_url}deletedsecrets/{world.secret_name}"
    assert deleted.properties.version == versions[-1]
    assert client.get_deleted_secret(world.secret_name).name == world.secret_name
    with pytest.raises(ResourceNotFoundError):
        client.get_secret(world.secret_name)
    with pytest.raises(HttpResponseError) as reused:
        client.set_secret(world.secret_name, secrets.token_hex(16))
    assert (reused.value.status_code, reused.value.error.code) == (409, "Conflict")
    assert world.state.secret_versions(world.vault.name, world.secret_name) == []

    client.begin_recover_deleted_secret(world.secret_name).result()

    recovered = world.state.secret_versions(world.vault.name, world.secret_name)
    assert [v.version for v in recovered] == versions
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret(world.secret_name)


def test_delete_needs_the_delete_permission_and_an_existing_secret(world: emulator.World) -> None:
    with pytest.raises(HttpResponseError) as denied:
        _client(world).begin_delete_secret(world.secret_name)  # Key Vault Secrets User
    assert (denied.value.status_code, denied.value.error.code) == (403, "Forbidden")
    assert len(world.state.secret_versions(world.vault.name, world.secret_name)) == 1

    world.state.grant(world.rotator, world.vault.id, "Key Vault Secrets Officer")
    with pytest.raises(ResourceNotFoundError):
        _client(world, world.rotator).begin_delete_secret("never-set")
