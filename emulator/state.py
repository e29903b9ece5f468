"""The emulated world: accounts, vaults, sites, identities, grants, faults and counters.

Everything is guarded by one re-entrant lock, so the WSGI app may be driven from many threads.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_SUBSCRIPTION = "5f1c2a2e-7a43-4c4e-9a55-0c1e2d3f4a5b"
DEFAULT_TENANT = "72f988bf-0000-4000-8000-00000000e0e0"
DEFAULT_RESOURCE_GROUP = "rg-secure-ai"
# App Service's own endpoint for managed identity tokens (plain http on the sandbox's loopback).
APP_SERVICE_IDENTITY_ENDPOINT = "http://localhost:4141/MSI/token"
TOKEN_LIFETIME_SECONDS = 3600

KEYVAULT_AUDIENCES = ("https://vault.azure.net",)
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
COGNITIVE_AUDIENCES = ("https://cognitiveservices.azure.com", "https://ai.azure.com")

# Data-plane and control-plane permissions of the built-in roles the project uses (Azure's own
# action names, trimmed to what the emulated operations check).
_KV = "Microsoft.KeyVault/vaults/secrets"
_CS = "Microsoft.CognitiveServices"
BUILTIN_ROLES: dict[str, dict[str, Any]] = {
    "Key Vault Secrets User": {
        "id": "4633458b-17de-408a-b874-0445c86b69e6",
        "actions": [],
        "data_actions": [f"{_KV}/getSecret/action", f"{_KV}/readMetadata/action"],
    },
    "Key Vault Secrets Officer": {
        "id": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "actions": ["Microsoft.KeyVault/vaults/*/read"],
        "data_actions": [f"{_KV}/*"],
    },
    "Key Vault Administrator": {
        "id": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "actions": ["Microsoft.KeyVault/vaults/*/read"],
        "data_actions": ["Microsoft.KeyVault/vaults/*"],
    },
    "Key Vault Reader": {
        "id": "21090545-7ca7-4776-b22c-e363652d74d2",
        "actions": ["Microsoft.KeyVault/vaults/*/read"],
        "data_actions": [f"{_KV}/readMetadata/action"],
    },
    "Cognitive Services User": {
        "id": "a97b65f3-24c7-4388-baec-2e87135dc908",
        "actions": [f"{_CS}/*/read", f"{_CS}/accounts/listkeys/action"],
        "data_actions": [f"{_CS}/*"],
    },
    "Cognitive Services OpenAI User": {
        "id": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
        "actions": [f"{_CS}/*/read"],
        "data_actions": [f"{_CS}/accounts/OpenAI/*"],
    },
    "Cognitive Services Contributor": {
        "id": "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
        "actions": [f"{_CS}/*"],
        "data_actions": [],
    },
    "Owner": {"id": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "actions": ["*"], "data_actions": []},
    "Contributor": {
        "id": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "actions": ["*"],
        "data_actions": [],
    },
    "Reader": {
        "id": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "actions": ["*/read"],
        "data_actions": [],
    },
}
_ROLE_BY_ID = {spec["id"]: name for name, spec in BUILTIN_ROLES.items()}

# Operations the emulator authorizes, with the Azure action each one needs.
ACTION_GET_SECRET = f"{_KV}/getSecret/action"
ACTION_SET_SECRET = f"{_KV}/setSecret/action"
ACTION_UPDATE_SECRET = f"{_KV}/update/action"
ACTION_READ_SECRET_METADATA = f"{_KV}/readMetadata/action"
ACTION_DELETE_SECRET = f"{_KV}/delete"
ACTION_RECOVER_SECRET = f"{_KV}/recover/action"
ACTION_READ_ACCOUNT = f"{_CS}/accounts/read"
ACTION_LIST_KEYS = f"{_CS}/accounts/listKeys/action"
ACTION_REGENERATE_KEY = f"{_CS}/accounts/regenerateKey/action"
ACTION_CHAT = f"{_CS}/accounts/OpenAI/deployments/chat/completions/action"
ACTION_READ_SITE_CONFIG = "Microsoft.Web/sites/config/read"
ACTION_WRITE_SITE_CONFIG = "Microsoft.Web/sites/config/write"
ROTATOR_ACTIONS = (ACTION_READ_ACCOUNT, ACTION_LIST_KEYS, ACTION_REGENERATE_KEY)

_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<body>.*)\)$", re.IGNORECASE | re.DOTALL)


class EmulatorError(ValueError):
    """A call to the emulator's Python API named something that does not exist or is invalid."""


class ManualClock:
    """A clock tests move by hand, so delays (accept_delay, throttle windows) need no sleeping."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._now += seconds


@dataclass
class Identity:
    """A managed identity: system-assigned (a site's) or user-assigned (standalone)."""

    name: str
    principal_id: str
    client_id: str
    resource_id: str


@dataclass
class Account:
    """A Cognitive Services / Azure OpenAI account with its two keys."""

    name: str
    subscription: str
    resource_group: str
    subdomain: str
    kind: str
    location: str
    deployments: dict[str, str]
    disable_local_auth: bool
    accept_delay: float
    keys: dict[str, str] = field(default_factory=dict)
    # When (state clock) each slot's current key starts being accepted by the data plane.
    accepted_from: dict[str, float] = field(default_factory=dict)
    regenerations: int = 0

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{self.name}"
        )

    @property
    def endpoint(self) -> str:
        host = "openai.azure.com" if self.kind == "OpenAI" else "cognitiveservices.azure.com"
        return f"https://{self.subdomain}.{host}/"


@dataclass
class SecretVersion:
    """One version of a Key Vault secret."""

    version: str
    value: str
    content_type: str | None
    tags: dict[str, str]
    enabled: bool
    exp: int | None
    nbf: int | None
    created: int
    updated: int


FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_LIFETIME = 300.0  # GitHub's OIDC tokens last 5-10 minutes


@dataclass
class FederatedCredential:
    """An app registration's federated identity credential: whose tokens it trusts."""

    issuer: str
    subject: str
    audience: str = FEDERATION_AUDIENCE


@dataclass
class ExternalToken:
    """A token an outside identity provider (GitHub Actions' OIDC) issued, as Entra checks it."""

    issuer: str
    subject: str
    audience: str
    expires: float


@dataclass
class DeletedSecret:
    """A soft-deleted secret: every version, and when it was deleted (Unix seconds).

    Vaults here have purge protection, as the stack makes them: a deleted secret stays until
    recovered, and its name cannot be reused meanwhile (nothing purges it)."""

    versions: list[SecretVersion]
    deleted: int


@dataclass
class Vault:
    """A Key Vault (RBAC permission model)."""

    name: str
    subscription: str
    resource_group: str
    tenant_id: str
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    deleted: dict[str, DeletedSecret] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )

    @property
    def uri(self) -> str:
        return f"https://{self.name}.vault.azure.net/"

    def secret_id(self, name: str) -> str:
        """The RBAC scope of one secret (grant a role here to limit it to that secret)."""
        return f"{self.id}/secrets/{name}"

    def find(self, name: str) -> tuple[str, list[SecretVersion]] | None:
        """The secret's stored name and versions (names are case-insensitive), or None."""
        for stored, versions in self.secrets.items():
            if stored.lower() == name.lower():
                return stored, versions
        return None

    def find_deleted(self, name: str) -> tuple[str, DeletedSecret] | None:
        """The deleted secret's stored name and record (case-insensitive), or None."""
        for stored, record in self.deleted.items():
            if stored.lower() == name.lower():
                return stored, record
        return None


@dataclass
class ReferenceStatus:
    """How App Service resolved one `@Microsoft.KeyVault(...)` app setting at the last refresh."""

    setting: str
    reference: str
    status: str
    vault_name: str | None
    secret_name: str | None
    secret_version: str | None
    active_version: str | None
    details: str
    value: str | None


@dataclass
class Site:
    """An App Service web app with a system-assigned identity and its cached app settings."""

    name: str
    subscription: str
    resource_group: str
    identity: Identity | None
    identity_header: str
    key_vault_reference_identity: str | None
    app_settings: dict[str, str] = field(default_factory=dict)
    references: dict[str, ReferenceStatus] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    refreshed_at: float | None = None
    refresh_count: int = 0
    wsgi_app: Callable[..., Any] | None = None
    # The instances App Service runs the site on (IDs as ARM lists them under .../instances),
    # each optionally with its own WSGI app; without one, an instance serves `wsgi_app`.
    instances: list[str] = field(default_factory=lambda: [secrets.token_hex(32)])
    instance_apps: dict[str, Callable[..., Any]] = field(default_factory=dict)
    next_instance: int = 0

    def pick_instance(self, affinity: str | None) -> str:
        """The instance a request goes to: the one its ARRAffinity cookie names, else the next
        one in turn (App Service's front end; an unknown cookie is ignored)."""
        if affinity in self.instances:
            return affinity
        chosen = self.instances[self.next_instance % len(self.instances)]
        self.next_instance += 1
        return chosen

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Web/sites/{self.name}"
        )

    @property
    def host(self) -> str:
        return f"{self.name}.azurewebsites.net"


@dataclass
class Grant:
    """A role assignment: a principal may perform matching actions at and below ``scope``."""

    principal_id: str
    scope: str
    role: str
    actions: tuple[str, ...]
    data_actions: tuple[str, ...]


@dataclass
class TokenInfo:
    """What the emulator remembers about an access token it issued (the token itself is opaque)."""

    principal_id: str
    resource: str
    expires_on: int


@dataclass
class Fault:
    """A fault rule: requests matching host/method/path get a status, a delay or throttling.

    ``status`` answers matching requests with that error (only every ``every``-th matching
    request when ``every`` is set); ``throttle_limit`` answers 429 (with Retry-After) to requests
    beyond that many per ``throttle_window`` seconds; ``latency`` delays matching requests.
    ``hits`` counts the requests the rule acted on; after ``times`` of them (None: never) the rule
    is removed. The first status-giving rule wins.
    """

    id: int
    host: str | None
    method: str | None
    path: str | None
    status: int | None
    times: int | None
    retry_after: float | None
    latency: float
    throttle_limit: int | None
    throttle_window: float
    every: int | None = None
    hits: int = 0
    seen: int = 0
    window_start: float = 0.0
    window_count: int = 0

    def matches(self, host: str, method: str, path: str) -> bool:
        if self.host is not None and self.host.lower() != host.lower():
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "throttle_limit": self.throttle_limit,
            "throttle_window": self.throttle_window,
            "every": self.every,
            "hits": self.hits,
        }


@dataclass
class FaultDecision:
    """What the fault rules decided for one request (status None: let it through)."""

    status: int | None = None
    retry_after: float | None = None
    latency: float = 0.0


def _new_key() -> str:
    return secrets.token_hex(16)


def _scope_covers(scope: str, resource_id: str) -> bool:
    scope = scope.rstrip("/").lower()
    target = resource_id.rstrip("/").lower()
    return scope in ("", "/") or target == scope or target.startswith(scope + "/")


def _action_allowed(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def parse_reference(text: str) -> dict[str, str | None] | None:
    """Parse an App Service Key Vault reference; None when ``text`` is not one.

    Returns vault_name/secret_name/secret_version, or {"error": ...} for invalid syntax.
    """
    match = _REFERENCE.match(text.strip())
    if match is None:
        return None
    parts: dict[str, str] = {}
    for item in match.group("body").split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            return {"error": f"segment {item!r} is not Name=Value"}
        parts[name.strip().lower()] = value.strip()
    if "secreturi" in parts:
        uri = urlsplit(parts["secreturi"])
        segments = [s for s in uri.path.split("/") if s]
        host = (uri.hostname or "").lower()
        if (
            uri.scheme != "https"
            or not host.endswith(".vault.azure.net")
            or len(segments) not in (2, 3)
            or segments[0] != "secrets"
        ):
            return {"error": f"SecretUri {parts['secreturi']!r} is not a Key Vault secret URI"}
        return {
            "vault_name": host.split(".")[0],
            "secret_name": segments[1],
            "secret_version": segments[2] if len(segments) == 3 else None,
        }
    if "vaultname" in parts and "secretname" in parts:
        return {
            "vault_name": parts["vaultname"].lower(),
            "secret_name": parts["secretname"],
            "secret_version": parts.get("secretversion") or None,
        }
    return {"error": "needs SecretUri=... or VaultName=...;SecretName=..."}


class AzureState:
    """All emulated resources plus the grant table, fault rules and request counters.

    ``clock`` (default ``time.time``) drives key acceptance delays, secret timestamps and throttle
    windows; pass a :class:`ManualClock` to move time without sleeping. ``rbac=False`` lets any
    valid token perform any operation (role checks off); the default checks grants like Azure RBAC.
    """

    def __init__(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT,
        subscription: str = DEFAULT_SUBSCRIPTION,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        clock: Callable[[], float] = time.time,
        rbac: bool = True,
    ) -> None:
        self.lock = threading.RLock()
        self.tenant_id = tenant_id
        self.subscription = subscription
        self.resource_group = resource_group
        self.clock = clock
        self.rbac = rbac
        self.identity_endpoint = APP_SERVICE_IDENTITY_ENDPOINT
        self.accounts: dict[str, Account] = {}
        self.vaults: dict[str, Vault] = {}
        self.sites: dict[str, Site] = {}
        self.identities: dict[str, Identity] = {}
        # client_id -> client secret of service principals (Entra client-credential sign-in).
        self.client_secrets: dict[str, str] = {}
        self.federated: dict[str, FederatedCredential] = {}
        self.external_tokens: dict[str, ExternalToken] = {}
        self.github_jobs: dict[str, str] = {}
        self.grants: list[Grant] = []
        self.tokens: dict[str, TokenInfo] = {}
        self.faults: list[Fault] = []
        self.counters: Counter[tuple[str, str, str]] = Counter()
        self._fault_ids = 0
        # X-IDENTITY-HEADER of a host without a site (a VM or a CI runner): user-assigned only.
        self.host_identity_header = secrets.token_urlsafe(24)

    # ---- seeding -------------------------------------------------------------------------

    def add_identity(self, name: str) -> Identity:
        """Create a user-assigned managed identity (select it with ``client_id=``)."""
        with self.lock:
            if name in self.identities:
                raise EmulatorError(f"identity {name!r} already exists")
            identity = Identity(
                name=name,
                principal_id=str(uuid.uuid4()),
                client_id=str(uuid.uuid4()),
                resource_id=(
                    f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                    f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
                ),
            )
            self.identities[name] = identity
            return identity

    def add_service_principal(self, name: str) -> tuple[Identity, str]:
        """Create an app registration that signs in with a client secret (made at run time).

        Returns the identity and its secret, for ``ClientSecretCredential(state.tenant_id,
        identity.client_id, secret)``.
        """
        identity = self.add_identity(name)
        secret = secrets.token_urlsafe(30)
        with self.lock:
            self.client_secrets[identity.client_id] = secret
        return identity, secret

    def add_federated_principal(self, name: str, credential: FederatedCredential) -> Identity:
        """Create an app registration that signs in with another provider's token (workload
        identity federation, as for GitHub Actions' OIDC), for ``ClientAssertionCredential``."""
        identity = self.add_identity(name)
        with self.lock:
            self.federated[identity.client_id] = credential
        return identity

    def issue_external_token(
        self, issuer: str, subject: str, audience: str = FEDERATION_AUDIENCE, lifetime: float = 300
    ) -> str:
        """A token from an outside identity provider, valid ``lifetime`` seconds on the state
        clock (GitHub's OIDC tokens last 5-10 minutes). Opaque, like every emulator token."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.external_tokens[token] = ExternalToken(
                issuer, subject, audience, self.clock() + lifetime
            )
        return token

    def add_github_job(self, subject: str) -> str:
        """A GitHub Actions job with ``id-token: write``: its ACTIONS_ID_TOKEN_REQUEST_TOKEN,
        which gets OIDC tokens for ``subject`` (e.g. ``repo:<owner>/<repo>:environment:dev``)."""
        runtime_token = secrets.token_urlsafe(32)
        with self.lock:
            self.github_jobs[runtime_token] = subject
        return runtime_token

    def github_oidc_token(self, runtime_token: str, audience: str) -> str | None:
        """A new OIDC token of the job the runtime token belongs to, or None."""
        with self.lock:
            subject = self.github_jobs.get(runtime_token)
        if subject is None:
            return None
        return self.issue_external_token(
            GITHUB_OIDC_ISSUER, subject, audience, lifetime=GITHUB_OIDC_LIFETIME
        )

    def federated_principal(self, client_id: str, assertion: str) -> tuple[Identity | None, str]:
        """The app a federated assertion signs in as, or None and Entra's reason."""
        with self.lock:
            credential = self.federated.get(client_id)
            token = self.external_tokens.get(assertion)
            if credential is None:
                return (
                    None,
                    f"AADSTS700016: Application with identifier '{client_id}' was not found.",
                )
            if token is None:
                return None, "AADSTS50027: JWT token is invalid or malformed."
            if token.expires <= self.clock():
                return None, "AADSTS700024: Client assertion is not within its valid time range."
            for field_name in ("issuer", "subject", "audience"):
                if getattr(token, field_name) != getattr(credential, field_name):
                    return None, (
                        "AADSTS70021: No matching federated identity record found for presented "
                        f"assertion {field_name} '{getattr(token, field_name)}'."
                    )
            return next(i for i in self.identities.values() if i.client_id == client_id), ""

    def client_credentials_principal(self, client_id: str, secret: str) -> Identity | None:
        """The service principal a client id and secret sign in as, or None."""
        with self.lock:
            expected = self.client_secrets.get(client_id)
            if expected is None or not secrets.compare_digest(expected, secret):
                return None
            return next(i for i in self.identities.values() if i.client_id == client_id)

    def add_account(
        self,
        name: str,
        *,
        subdomain: str | None = None,
        kind: str = "OpenAI",
        location: str = "swedencentral",
        deployments: Iterable[str] = ("gpt-4o-mini",),
        disable_local_auth: bool = False,
        accept_delay: float = 0.0,
        resource_group: str | None = None,
    ) -> Account:
        """Create an AI account with two fresh synthetic keys, usable at once."""
        with self.lock:
            if name in self.accounts:
                raise EmulatorError(f"account {name!r} already exists")
            if accept_delay < 0:
                raise EmulatorError(f"accept_delay {accept_delay!r} must be >= 0 seconds")
            account = Account(
                name=name,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                subdomain=(subdomain or name).lower(),
                kind=kind,
                location=location,
                deployments={d: d for d in deployments},
                disable_local_auth=disable_local_auth,
                accept_delay=accept_delay,
            )
            now = self.clock()
            for slot in ("key1", "key2"):
                account.keys[slot] = _new_key()
                account.accepted_from[slot] = now
            self.accounts[name] = account
            return account

    def add_vault(self, name: str, *, resource_group: str | None = None) -> Vault:
        """Create an empty Key Vault in RBAC mode."""
        with self.lock:
            key = name.lower()
            if key in self.vaults:
                raise EmulatorError(f"vault {name!r} already exists")
            vault = Vault(
                name=key,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                tenant_id=self.tenant_id,
            )
            self.vaults[key] = vault
            return vault

    def add_site(
        self,
        name: str,
        *,
        app_settings: dict[str, str] | None = None,
        system_identity: bool = True,
        key_vault_reference_identity: str | None = None,
        resource_group: str | None = None,
    ) -> Site:
        """Create a web app; its settings are resolved now, as on a first start."""
        with self.lock:
            if name in self.sites:
                raise EmulatorError(f"site {name!r} already exists")
            identity = None
            if system_identity:
                identity = Identity(
                    name=name,
                    principal_id=str(uuid.uuid4()),
                    client_id=str(uuid.uuid4()),
                    resource_id=(
                        f"/subscriptions/{self.subscription}/resourceGroups/"
                        f"{resource_group or self.resource_group}"
                        f"/providers/Microsoft.Web/sites/{name}"
                    ),
                )
            if key_vault_reference_identity is not None:
                self.identity(key_vault_reference_identity)
            site = Site(
                name=name,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                identity=identity,
                identity_header=secrets.token_urlsafe(24),
                key_vault_reference_identity=key_vault_reference_identity,
                app_settings=dict(app_settings or {}),
            )
            self.sites[name] = site
            self._resolve_site(site)
            return site

    def grant(
        self,
        principal: Identity | Site | str,
        scope: str,
        role: str | None = None,
        *,
        actions: Iterable[str] = (),
        data_actions: Iterable[str] = (),
    ) -> Grant:
        """Assign ``role`` (built-in name or role-definition GUID) or custom actions at ``scope``.

        ``principal`` is an Identity, a Site (its system identity) or a principal id; ``scope`` a
        resource id (a vault's, a secret's via ``vault.secret_id(name)``, an account's, ...).
        """
        principal_id = self._principal_id(principal)
        role_actions: list[str] = list(actions)
        role_data_actions: list[str] = list(data_actions)
        role_name = "custom"
        if role is not None:
            role_name = _ROLE_BY_ID.get(role.lower(), role)
            if role_name not in BUILTIN_ROLES:
                known = ", ".join(BUILTIN_ROLES)
                raise EmulatorError(f"role {role!r} is not a known built-in role ({known})")
            role_actions += BUILTIN_ROLES[role_name]["actions"]
            role_data_actions += BUILTIN_ROLES[role_name]["data_actions"]
        if not role_actions and not role_data_actions:
            raise EmulatorError("grant needs a role or at least one action")
        if not scope.startswith("/"):
            raise EmulatorError(f"scope {scope!r} must be a resource id starting with '/'")
        grant = Grant(principal_id, scope, role_name, tuple(role_actions), tuple(role_data_actions))
        with self.lock:
            self.grants.append(grant)
        return grant

    def revoke(self, grant: Grant) -> None:
        """Remove a role assignment made by :meth:`grant`."""
        with self.lock:
            self.grants.remove(grant)

    # ---- lookups -------------------------------------------------------------------------

    def account(self, name: str) -> Account:
        with self.lock:
            if name not in self.accounts:
                raise EmulatorError(f"account {name!r} does not exist")
            return self.accounts[name]

    def vault(self, name: str) -> Vault:
        with self.lock:
            if name.lower() not in self.vaults:
                raise EmulatorError(f"vault {name!r} does not exist")
            return self.vaults[name.lower()]

    def site(self, name: str) -> Site:
        with self.lock:
            if name not in self.sites:
                raise EmulatorError(f"site {name!r} does not exist")
            return self.sites[name]

    def identity(self, name: str) -> Identity:
        with self.lock:
            if name not in self.identities:
                raise EmulatorError(f"identity {name!r} does not exist")
            return self.identities[name]

    def account_by_subdomain(self, subdomain: str) -> Account | None:
        with self.lock:
            for account in self.accounts.values():
                if account.subdomain == subdomain.lower():
                    return account
            return None

    def _principal_id(self, principal: Identity | Site | str) -> str:
        if isinstance(principal, Site):
            if principal.identity is None:
                raise EmulatorError(f"site {principal.name!r} has no system-assigned identity")
            return principal.identity.principal_id
        if isinstance(principal, Identity):
            return principal.principal_id
        return principal

    # ---- keys ----------------------------------------------------------------------------

    def keys(self, account: str) -> dict[str, str]:
        """The account's two current keys, as listKeys returns them."""
        with self.lock:
            return dict(self.account(account).keys)

    def regenerate_key(self, account: str, slot: str) -> str:
        """Replace ``slot`` ("key1"/"key2") with a fresh key; the old one stops working at once."""
        with self.lock:
            acct = self.account(account)
            if slot not in acct.keys:
                raise EmulatorError(f"key slot {slot!r} must be 'key1' or 'key2'")
            acct.keys[slot] = _new_key()
            acct.accepted_from[slot] = self.clock() + acct.accept_delay
            acct.regenerations += 1
            return acct.keys[slot]

    def key_accepted(self, account: Account, key: str) -> bool:
        """Whether the data plane accepts ``key`` now (current and past its accept delay)."""
        with self.lock:
            now = self.clock()
            return any(
                secrets.compare_digest(value, key) and now >= account.accepted_from[slot]
                for slot, value in account.keys.items()
            )

    # ---- secrets -------------------------------------------------------------------------

    def set_secret(
        self,
        vault: str,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
        enabled: bool = True,
        exp: int | None = None,
        nbf: int | None = None,
    ) -> SecretVersion:
        """Add a new version of a secret (as Key Vault's set secret does)."""
        with self.lock:
            target = self.vault(vault)
            now = int(self.clock())
            version = SecretVersion(
                version=uuid.uuid4().hex,
                value=value,
                content_type=content_type,
                tags=dict(tags or {}),
                enabled=enabled,
                exp=exp,
                nbf=nbf,
                created=now,
                updated=now,
            )
            found = target.find(name)
            if found is None:
                target.secrets[name] = [version]
            else:
                found[1].append(version)
            return version

    def delete_secret(self, vault: str, name: str) -> tuple[str, DeletedSecret] | None:
        """Soft-delete a secret, every version (as Key Vault's delete secret does), or None."""
        with self.lock:
            target = self.vault(vault)
            found = target.find(name)
            if found is None:
                return None
            stored, versions = found
            del target.secrets[stored]
            record = DeletedSecret(versions, int(self.clock()))
            target.deleted[stored] = record
            return stored, record

    def recover_secret(self, vault: str, name: str) -> tuple[str, list[SecretVersion]] | None:
        """Bring a deleted secret back with all its versions, or None when none is deleted."""
        with self.lock:
            target = self.vault(vault)
            found = target.find_deleted(name)
            if found is None:
                return None
            stored, record = found
            del target.deleted[stored]
            target.secrets[stored] = record.versions
            return stored, record.versions

    def secret_versions(self, vault: str, name: str) -> list[SecretVersion]:
        """All versions of a secret, oldest first ([] when it does not exist)."""
        with self.lock:
            found = self.vault(vault).find(name)
            return list(found[1]) if found else []

    def latest_secret(self, vault: str, name: str) -> SecretVersion | None:
        """The newest version of a secret, or None."""
        versions = self.secret_versions(vault, name)
        return versions[-1] if versions else None

    # ---- identity and authorization ------------------------------------------------------

    def issue_token(self, principal_id: str, resource: str) -> tuple[str, int]:
        """Mint an opaque token for a principal and resource; returns (token, expires_on)."""
        token = secrets.token_urlsafe(32)
        expires_on = int(time.time()) + TOKEN_LIFETIME_SECONDS
        with self.lock:
            self.tokens[token] = TokenInfo(principal_id, resource.rstrip("/"), expires_on)
        return token, expires_on

    def token_info(self, token: str) -> TokenInfo | None:
        """The principal and audience behind a token, or None if unknown or expired."""
        with self.lock:
            info = self.tokens.get(token)
        # Token lifetimes follow real time: clients compute expiry from the wall clock too.
        if info is None or info.expires_on <= time.time():
            return None
        return info

    def is_authorized(
        self, principal_id: str, action: str, resource_id: str, *, data: bool
    ) -> bool:
        """Whether a grant lets ``principal_id`` perform ``action`` on ``resource_id``."""
        if not self.rbac:
            return True
        with self.lock:
            grants = list(self.grants)
        for grant in grants:
            if grant.principal_id != principal_id or not _scope_covers(grant.scope, resource_id):
                continue
            if _action_allowed(grant.data_actions if data else grant.actions, action):
                return True
        return False

    def header_known(self, identity_header: str) -> bool:
        """Whether an X-IDENTITY-HEADER value is a site's or the host's."""
        if not identity_header:
            return False
        with self.lock:
            headers = [s.identity_header for s in self.sites.values()]
        headers.append(self.host_identity_header)
        return any(secrets.compare_digest(h, identity_header) for h in headers)

    def principal_for(self, identity_header: str, selector: dict[str, str]) -> Identity | None:
        """Which identity a token request with this X-IDENTITY-HEADER and selector asks for.

        A site's header selects its system identity; any valid header (a site's or
        ``host_identity_header``) may select a user-assigned identity by client_id, principal id
        (object_id) or resource id (mi_res_id).
        """
        with self.lock:
            site = next(
                (
                    s
                    for s in self.sites.values()
                    if secrets.compare_digest(s.identity_header, identity_header)
                ),
                None,
            )
            if site is None and not secrets.compare_digest(
                self.host_identity_header, identity_header
            ):
                return None
            if not selector:
                return site.identity if site is not None else None
            for identity in self.identities.values():
                if (
                    selector.get("client_id") == identity.client_id
                    or selector.get("object_id") == identity.principal_id
                    or (selector.get("mi_res_id") or "").lower() == identity.resource_id.lower()
                ):
                    return identity
            return None

    # ---- App Service ---------------------------------------------------------------------

    def set_app_settings(self, site: str, settings: dict[str, str]) -> None:
        """Replace a site's app settings; like Azure, a config change re-resolves references."""
        with self.lock:
            target = self.site(site)
            target.app_settings = dict(settings)
            self._resolve_site(target)

    def refresh_references(self, site: str) -> dict[str, ReferenceStatus]:
        """Re-resolve a site's Key Vault references (the configreferences refresh call)."""
        with self.lock:
            target = self.site(site)
            self._resolve_site(target)
            return dict(target.references)

    def restart_site(self, site: str) -> None:
        """A plain restart: App Service keeps its cached reference values (no re-resolution)."""
        self.site(site)

    def site_environment(self, site: str) -> dict[str, str]:
        """The environment App Service injects into the site's process right now.

        Settings with a Key Vault reference carry the value cached at the last resolution, or the
        literal reference text when it did not resolve. IDENTITY_ENDPOINT/IDENTITY_HEADER and
        WEBSITE_SITE_NAME are included, as on App Service.
        """
        with self.lock:
            target = self.site(site)
            env = dict(target.environment)
            env["WEBSITE_SITE_NAME"] = target.name
            if target.identity is not None or target.key_vault_reference_identity is not None:
                env["IDENTITY_ENDPOINT"] = self.identity_endpoint
                env["IDENTITY_HEADER"] = target.identity_header
            return env

    def mount(
        self, site: str, wsgi_app: Callable[..., Any] | None, *, instance: str | None = None
    ) -> None:
        """Serve ``https://{site}.azurewebsites.net`` with ``wsgi_app`` (None unmounts), on
        every instance, or on one instance when ``instance`` is given."""
        with self.lock:
            target = self.site(site)
            if instance is None:
                target.wsgi_app = wsgi_app
                if wsgi_app is None:
                    target.instance_apps.clear()
            elif instance not in target.instances:
                raise EmulatorError(f"site {site!r} has no instance {instance!r}")
            elif wsgi_app is None:
                target.instance_apps.pop(instance, None)
            else:
                target.instance_apps[instance] = wsgi_app

    def scale_out(self, site: str, count: int) -> list[str]:
        """Run the site on ``count`` instances (new IDs for added ones); returns the IDs."""
        if not 1 <= count <= 30:
            raise EmulatorError(f"instance count {count!r} must be 1-30")
        with self.lock:
            target = self.site(site)
            while len(target.instances) < count:
                target.instances.append(secrets.token_hex(32))
            del target.instances[count:]
            for gone in set(target.instance_apps) - set(target.instances):
                del target.instance_apps[gone]
            return list(target.instances)

    def _reference_identity(self, site: Site) -> Identity | None:
        if site.key_vault_reference_identity is not None:
            return self.identities.get(site.key_vault_reference_identity)
        return site.identity

    def _resolve_site(self, site: Site) -> None:
        references: dict[str, ReferenceStatus] = {}
        environment: dict[str, str] = {}
        for setting, text in site.app_settings.items():
            parsed = parse_reference(text)
            if parsed is None:
                environment[setting] = text
                continue
            status = self._resolve_reference(site, setting, text, parsed)
            references[setting] = status
            environment[setting] = status.value if status.value is not None else text
        site.references = references
        site.environment = environment
        site.refreshed_at = self.clock()
        site.refresh_count += 1

    def _resolve_reference(
        self, site: Site, setting: str, text: str, parsed: dict[str, str | None]
    ) -> ReferenceStatus:
        def result(status: str, details: str, active: str | None = None, value: str | None = None):
            return ReferenceStatus(
                setting=setting,
                reference=text,
                status=status,
                vault_name=parsed.get("vault_name"),
                secret_name=parsed.get("secret_name"),
                secret_version=parsed.get("secret_version"),
                active_version=active,
                details=details,
                value=value,
            )

        if "error" in parsed:
            return result("InvalidSyntax", f"Invalid Key Vault reference syntax: {parsed['error']}")
        identity = self._reference_identity(site)
        if identity is None:
            return result("MSINotEnabled", "The site has no managed identity to read Key Vault.")
        vault = self.vaults.get(str(parsed["vault_name"]))
        if vault is None:
            return result("VaultNotFound", f"Key Vault '{parsed['vault_name']}' was not found.")
        secret_name = str(parsed["secret_name"])
        if not self.is_authorized(
            identity.principal_id, ACTION_GET_SECRET, vault.secret_id(secret_name), data=True
        ):
            return result(
                "AccessToKeyVaultDenied",
                "Key Vault reference was not able to be resolved because site was denied access "
                "to Key Vault reference's vault.",
            )
        found = vault.find(secret_name)
        versions = found[1] if found else []
        if not versions:
            return result("SecretNotFound", f"Secret '{secret_name}' was not found.")
        wanted = parsed.get("secret_version")
        if wanted:
            chosen = next((v for v in versions if v.version == wanted), None)
            if chosen is None:
                return result("SecretVersionNotFound", f"Version '{wanted}' was not found.")
        else:
            chosen = versions[-1]
        if not chosen.enabled:
            return result("OtherReasons", f"Secret version '{chosen.version}' is disabled.")
        return result("Resolved", "", active=chosen.version, value=chosen.value)

    # ---- faults and counters -------------------------------------------------------------

    def add_fault(
        self,
        *,
        host: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        latency: float = 0.0,
        throttle_limit: int | None = None,
        throttle_window: float = 10.0,
        every: int | None = None,
    ) -> Fault:
        """Add a fault rule (see :class:`Fault`); rules are checked in the order added."""
        if every is not None and (every < 1 or status is None):
            raise EmulatorError(f"fault every {every!r} must be >= 1 and go with a status")
        if status is not None and not 400 <= status <= 599:
            raise EmulatorError(f"fault status {status!r} must be an HTTP error status 400-599")
        if times is not None and times < 1:
            raise EmulatorError(f"fault times {times!r} must be >= 1 (or None for always)")
        if latency < 0 or (retry_after is not None and retry_after < 0):
            raise EmulatorError("fault latency and retry_after must be >= 0 seconds")
        if throttle_limit is not None and (throttle_limit < 0 or throttle_window <= 0):
            raise EmulatorError("fault throttle_limit must be >= 0 and throttle_window > 0")
        if status is not None and throttle_limit is not None:
            raise EmulatorError("fault takes a status or a throttle_limit (429), not both")
        if status is None and throttle_limit is None and latency == 0:
            raise EmulatorError("fault needs a status, a latency or a throttle_limit")
        if path is not None:
            try:
                re.compile(path)
            except re.error as exc:
                raise EmulatorError(f"fault path {path!r} is not a valid regex: {exc}") from None
        with self.lock:
            self._fault_ids += 1
            fault = Fault(
                id=self._fault_ids,
                host=host,
                method=method,
                path=path,
                status=status,
                times=times,
                retry_after=retry_after,
                latency=latency,
                throttle_limit=throttle_limit,
                throttle_window=throttle_window,
                every=every,
            )
            self.faults.append(fault)
            return fault

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        with self.lock:
            self.faults.clear()

    def decide_faults(self, host: str, method: str, path: str) -> FaultDecision:
        """Apply the fault rules to one request (consumes ``times`` and throttle budget)."""
        decision = FaultDecision()
        with self.lock:
            now = self.clock()
            for fault in list(self.faults):
                if not fault.matches(host, method, path):
                    continue
                acted = False
                if fault.latency:
                    decision.latency += fault.latency
                    acted = True
                if decision.status is None and fault.throttle_limit is not None:
                    if now - fault.window_start >= fault.throttle_window:
                        fault.window_start, fault.window_count = now, 0
                    fault.window_count += 1
                    if fault.window_count > fault.throttle_limit:
                        decision.status = 429
                        remaining = fault.window_start + fault.throttle_window - now
                        decision.retry_after = max(1.0, remaining)
                        acted = True
                elif decision.status is None and fault.status is not None:
                    fault.seen += 1
                    if fault.every is None or fault.seen % fault.every == 0:
                        decision.status = fault.status
                        decision.retry_after = fault.retry_after
                        acted = True
                if acted:
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.remove(fault)
        return decision

    def count(self, host: str, method: str, route: str) -> None:
        """Record one request (the WSGI app calls this for every request it sees)."""
        with self.lock:
            self.counters[(host.lower(), method.upper(), route)] += 1

    def requests(
        self, host: str | None = None, *, method: str | None = None, route: str | None = None
    ) -> int:
        """How many requests matched host/method/route (route: the template, e.g.
        ``"/secrets/{name}/{version}"``); None matches anything."""
        with self.lock:
            return sum(
                n
                for (h, m, r), n in self.counters.items()
                if (host is None or h == host.lower())
                and (method is None or m == method.upper())
                and (route is None or r == route)
            )

    def reset_counters(self) -> None:
        """Forget all request counts."""
        with self.lock:
            self.counters.clear()
