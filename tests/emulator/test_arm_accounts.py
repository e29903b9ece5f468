"""Cognitive Services accounts on ARM through CognitiveServicesManagementClient, and key effects."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

import emulator

pytestmark = pytest.mark.usefixtures("site_env")


def _arm(world: emulator.World, identity: emulator.Identity | None = None):
    credential = emulator.managed_identity_credential(world.state, identity or world.rotator)
    return CognitiveServicesManagementClient(
        credential, world.state.subscription, transport=emulator.transport(world.state)
    )


def _chat(world: emulator.World, key: str) -> int:
    response = emulator.session(world.state).post(
        f"{world.endpoint}openai/deployments/{world.deployment}/chat/completions",
        params={"api-version": "2024-10-21"},
        json={"messages": [{"role": "user", "content": "ping"}]},
        headers={"api-key": key},
    )
    return response.status_code


def test_get_account_reports_endpoint_and_local_auth(world: emulator.World) -> None:
    account = _arm(world).accounts.get(world.state.resource_group, world.account.name)
    assert account.id == world.account.id
    assert account.kind == "OpenAI"
    assert account.properties.endpoint == "https://ai-secure-demo.openai.azure.com/"
    assert account.properties.custom_sub_domain_name == "ai-secure-demo"
    assert account.properties.disable_local_auth is False


def test_list_keys_returns_both_current_keys(world: emulator.World) -> None:
    keys = _arm(world).accounts.list_keys(world.state.resource_group, world.account.name)
    assert {"key1": keys.key1, "key2": keys.key2} == world.state.keys(world.account.name)
    assert len(keys.key1) == 32 and keys.key1 != keys.key2


def test_regenerate_invalidates_the_old_key_at_once(world: emulator.World) -> None:
    old = world.state.keys(world.account.name)
    assert _chat(world, old["key1"]) == 200

    new = _arm(world).accounts.regenerate_key(
        world.state.resource_group, world.account.name, key_name="Key1"
    )

    assert new.key1 != old["key1"] and new.key2 == old["key2"]
    assert _chat(world, old["key1"]) == 401
    assert _chat(world, new.key1) == 200
    assert _chat(world, old["key2"]) == 200


def test_accept_delay_holds_a_fresh_key_back(
    world: emulator.World, clock: emulator.ManualClock
) -> None:
    world.account.accept_delay = 30
    new = _arm(world).accounts.regenerate_key(
        world.state.resource_group, world.account.name, key_name="Key2"
    )
    assert _chat(world, new.key2) == 401
    clock.advance(29.9)
    assert _chat(world, new.key2) == 401
    clock.advance(0.1)
    assert _chat(world, new.key2) == 200


@pytest.mark.parametrize("key_name", ["key1", "Key3", ""])
def test_regenerate_rejects_other_key_names(world: emulator.World, key_name: str) -> None:
    before = world.state.keys(world.account.name)
    with pytest.raises(HttpResponseError) as caught:
        _arm(world).accounts.regenerate_key(
            world.state.resource_group, world.account.name, key_name=key_name
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadRequest"
    assert caught.value.error.message == (
        f"The key name '{key_name}' is invalid. Valid values are 'Key1' and 'Key2'."
    )
    assert world.state.keys(world.account.name) == before


def test_regenerate_with_a_dict_is_the_known_400(world: emulator.World) -> None:
    # The SDK turns the dict into the text of keyName: {"keyName": "{'keyName': 'Key1'}"}.
    before = world.state.keys(world.account.name)
    with pytest.raises(HttpResponseError) as caught:
        _arm(world).accounts.regenerate_key(
            world.state.resource_group, world.account.name, {"keyName": "Key1"}
        )
    assert caught.value.status_code == 400
    assert caught.value.error.message == (
        "The key name '{'keyName': 'Key1'}' is invalid. Valid values are 'Key1' and 'Key2'."
    )
    assert world.state.keys(world.account.name) == before


@pytest.fixture
def contributor(world: emulator.World) -> emulator.Identity:
    """An identity with Contributor on the whole subscription."""
    identity = world.state.add_identity("id-contributor")
    world.state.grant(identity, f"/subscriptions/{world.state.subscription}", "Contributor")
    return identity


def test_unknown_account_is_404_in_arm_shape(
    world: emulator.World, contributor: emulator.Identity
) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        _arm(world, contributor).accounts.get(world.state.resource_group, "ai-missing")
    assert caught.value.error.code == "ResourceNotFound"
    assert caught.value.error.message.startswith(
        "The Resource 'Microsoft.CognitiveServices/accounts/ai-missing' under resource group "
        "'rg-secure-ai' was not found."
    )


def test_unknown_resource_group_is_404(
    world: emulator.World, contributor: emulator.Identity
) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        _arm(world, contributor).accounts.get("rg-missing", world.account.name)
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_rotator_gets_403_not_404_outside_its_scope(world: emulator.World) -> None:
    # ARM authorizes before it looks the resource up, as Azure does.
    with pytest.raises(HttpResponseError) as caught:
        _arm(world).accounts.get(world.state.resource_group, "ai-missing")
    assert caught.value.status_code == 403


def test_app_identity_may_not_list_keys(world: emulator.World) -> None:
    credential = emulator.managed_identity_credential(world.state)
    client = CognitiveServicesManagementClient(
        credential, world.state.subscription, transport=emulator.transport(world.state)
    )
    with pytest.raises(HttpResponseError) as caught:
        client.accounts.list_keys(world.state.resource_group, world.account.name)
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "'Microsoft.CognitiveServices/accounts/listKeys/action'" in caught.value.error.message


def test_rotator_custom_role_cannot_do_more_than_its_actions(world: emulator.World) -> None:
    principal = world.rotator.principal_id
    assert world.state.is_authorized(
        principal,
        "Microsoft.CognitiveServices/accounts/regenerateKey/action",
        world.account.id,
        data=False,
    )
    assert not world.state.is_authorized(
        principal, "Microsoft.CognitiveServices/accounts/write", world.account.id, data=False
    )


def test_arm_requires_api_version_and_token(world: emulator.World) -> None:
    session = emulator.session(world.state)
    url = f"https://management.azure.com{world.account.id}"
    missing_version = session.get(url)
    assert missing_version.status_code == 400
    assert missing_version.json()["error"]["code"] == "MissingApiVersionParameter"
    anonymous = session.get(url, params={"api-version": "2025-09-01"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"
