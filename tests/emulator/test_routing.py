"""The routing table: each (method, host, path) reaches one handler, counted under one name.

The hosts and paths are the ones the Azure SDKs send (azure-keyvault-secrets, azure-mgmt-
cognitiveservices, azure-mgmt-web, azure-identity/MSAL, the openai package); ARM and the
identity endpoint match their fixed segments regardless of case, as Azure's front ends do.
"""

from __future__ import annotations

import pytest

import emulator
from emulator.app import ROUTER, SERVICES

SUB = "5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b"
ACCOUNT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.CognitiveServices/accounts/ai-a"
)
SITE = f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.Web/sites/app-a"
KV = "kv-a.vault.azure.net"
ARM = "management.azure.com"
LOGIN = "login.microsoftonline.com"
ARM_IDS = {"sub": SUB, "rg": "rg-a", "name": "ai-a"}
SITE_IDS = {"sub": SUB, "rg": "rg-a", "name": "app-a"}

# (method, host, path) -> (endpoint, counted as, parameters); counted as None: the path.
TABLE = [
    ("GET", KV, "/secrets", "keyvault.list_secrets", "/secrets", {"vault": "kv-a"}),
    ("GET", KV, "/secrets/", "keyvault.list_secrets", "/secrets", {"vault": "kv-a"}),
    (
        "PUT",
        KV,
        "/secrets/s",
        "keyvault.set_secret",
        "/secrets/{name}",
        {"vault": "kv-a", "name": "s"},
    ),
    (
        "DELETE",
        KV,
        "/secrets/s",
        "keyvault.delete_secret",
        "/secrets/{name}",
        {"vault": "kv-a", "name": "s"},
    ),
    (
        "GET",
        KV,
        "/secrets/s",
        "keyvault.secret",
        "/secrets/{name}/{version}",
        {"vault": "kv-a", "name": "s", "version": ""},
    ),
    (
        "POST",
        KV,
        "/secrets/s",
        "keyvault.secret",
        "/secrets/{name}/{version}",
        {"vault": "kv-a", "name": "s", "version": ""},
    ),
    (
        "PATCH",
        KV,
        "/secrets/s/v1",
        "keyvault.secret",
        "/secrets/{name}/{version}",
        {"vault": "kv-a", "name": "s", "version": "v1"},
    ),
    (
        "GET",
        KV,
        "/secrets/s/versions",
        "keyvault.versions",
        "/secrets/{name}/versions",
        {"vault": "kv-a", "name": "s"},
    ),
    (
        "GET",
        KV,
        "/deletedsecrets/s",
        "keyvault.deleted_secret",
        "/deletedsecrets/{name}",
        {"vault": "kv-a", "name": "s"},
    ),
    (
        "POST",
        KV,
        "/deletedsecrets/s/recover",
        "keyvault.recover_secret",
        "/deletedsecrets/{name}/recover",
        {"vault": "kv-a", "name": "s"},
    ),
    ("POST", KV, "/deletedsecrets/s", "keyvault.not_found", None, {"vault": "kv-a"}),
    ("GET", KV, "/keys/k", "keyvault.not_found", None, {"vault": "kv-a"}),
    ("GET", KV, "/", "keyvault.not_found", None, {"vault": "kv-a"}),
    ("GET", ARM, ACCOUNT, "arm_accounts.get", "accounts/account", ARM_IDS),
    ("POST", ARM, f"{ACCOUNT}/listKeys", "arm_accounts.list_keys", "accounts/listKeys", ARM_IDS),
    (
        "POST",
        ARM,
        f"{ACCOUNT}/regenerateKey",
        "arm_accounts.regenerate_key",
        "accounts/regenerateKey",
        ARM_IDS,
    ),
    (
        "POST",
        ARM,
        f"{ACCOUNT}/listKeys".lower(),
        "arm_accounts.list_keys",
        "accounts/listKeys",
        {"sub": SUB, "rg": "rg-a", "name": "ai-a"},
    ),
    ("GET", ARM, f"{SITE}/instances", "arm_sites.instances", "sites/instances", SITE_IDS),
    (
        "GET",
        ARM,
        f"{SITE}/config/configreferences/appsettings",
        "arm_sites.references",
        "configreferences/appsettings",
        {**SITE_IDS, "key": ""},
    ),
    (
        "GET",
        ARM,
        f"{SITE}/config/configreferences/appsettings/K",
        "arm_sites.references",
        "configreferences/appsettings/{key}",
        {**SITE_IDS, "key": "K"},
    ),
    (
        "POST",
        ARM,
        f"{SITE}/config/configreferences/appsettings/refresh",
        "arm_sites.references",
        "configreferences/appsettings/{key}",
        {**SITE_IDS, "key": "refresh"},
    ),
    ("GET", ARM, f"/subscriptions/{SUB}/resourceGroups/rg-a", "arm.no_route", None, {}),
    (
        "POST",
        "ai-a.openai.azure.com",
        "/openai/deployments/d/chat/completions",
        "ai_inference.completions",
        "/openai/deployments/{deployment}/chat/completions",
        {"subdomain": "ai-a", "deployment": "d", "operation": "chat/completions"},
    ),
    (
        "POST",
        "ai-a.cognitiveservices.azure.com",
        "/openai/deployments/d/completions",
        "ai_inference.completions",
        "/openai/deployments/{deployment}/completions",
        {"subdomain": "ai-a", "deployment": "d", "operation": "completions"},
    ),
    (
        "GET",
        "ai-a.openai.azure.com",
        "/openai/models",
        "ai_inference.not_found",
        None,
        {"subdomain": "ai-a"},
    ),
    ("GET", "app-a.azurewebsites.net", "/healthz", "sites.serve", "site", {"site": "app-a"}),
    ("POST", "app-a.azurewebsites.net", "/", "sites.serve", "site", {"site": "app-a"}),
    ("GET", "localhost", "/MSI/token", "managed_identity.token", "/MSI/token", {}),
    ("GET", "127.0.0.1", "/msi/token", "managed_identity.token", "/MSI/token", {}),
    (
        "GET",
        LOGIN,
        "/t-1/v2.0/.well-known/openid-configuration",
        "entra.openid_configuration",
        "openid-configuration",
        {"tenant": "t-1"},
    ),
    (
        "POST",
        LOGIN,
        "/t-1/oauth2/v2.0/token",
        "entra.client_credentials",
        "/{tenant}/oauth2/v2.0/token",
        {"tenant": "t-1"},
    ),
    (
        "GET",
        LOGIN,
        "/common/discovery/instance",
        "entra.instance_discovery",
        "/common/discovery/instance",
        {},
    ),
    (
        "GET",
        "pipelines.actions.githubusercontent.com",
        "/abc/idtoken/x",
        "entra.github_oidc",
        "idtoken",
        {},
    ),
]
ADMIN = [
    ("GET", "/_emulator/health", "admin.health", {}),
    ("GET", "/_emulator/counters", "admin.counters", {}),
    ("DELETE", "/_emulator/counters", "admin.reset_counters", {}),
    ("GET", "/_emulator/faults", "admin.faults", {}),
    ("POST", "/_emulator/faults", "admin.add_fault", {}),
    ("DELETE", "/_emulator/faults", "admin.clear_faults", {}),
    ("GET", "/_emulator/sites/app-a/environment", "admin.site_environment", {"site": "app-a"}),
    ("PUT", "/_emulator/counters", "admin.unknown", {}),
    ("GET", "/_emulator/nothing/here", "admin.unknown", {}),
]
UNSERVED = [
    ("GET", "example.com", "/x"),
    ("GET", LOGIN, "/t-1/oauth2/authorize"),
    ("GET", "localhost", "/metadata/identity/oauth2/token"),
    ("GET", "a.kv-a.vault.azure.net", "/secrets"),
]


@pytest.mark.parametrize(("method", "host", "path", "endpoint", "counted_as", "params"), TABLE)
def test_each_request_reaches_its_handler(method, host, path, endpoint, counted_as, params):
    route, found = ROUTER.match(host, path, method)
    assert route is not None
    assert (route.endpoint, route.counted_as, found, route.observed) == (
        endpoint,
        counted_as,
        params,
        True,
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize(("method", "path", "endpoint", "params"), ADMIN)
def test_admin_requests_are_routed_unobserved(host, method, path, endpoint, params):
    route, found = ROUTER.match(host, path, method)
    assert route is not None
    assert (route.endpoint, found, route.observed) == (endpoint, params, False)


@pytest.mark.parametrize(("method", "host", "path"), UNSERVED)
def test_unserved_hosts_and_paths_have_no_route(method, host, path):
    assert ROUTER.match(host, path, method) == (None, {})


def test_every_route_names_a_handler_of_its_service():
    handlers = {cls.name: cls for cls in SERVICES} | {"admin": emulator.app.admin.Admin}
    for rule in ROUTER.map.iter_rules():
        assert callable(getattr(handlers[rule.service], rule.handler, None)), rule.endpoint


@pytest.mark.parametrize(("method", "host", "path"), UNSERVED)
def test_unserved_request_gets_host_not_found_and_is_counted_by_path(method, host, path):
    state = emulator.AzureState()
    response = emulator.session(state).request(method, f"https://{host}{path}")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "HostNotFound", "message": f"The emulator serves no host named '{host}'."}
    }
    assert dict(state.counters) == {(host, method, path): 1}


def test_a_served_request_is_counted_under_its_route_name():
    state = emulator.AzureState()
    emulator.session(state).get(f"https://{KV}/secrets/s/v1", params={"api-version": "7.6"})
    assert dict(state.counters) == {(KV, "GET", "/secrets/{name}/{version}"): 1}


def test_admin_requests_are_not_counted():
    state = emulator.AzureState()
    response = emulator.session(state).get("http://127.0.0.1/_emulator/health")
    assert (response.status_code, response.json(), dict(state.counters)) == (
        200,
        {"status": "ok"},
        {},
    )
