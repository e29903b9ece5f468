"""App Service web apps: sites with a system identity and app settings whose Key Vault
references App Service resolves (at a config change or the refresh call, not at a restart);
ARM's ``config/configreferences/appsettings`` (list, get one, POST ``.../refresh``) and
``.../instances``; and ``{site}.azurewebsites.net``, served by the WSGI app mounted on the
instance the request lands on."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from emulator.base import arm_id
from emulator.errors import EmulatorError, azure_error, json_response
from emulator.identity import Identity, new_identity
from emulator.routing import Route, Service
from emulator.services.arm import ARM_HOST, ArmService, ArmState, arm_path
from emulator.services.keyvault import ACTION_GET_SECRET, KeyVaultState
from emulator.services.managed_identity import ManagedIdentityState

ACTION_READ_SITE_CONFIG = "Microsoft.Web/sites/config/read"
ACTION_WRITE_SITE_CONFIG = "Microsoft.Web/sites/config/write"
ACTION_READ_INSTANCES = "Microsoft.Web/sites/instances/read"
_SITES = "Microsoft.Web/sites"
MAX_INSTANCES = 30

_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<body>.*)\)$", re.IGNORECASE | re.DOTALL)


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


def _new_instance() -> str:
    return secrets.token_hex(32)


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
    instances: list[str] = field(default_factory=lambda: [_new_instance()])
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
        return arm_id(self.subscription, self.resource_group, _SITES, self.name)

    @property
    def host(self) -> str:
        return f"{self.name}.azurewebsites.net"

    @property
    def principal_id(self) -> str:
        """The system identity's principal id (what a role assignment to the site names)."""
        if self.identity is None:
            raise EmulatorError(f"site {self.name!r} has no system-assigned identity")
        return self.identity.principal_id


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


class AppServiceState(KeyVaultState, ManagedIdentityState, ArmState):
    """The sites: settings, resolved references, injected environment, instances, mounts."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sites: dict[str, Site] = self.arm_table()

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
            self.vacant(self.sites, "site", name)
            resource_id = self.resource_id(_SITES, name, resource_group)
            identity = new_identity(name, resource_id) if system_identity else None
            if key_vault_reference_identity is not None:
                self.identity(key_vault_reference_identity)
            site = Site(
                name=name,
                subscription=self.subscription,
                resource_group=resource_group or self.resource_group,
                identity=identity,
                identity_header=self.add_identity_host(identity),
                key_vault_reference_identity=key_vault_reference_identity,
                app_settings=dict(app_settings or {}),
            )
            self.sites[name] = site
            self._resolve_site(site)
            return site

    def site(self, name: str) -> Site:
        return self.lookup(self.sites, "site", name)

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
        if not 1 <= count <= MAX_INSTANCES:
            raise EmulatorError(f"instance count {count!r} must be 1-{MAX_INSTANCES}")
        with self.lock:
            target = self.site(site)
            while len(target.instances) < count:
                target.instances.append(_new_instance())
            del target.instances[count:]
            for gone in set(target.instance_apps) - set(target.instances):
                del target.instance_apps[gone]
            return list(target.instances)

    def mounted_app(self, name: str, affinity: str | None) -> Callable[..., Any] | None:
        """The WSGI app of the instance a request to the site lands on, or None."""
        with self.lock:
            site = self.sites.get(name)
            if site is None:
                return None
            instance = site.pick_instance(affinity)
            return site.instance_apps.get(instance, site.wsgi_app)

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


class ArmSites(ArmService):
    name = "arm_sites"

    def instances(self, request: Request, sub: str, rg: str, name: str) -> Response:
        """GET {siteId}/instances (azure-mgmt-web web_apps.list_instance_identifiers)."""
        site = self._resource(
            request, self.state.sites, _SITES, (sub, rg, name), ACTION_READ_INSTANCES
        )
        if isinstance(site, Response):
            return site
        with self.state.lock:
            instances = list(site.instances)
        items = [
            {
                "id": f"{site.id}/instances/{instance}",
                "name": instance,
                "type": f"{_SITES}/instances",
                "properties": {"state": "READY", "statusUrl": None},
            }
            for instance in instances
        ]
        return json_response(200, {"value": items, "nextLink": None})

    def references(self, request: Request, sub: str, rg: str, name: str, key: str) -> Response:
        """GET the references (or one, by setting name); POST ``.../refresh`` re-resolves."""
        refresh = request.method == "POST" and key.lower() == "refresh"
        if not refresh and request.method != "GET":
            return self._method_not_allowed(request)
        action = ACTION_WRITE_SITE_CONFIG if refresh else ACTION_READ_SITE_CONFIG
        site = self._resource(
            request, self.state.sites, _SITES, (sub, rg, name), action, request.method
        )
        if isinstance(site, Response):
            return site
        if refresh:
            self.state.refresh_references(site.name)
        with self.state.lock:
            references = dict(site.references)
        if key and not refresh:
            status = references.get(key)
            if status is None:
                return azure_error(
                    404,
                    "NotFound",
                    f"App setting '{key}' of site '{name}' holds no Key Vault reference.",
                )
            return json_response(200, self._reference_json(site, status))
        items = [self._reference_json(site, s) for s in references.values()]
        return json_response(200, {"value": items, "nextLink": None})

    def _reference_json(self, site: Site, status: ReferenceStatus) -> dict[str, Any]:
        if site.key_vault_reference_identity is not None:
            user = self.state.identities.get(site.key_vault_reference_identity)
            identity_type: dict[str, Any] = {
                "type": "UserAssigned",
                "userAssignedIdentities": (
                    {
                        user.resource_id: {
                            "principalId": user.principal_id,
                            "clientId": user.client_id,
                        }
                    }
                    if user
                    else {}
                ),
            }
        else:
            identity_type = {"type": "SystemAssigned" if site.identity else "None"}
        return {
            "id": f"{site.id}/config/configreferences/appsettings/{status.setting}",
            "name": status.setting,
            "type": f"{_SITES}/config/reference",
            "properties": {
                "reference": status.reference,
                "status": status.status,
                "vaultName": status.vault_name,
                "secretName": status.secret_name,
                "secretVersion": status.secret_version,
                "identityType": identity_type,
                "details": status.details,
                "source": "KeyVault",
                "activeVersion": status.active_version,
            },
        }


class Sites(Service):
    """``{site}.azurewebsites.net``: the mounted app of the instance the request lands on."""

    name = "sites"

    def serve(self, request: Request, site: str) -> Any:
        mounted = self.state.mounted_app(site, request.cookies.get("ARRAffinity"))
        if mounted is not None:
            return mounted
        if site not in self.state.sites:
            return azure_error(404, "SiteNotFound", f"The web app '{site}' does not exist.")
        return azure_error(503, "SiteNotStarted", f"The web app '{site}' has no running instance.")


_REFERENCES = "/config/configreferences/appsettings"
_SITE_HOST = "<label:site>.azurewebsites.net"
ROUTES = [
    Route(
        arm_path(_SITES, "/instances"),
        host=ARM_HOST,
        endpoint="arm_sites.instances",
        counted_as="sites/instances",
    ),
    Route(
        arm_path(_SITES, _REFERENCES),
        host=ARM_HOST,
        endpoint="arm_sites.references",
        counted_as="configreferences/appsettings",
        defaults={"key": ""},
    ),
    # The refresh POST counts under ".../{key}" too (key "refresh").
    Route(
        arm_path(_SITES, f"{_REFERENCES}/<key>"),
        host=ARM_HOST,
        endpoint="arm_sites.references",
        counted_as="configreferences/appsettings/{key}",
    ),
    Route("/", host=_SITE_HOST, endpoint="sites.serve", counted_as="site"),
    Route("/<path:_path>", host=_SITE_HOST, endpoint="sites.serve", counted_as="site"),
]
