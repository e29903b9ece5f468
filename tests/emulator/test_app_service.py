"""App Service Key Vault references: statuses, the 24-hour cache, refresh, and mounted sites."""

from __future__ import annotations

import secrets

import pytest
from azure.core.rest import HttpRequest
from azure.mgmt.web import WebSiteManagementClient
from flask import Flask

import emulator

pytestmark = pytest.mark.usefixtures("site_env")


def _web(world: emulator.World) -> WebSiteManagementClient:
    credential = emulator.managed_identity_credential(world.state, world.rotator)
    return WebSiteManagementClient(
        credential, world.state.subscription, transport=emulator.transport(world.state)
    )


def _refresh(world: emulator.World) -> int:
    request = HttpRequest(
        "POST",
        f"{world.site.id}/config/configreferences/appsettings/refresh",
        params={"api-version": "2022-03-01"},
    )
    return _web(world).send_request(request).status_code


def _publish(world: emulator.World) -> tuple[str, str]:
    value = secrets.token_hex(16)
    version = world.state.set_secret(world.vault.name, world.secret_name, value).version
    return value, version


def test_references_list_reports_resolved_versionless_reference(world: emulator.World) -> None:
    refs = list(
        _web(world).web_apps.get_app_settings_key_vault_references(
            world.state.resource_group, world.site.name
        )
    )
    assert [r.name for r in refs] == ["AZURE_AI_API_KEY"]
    props = refs[0].properties
    assert props.status == "Resolved"
    assert (props.vault_name, props.secret_name) == ("kv-secure-demo", "ai-api-key")
    assert props.secret_version is None
    assert props.active_version == world.secret.version
    assert props.reference == (
        "@Microsoft.KeyVault(SecretUri=https://kv-secure-demo.vault.azure.net/secrets/ai-api-key)"
    )
    assert refs[0].id == f"{world.site.id}/config/configreferences/appsettings/AZURE_AI_API_KEY"


def test_new_secret_version_is_invisible_until_refresh(world: emulator.World) -> None:
    key1 = world.state.keys(world.account.name)["key1"]
    new_value, new_version = _publish(world)
    world.state.restart_site(world.site.name)

    # Cached: a new version and a plain restart change nothing.
    assert world.state.site_environment(world.site.name)["AZURE_AI_API_KEY"] == key1
    one = _web(world).web_apps.get_app_setting_key_vault_reference(
        world.state.resource_group, world.site.name, "AZURE_AI_API_KEY"
    )
    assert one.properties.active_version == world.secret.version

    assert _refresh(world) == 200

    assert world.state.site_environment(world.site.name)["AZURE_AI_API_KEY"] == new_value
    one = _web(world).web_apps.get_app_setting_key_vault_reference(
        world.state.resource_group, world.site.name, "AZURE_AI_API_KEY"
    )
    assert one.properties.active_version == new_version


def test_a_config_change_also_re_resolves(world: emulator.World) -> None:
    new_value, _ = _publish(world)
    settings = dict(world.site.app_settings, APP_LOG_LEVEL="DEBUG")
    world.state.set_app_settings(world.site.name, settings)
    env = world.state.site_environment(world.site.name)
    assert env["AZURE_AI_API_KEY"] == new_value
    assert env["APP_LOG_LEVEL"] == "DEBUG"


def test_site_environment_carries_identity_and_plain_settings(world: emulator.World) -> None:
    env = world.state.site_environment(world.site.name)
    assert env["AZURE_AI_ENDPOINT"] == "https://ai-secure-demo.openai.azure.com/"
    assert env["IDENTITY_ENDPOINT"] == "http://localhost:4141/MSI/token"
    assert env["IDENTITY_HEADER"] == world.site.identity_header
    assert env["WEBSITE_SITE_NAME"] == "app-secure-demo"


@pytest.mark.parametrize(
    ("reference", "status"),
    [
        ("@Microsoft.KeyVault(VaultName=kv-secure-demo;SecretName=missing)", "SecretNotFound"),
        ("@Microsoft.KeyVault(VaultName=kv-nowhere;SecretName=ai-api-key)", "VaultNotFound"),
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-secure-demo.vault.azure.net/secrets/"
            "ai-api-key/0123456789abcdef0123456789abcdef)",
            "SecretVersionNotFound",
        ),
        ("@Microsoft.KeyVault(SecretName=ai-api-key)", "InvalidSyntax"),
    ],
)
def test_unresolved_reference_leaves_literal_text(
    world: emulator.World, reference: str, status: str
) -> None:
    # The site's grant covers ai-api-key only; "missing" is granted too so the status is exact.
    world.state.grant(world.site, world.vault.secret_id("missing"), "Key Vault Secrets User")
    world.state.set_app_settings(world.site.name, {"KEY": reference})
    refs = world.state.site(world.site.name).references
    assert refs["KEY"].status == status
    assert world.state.site_environment(world.site.name)["KEY"] == reference


def test_reference_without_a_grant_is_access_denied(world: emulator.World) -> None:
    world.state.set_secret(world.vault.name, "other", secrets.token_hex(16))
    reference = "@Microsoft.KeyVault(VaultName=kv-secure-demo;SecretName=other)"
    world.state.set_app_settings(world.site.name, {"OTHER": reference})
    assert world.state.site(world.site.name).references["OTHER"].status == "AccessToKeyVaultDenied"
    assert world.state.site_environment(world.site.name)["OTHER"] == reference


def test_pinned_version_reference_resolves_that_version(world: emulator.World) -> None:
    _publish(world)
    pinned = f"@Microsoft.KeyVault(SecretUri={world.secret_uri}/{world.secret.version})"
    world.state.set_app_settings(world.site.name, {"PINNED": pinned})
    ref = world.state.site(world.site.name).references["PINNED"]
    assert (ref.status, ref.secret_version, ref.active_version) == (
        "Resolved",
        world.secret.version,
        world.secret.version,
    )


def test_refresh_requires_config_write(world: emulator.World) -> None:
    token, _ = world.state.issue_token(
        world.site.identity.principal_id, "https://management.azure.com"
    )
    response = emulator.session(world.state).post(
        f"https://management.azure.com{world.site.id}/config/configreferences/appsettings/refresh",
        params={"api-version": "2022-03-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AuthorizationFailed"
    assert world.state.site(world.site.name).refresh_count == 2


def test_mounted_site_serves_its_host(world: emulator.World) -> None:
    site_app = Flask("probe")

    @site_app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"site": world.state.site_environment(world.site.name)["WEBSITE_SITE_NAME"]}

    http = emulator.session(world.state)
    assert http.get(f"https://{world.site.host}/healthz").status_code == 503
    world.state.mount(world.site.name, site_app)
    response = http.get(f"https://{world.site.host}/healthz")
    assert (response.status_code, response.json()) == (200, {"site": "app-secure-demo"})
    assert http.get("https://app-nowhere.azurewebsites.net/").status_code == 404


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("plain", None),
        (
            "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/s1/)",
            {"vault_name": "kv-a", "secret_name": "s1", "secret_version": None},
        ),
        (
            "@Microsoft.KeyVault(VaultName=KV-A;SecretName=s1;SecretVersion=abc)",
            {"vault_name": "kv-a", "secret_name": "s1", "secret_version": "abc"},
        ),
        (
            "@Microsoft.KeyVault(SecretUri=http://kv-a.vault.azure.net/secrets/s1)",
            {
                "error": "SecretUri 'http://kv-a.vault.azure.net/secrets/s1' is not a Key Vault "
                "secret URI"
            },
        ),
    ],
)
def test_parse_reference(text: str, parsed: dict | None) -> None:
    assert emulator.parse_reference(text) == parsed


def test_faults_apply_to_mounted_sites(world: emulator.World) -> None:
    world.state.mount(world.site.name, lambda environ, start: start("200 OK", []) and [b"ok"])
    fault = world.state.add_fault(host=world.site.host, path="^/healthz$", status=503, times=1)
    http = emulator.session(world.state)
    assert http.get(f"https://{world.site.host}/healthz").status_code == 503
    assert http.get(f"https://{world.site.host}/healthz").text == "ok"
    assert fault.hits == 1
    assert world.state.requests(world.site.host, method="GET", route="site") == 2
