"""A local stand-in for the few Azure endpoints this project calls, for tests and rehearsals.

One WSGI app (:class:`EmulatorApp`) routes by Host header over one :class:`AzureState`:

=============================================  ==============================================
Host                                           Emulated API
=============================================  ==============================================
``localhost`` / ``127.0.0.1`` ``/MSI/token``   App Service managed identity (2019-08-01)
``login.microsoftonline.com``                  client-credential sign-in (ClientSecretCredential)
``{vault}.vault.azure.net``                    Key Vault secrets, real 401 challenge, RBAC
``management.azure.com``                       Cognitive Services accounts (get, listKeys,
                                               regenerateKey); App Service
                                               ``config/configreferences/appsettings`` (list,
                                               get one, POST ``.../refresh``); ``.../instances``
``{subdomain}.openai.azure.com``,              ``POST /openai/deployments/{d}/chat/completions``
``{subdomain}.cognitiveservices.azure.com``    and ``.../completions`` (``api-key`` header or
                                               Entra bearer token; ``"stream": true``: SSE;
                                               served api-versions only: emulator/inference.py)
``{site}.azurewebsites.net``                   a WSGI app you mount with ``state.mount(...)``,
                                               per instance by the ``ARRAffinity`` cookie
``127.0.0.1`` ``/_emulator/...``               admin: counters, faults, a site's environment
=============================================  ==============================================

Each service is one module under ``emulator/services/`` (its state, handlers and ``ROUTES``),
over shared identity, RBAC, faults and errors; ``emulator/app.py`` routes with one werkzeug
``Map(host_matching=True)`` (docs/emulator.md, "How it is built").

In memory (unit tests; the real SDK pipeline runs, no sockets)::

    import emulator
    from azure.keyvault.secrets import SecretClient

    state = emulator.AzureState()                  # rbac=True, clock=time.time by default
    world = emulator.seed_world(state)             # account + vault/secret + site + rotator
    emulator.clear_challenge_cache()               # Key Vault caches challenges per process
    with emulator.identity_environment(state, world.site.name):   # IDENTITY_ENDPOINT/HEADER
        credential = emulator.managed_identity_credential(state)  # the site's system identity
        client = SecretClient(world.vault_url, credential, transport=emulator.transport(state))
        client.get_secret(world.secret_name).value == state.keys(world.account.name)["key1"]
        rotator = emulator.managed_identity_credential(state, world.rotator)  # user-assigned

- ``emulator.transport(state)``: an azure-core ``RequestsTransport``; pass ``transport=`` to
  any client or credential (SecretClient, CognitiveServicesManagementClient(credential,
  subscription_id=state.subscription, transport=...), ManagedIdentityCredential).
- ``emulator.session(state)``: a ``requests.Session`` for plain-requests callers (chat calls,
  config references with a bearer token, a mounted site's ``/healthz``). URLs stay the
  production https:// names (the SDK refuses bearer tokens over http).
- Passing an :class:`EmulatorApp` instead of the state works everywhere a state is accepted.

Seeding and inspecting (all on :class:`AzureState`, thread-safe under ``state.lock``):

- ``add_account(name, subdomain=, kind="OpenAI", deployments=("gpt-4o-mini",),
  disable_local_auth=False, accept_delay=0.0)``; ``keys(name)`` -> ``{"key1", "key2"}``;
  ``regenerate_key(name, "key1"|"key2")``. A regenerated key's old value fails at once; the new
  one is accepted by the data plane only ``accept_delay`` seconds (state clock) later
  (``state.account(name).accept_delay`` may be changed at any time).
- ``add_vault(name)``; ``set_secret(vault, name, value, content_type=, tags=, enabled=, exp=,
  nbf=)``; ``secret_versions(vault, name)`` (oldest first); ``latest_secret(vault, name)``.
  ``vault.secret_id(name)`` is the RBAC scope of one secret.
- ``add_identity(name)`` -> :class:`Identity` (user-assigned: principal_id, client_id);
  ``add_service_principal(name)`` -> (Identity, client_secret) for ``ClientSecretCredential(
  state.tenant_id, identity.client_id, client_secret, transport=emulator.transport(state))``.
- ``add_site(name, app_settings=, system_identity=True, key_vault_reference_identity=None)``;
  ``set_app_settings(site, settings)`` (a config change: re-resolves references);
  ``refresh_references(site)`` (the refresh call); ``restart_site(site)`` (does NOT
  re-resolve, like Azure); ``site_environment(site)`` -> the env App Service injects now (cached
  resolved values, or the literal ``@Microsoft.KeyVault(...)`` text when unresolved, plus
  IDENTITY_ENDPOINT/IDENTITY_HEADER/WEBSITE_SITE_NAME); ``mount(site, wsgi_app, instance=None)``
  serves ``https://{site}.azurewebsites.net`` (on every instance, or one);
  ``scale_out(site, n)`` -> the instance IDs ARM lists; ``site(name).refresh_count`` counts
  resolutions.
- ``grant(principal, scope, role=None, actions=(), data_actions=())``: principal is an
  Identity, a Site (its system identity) or a principal id; role a built-in name or GUID from
  :data:`BUILTIN_ROLES`. With ``rbac=True`` (default) Key Vault answers 403 ForbiddenByRbac, ARM
  403 AuthorizationFailed and the AI data plane 401 PermissionDenied without a matching grant.
- Faults: ``add_fault(host=, method=, path=<regex>, status=, times=, retry_after=, latency=,
  throttle_limit=, throttle_window=, every=)`` -> :class:`Fault` (``.hits``);
  ``clear_faults()``. Rules apply to every emulated host, mounted sites included (e.g. make
  ``/healthz`` answer 503).
- Counters: ``requests(host, method=, route=)`` counts requests, e.g.
  ``state.requests("kv-secure-demo.vault.azure.net", method="GET",
  route="/secrets/{name}/{version}")`` (routes: ``/secrets``, ``/secrets/{name}``,
  ``/secrets/{name}/versions``, ``/secrets/{name}/{version}``, ``/MSI/token``,
  ``accounts/account``, ``accounts/listKeys``, ``accounts/regenerateKey``,
  ``configreferences/appsettings``, ``configreferences/appsettings/{key}`` (the refresh POST
  too: method POST), ``openid-configuration``, ``/{tenant}/oauth2/v2.0/token``,
  ``/openai/deployments/{deployment}/chat/completions``, ``site``); ``reset_counters()``.
  The challenge's unauthenticated first request counts too; App Service's own reference
  resolutions are not HTTP requests (see ``site(name).refresh_count``).
- Secret ``exp``/``nbf`` are stored, not enforced: Key Vault documents them as informational.
- Time: ``AzureState(clock=emulator.ManualClock())`` and ``clock.advance(seconds)`` move
  accept delays, throttle windows and secret timestamps without sleeping.

As a process (integration tests, rehearsals): ``python -m emulator`` serves the same app over
TLS with a CONNECT proxy, so clients keep production host names; it prints the environment to
export. From Python, ``with emulator.serve(state, world=world) as server:`` runs it in threads
of this process, sharing the state (``server.env``, ``server.ca_path``, ``server.proxies``,
``server.admin_url``, ``server.admin_headers``), and ``with emulator.run_process(args) as
proc:`` runs ``python -m emulator`` in a subprocess (same attributes). Pass the CA and proxy per
client (``connection_verify=str(server.ca_path), proxies=server.proxies``): this machine sets
REQUESTS_CA_BUNDLE globally. See docs/emulator.md.
"""

from emulator.app import EmulatorApp
from emulator.base import ManualClock
from emulator.errors import EmulatorError
from emulator.faults import Fault
from emulator.identity import Identity
from emulator.rbac import BUILTIN_ROLES
from emulator.services.app_service import Site, parse_reference
from emulator.services.arm_accounts import Account
from emulator.services.keyvault import KEYVAULT_API_VERSIONS, SecretVersion, Vault
from emulator.state import AzureState
from emulator.transport import (
    clear_challenge_cache,
    identity_env,
    identity_environment,
    managed_identity_credential,
    session,
    transport,
)
from emulator.world import World, seed_world

# Process mode needs cheroot and trustme: imported on first use, so in-memory users skip them.
_SERVER_NAMES = ("EmulatorProcess", "EmulatorServer", "run_process", "serve")


def __getattr__(name: str) -> object:
    if name in _SERVER_NAMES:
        from emulator import server

        return getattr(server, name)
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")


__all__ = [
    "BUILTIN_ROLES",
    "KEYVAULT_API_VERSIONS",
    "Account",
    "AzureState",
    "EmulatorApp",
    "EmulatorError",
    "EmulatorProcess",
    "EmulatorServer",
    "Fault",
    "Identity",
    "ManualClock",
    "SecretVersion",
    "Site",
    "Vault",
    "World",
    "clear_challenge_cache",
    "identity_env",
    "identity_environment",
    "managed_identity_credential",
    "parse_reference",
    "run_process",
    "seed_world",
    "serve",
    "session",
    "transport",
]
