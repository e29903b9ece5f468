"""The managed identity token endpoint and the AI data plane (api-key and keyless)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    ClientAssertionCredential,
    ClientSecretCredential,
    CredentialUnavailableError,
)
from azure.keyvault.secrets import SecretClient

import emulator
from emulator.state import FederatedCredential

pytestmark = pytest.mark.usefixtures("site_env")

COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"


def _token_request(world: emulator.World, **params: str) -> tuple[int, dict]:
    headers = {"X-IDENTITY-HEADER": params.pop("header", world.site.identity_header)}
    query = {"api-version": "2019-08-01", "resource": "https://vault.azure.net", **params}
    response = emulator.session(world.state).get(
        world.state.identity_endpoint, params=query, headers=headers
    )
    return response.status_code, response.json()


def _chat(world: emulator.World, headers: dict[str, str], deployment: str | None = None, **kw):
    return emulator.session(world.state).post(
        f"{world.endpoint}openai/deployments/{deployment or world.deployment}/chat/completions",
        params={"api-version": "2024-10-21"},
        json=kw.get("body", {"messages": [{"role": "user", "content": "say hello"}]}),
        headers=headers,
    )


def test_token_endpoint_answers_the_2019_protocol(world: emulator.World) -> None:
    status, body = _token_request(world)
    assert status == 200
    assert sorted(body) == ["access_token", "client_id", "expires_on", "resource", "token_type"]
    assert body["resource"] == "https://vault.azure.net"
    assert body["token_type"] == "Bearer"
    assert body["client_id"] == world.site.identity.client_id
    info = world.state.token_info(body["access_token"])
    assert info is not None and info.principal_id == world.site.identity.principal_id


def test_token_endpoint_refuses_bad_header_version_and_identity(world: emulator.World) -> None:
    assert _token_request(world, header="wrong") == (
        401,
        {"statusCode": 401, "message": "The X-IDENTITY-HEADER is missing or does not match."},
    )
    assert _token_request(world, **{"api-version": "2017-09-01"})[0] == 400
    status, body = _token_request(world, client_id="00000000-0000-0000-0000-000000000000")
    assert (status, body["statusCode"]) == (400, 400)


def test_host_header_reaches_user_assigned_identities_only(world: emulator.World) -> None:
    host = world.state.host_identity_header
    assert _token_request(world, header=host) == (
        400,
        {"statusCode": 400, "message": "This host has no system-assigned managed identity."},
    )
    status, body = _token_request(world, header=host, client_id=world.rotator.client_id)
    assert status == 200
    info = world.state.token_info(body["access_token"])
    assert info.principal_id == world.rotator.principal_id


def test_managed_identity_credential_gets_tokens_per_identity(world: emulator.World) -> None:
    site_token = emulator.managed_identity_credential(world.state).get_token(COGNITIVE_SCOPE)
    rotator_token = emulator.managed_identity_credential(world.state, world.rotator).get_token(
        COGNITIVE_SCOPE
    )
    site_info = world.state.token_info(site_token.token)
    assert site_info.principal_id == world.site.identity.principal_id
    assert site_info.resource == "https://cognitiveservices.azure.com"
    assert world.state.token_info(rotator_token.token).principal_id == world.rotator.principal_id


def test_credential_surfaces_an_unknown_client_id(world: emulator.World) -> None:
    stranger = emulator.Identity("ghost", "p", "00000000-0000-0000-0000-00000000abcd", "/x")
    credential = emulator.managed_identity_credential(world.state, stranger)
    with pytest.raises(CredentialUnavailableError):
        credential.get_token(COGNITIVE_SCOPE)


def test_credential_helper_needs_the_identity_environment(
    world: emulator.World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDENTITY_HEADER")
    with pytest.raises(emulator.EmulatorError, match="IDENTITY_ENDPOINT/IDENTITY_HEADER"):
        emulator.managed_identity_credential(world.state)


def test_chat_with_a_current_key(world: emulator.World) -> None:
    response = _chat(world, {"api-key": world.state.keys(world.account.name)["key1"]})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Emulated reply from gpt-4o-mini.",
    }
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}


def test_chat_refuses_wrong_missing_key_and_unknown_deployment(world: emulator.World) -> None:
    wrong = _chat(world, {"api-key": "0" * 32})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "401")
    missing = _chat(world, {})
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("Access denied due to missing")
    key = world.state.keys(world.account.name)["key2"]
    unknown = _chat(world, {"api-key": key}, deployment="gpt-nowhere")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "DeploymentNotFound")
    bad_body = _chat(world, {"api-key": key}, body={"messages": []})
    assert bad_body.status_code == 400


def test_keyless_needs_a_grant_on_the_account(world: emulator.World) -> None:
    token = emulator.managed_identity_credential(world.state).get_token(COGNITIVE_SCOPE).token
    denied = _chat(world, {"Authorization": f"Bearer {token}"})
    assert (denied.status_code, denied.json()["error"]["code"]) == (401, "PermissionDenied")

    world.state.grant(world.site, world.account.id, "Cognitive Services OpenAI User")
    assert _chat(world, {"Authorization": f"Bearer {token}"}).status_code == 200


def test_keyless_world_disables_keys(state: emulator.AzureState) -> None:
    keyless = emulator.AzureState()
    world = emulator.seed_world(keyless, keyless=True)
    assert "AZURE_AI_API_KEY" not in keyless.site_environment(world.site.name)
    refused = _chat(world, {"api-key": keyless.keys(world.account.name)["key1"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        403,
        "AuthenticationTypeDisabled",
    )
    with emulator.identity_environment(keyless, world.site.name):
        token = emulator.managed_identity_credential(keyless).get_token(COGNITIVE_SCOPE).token
    assert _chat(world, {"Authorization": f"Bearer {token}"}).status_code == 200


def test_client_secret_credential_signs_in_a_service_principal(world: emulator.World) -> None:
    principal, client_secret = world.state.add_service_principal("sp-pipeline")
    world.state.grant(principal, world.vault.secret_id(world.secret_name), "Key Vault Secrets User")
    credential = ClientSecretCredential(
        world.state.tenant_id,
        principal.client_id,
        client_secret,
        transport=emulator.transport(world.state),
    )
    client = SecretClient(world.vault_url, credential, transport=emulator.transport(world.state))

    assert (
        client.get_secret(world.secret_name).value == world.state.keys(world.account.name)["key1"]
    )
    assert world.state.requests("login.microsoftonline.com", method="POST") == 1


def test_client_secret_credential_with_a_wrong_secret_fails(world: emulator.World) -> None:
    principal, _ = world.state.add_service_principal("sp-pipeline")
    credential = ClientSecretCredential(
        world.state.tenant_id,
        principal.client_id,
        "not-the-secret",
        transport=emulator.transport(world.state),
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        credential.get_token("https://vault.azure.net/.default")


def test_token_endpoint_refuses_other_tenants_grants_and_scopes(world: emulator.World) -> None:
    principal, client_secret = world.state.add_service_principal("sp-pipeline")
    http = emulator.session(world.state)
    form = {
        "client_id": principal.client_id,
        "client_secret": client_secret,
        "grant_type": "client_credentials",
        "scope": "https://vault.azure.net/.default",
    }
    base = "https://login.microsoftonline.com"

    def error(tenant: str, **changes: str) -> tuple[int, str]:
        response = http.post(f"{base}/{tenant}/oauth2/v2.0/token", data={**form, **changes})
        return response.status_code, response.json()["error"]

    tenant = world.state.tenant_id
    assert error("00000000-0000-0000-0000-000000000000") == (400, "invalid_tenant")
    assert error(tenant, grant_type="password") == (400, "unsupported_grant_type")
    assert error(tenant, client_id="unknown") == (400, "unauthorized_client")
    assert error(tenant, scope="openid profile") == (400, "invalid_scope")
    granted = http.post(f"{base}/{tenant}/oauth2/v2.0/token", data=form)
    assert granted.status_code == 200
    info = world.state.token_info(granted.json()["access_token"])
    assert (info.principal_id, info.resource) == (
        principal.principal_id,
        "https://vault.azure.net",
    )


def test_a_federated_assertion_signs_in_only_while_valid_and_only_for_its_record(
    world: emulator.World, clock: emulator.ManualClock
) -> None:
    # Workload identity federation as Entra checks it: the outside token must be one the trusted
    # issuer gave, for the record's subject and audience, and not expired.
    issuer, subject = "https://token.actions.githubusercontent.com", "repo:o/r:environment:dev"
    app = world.state.add_federated_principal("gh-deploy", FederatedCredential(issuer, subject))
    http = emulator.session(world.state)
    url = f"https://login.microsoftonline.com/{world.state.tenant_id}/oauth2/v2.0/token"

    def sign_in(assertion: str, client_id: str = app.client_id) -> tuple[int, str]:
        response = http.post(
            url,
            data={
                "client_id": client_id,
                "client_assertion": assertion,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "grant_type": "client_credentials",
                "scope": "https://vault.azure.net/.default",
            },
        )
        body = response.json()
        if response.status_code == 200:
            return 200, world.state.token_info(body["access_token"]).principal_id
        return response.status_code, body["error_description"].split(":")[0]

    token = world.state.issue_external_token(issuer, subject, lifetime=300)
    assert sign_in(token) == (200, app.principal_id)
    assert sign_in(token, client_id="unknown") == (401, "AADSTS700016")
    assert sign_in("made-up") == (401, "AADSTS50027")
    other = world.state.issue_external_token(issuer, "repo:o/r:ref:refs/heads/x")
    assert sign_in(other) == (401, "AADSTS70021")
    elsewhere = world.state.issue_external_token(issuer, subject, audience="api://other")
    assert sign_in(elsewhere) == (401, "AADSTS70021")
    clock.advance(301)
    assert sign_in(token) == (401, "AADSTS700024")


def test_a_github_job_gets_fresh_oidc_tokens_its_deploy_app_signs_in_with() -> None:
    # GitHub's ID token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN) and the federated app the
    # job deploys as: each request answers a new token, accepted by Entra for that app.
    state = emulator.AzureState()
    world = emulator.seed_world(state, github_subject="repo:o/r:environment:dev")
    assert world.deployer is not None and world.github_job_token is not None
    http = emulator.session(state)
    url = "https://pipelines.actions.githubusercontent.com/x/idtoken?api-version=2.0"

    def fetch(runtime_token: str) -> Any:
        return http.get(
            url,
            params={"audience": "api://AzureADTokenExchange"},
            headers={"Authorization": f"bearer {runtime_token}"},
        )

    first, second = (fetch(world.github_job_token).json()["value"] for _ in range(2))
    assert first != second
    assert fetch("not-the-runtime-token").status_code == 401
    credential = ClientAssertionCredential(
        state.tenant_id,
        world.deployer.client_id,
        lambda: first,
        transport=emulator.transport(state),
    )
    token = credential.get_token("https://vault.azure.net/.default").token
    assert state.token_info(token).principal_id == world.deployer.principal_id
