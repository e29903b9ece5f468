"""Stack configuration: one loader, every rule checked before any resource is declared.

Pure: takes the raw config map (``"secure-azure-ai:apps" -> '[{"name": "web"}]'``, as Pulumi hands
it to a program) and returns a validated ``StackConfig`` or raises ``ConfigError`` listing every
problem, one line each, naming the key, the value and the rule.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from components import private_link
from components.catalog import ids, key_shapes, secret
from components.catalog import names as name_rules
from components.naming import slug, stable_suffix

PROJECT = "secure-azure-ai"
LOCATION_KEY = "azure-native:location"

AUTH_MODES = ("keyVault", "keyless")
AI_KINDS = ("OpenAI", "AIServices")
AI_SKUS = ("S0",)
APP_SERVICE_SKUS = ("B1", "B2", "B3", "S1", "S2", "S3", "P0v3", "P1v3", "P2v3", "P3v3")
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled")
NETWORK_MODES = ("public", "private")
PRINCIPAL_TYPES = ("User", "ServicePrincipal", "Group")
DEPLOYMENT_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "ProvisionedManaged")

# Public Azure regions (`az account list-locations --query "[].name"`), physical ones only.
LOCATIONS = frozenset(
    {
        "australiacentral",
        "australiacentral2",
        "australiaeast",
        "australiasoutheast",
        "austriaeast",
        "belgiumcentral",
        "brazilsouth",
        "brazilsoutheast",
        "canadacentral",
        "canadaeast",
        "centralindia",
        "centralus",
        "chilecentral",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "francesouth",
        "germanynorth",
        "germanywestcentral",
        "indonesiacentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "jioindiacentral",
        "jioindiawest",
        "koreacentral",
        "koreasouth",
        "malaysiawest",
        "mexicocentral",
        "newzealandnorth",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "norwaywest",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southafricawest",
        "southcentralus",
        "southindia",
        "southeastasia",
        "spaincentral",
        "swedencentral",
        "swedensouth",
        "switzerlandnorth",
        "switzerlandwest",
        "uaecentral",
        "uaenorth",
        "uksouth",
        "ukwest",
        "westcentralus",
        "westeurope",
        "westindia",
        "westus",
        "westus2",
        "westus3",
    }
)

# This stack's own names (Azure's rules for the names it derives are catalog.names').
PREFIX = name_rules.NameRule(
    re.compile(r"[a-z][a-z0-9]{1,7}"), "2-8 lower-case letters or digits, starting with a letter"
)
APP_NAME = name_rules.NameRule(
    re.compile(r"[a-z][a-z0-9-]{0,18}[a-z0-9]|[a-z]"),
    "1-20 lower-case letters, digits or hyphens, from a letter",
)
MODEL_NAME = name_rules.NameRule(re.compile(r"[\w.-]{1,64}"), "a model name")
MODEL_VERSION = name_rules.NameRule(re.compile(r"[\w.-]{1,32}"), "a model version")


class ConfigError(Exception):
    """Every problem found in the stack configuration, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class AppConfig:
    """One web app that reads the AI key through its own managed identity."""

    name: str
    """Short name (1-20 lower-case letters, digits, hyphens); part of the derived site name."""


@dataclass(frozen=True)
class DeploymentConfig:
    """A model deployment on the AI account."""

    name: str
    """Deployment name the apps call (AZURE_AI_DEPLOYMENT)."""
    model: str
    """Model name, e.g. gpt-4o-mini."""
    version: str
    """Model version, e.g. 2024-07-18."""
    capacity: int
    """Capacity in thousands of tokens per minute (1-1000)."""
    sku: str = "Standard"
    """Deployment SKU (Standard, GlobalStandard, DataZoneStandard, ProvisionedManaged)."""


@dataclass(frozen=True)
class NetworkConfig:
    """Private mode: where the private endpoints and the VNet-integrated apps live."""

    address_space: str | None
    """Address space of the VNet the stack creates; None when it joins an existing one."""
    virtual_network_id: str | None
    """ARM ID of an existing VNet to create the subnets in; None to create a VNet."""
    private_endpoint_prefix: str
    """Subnet of the private endpoints (account, vault, and apps with privateInbound)."""
    app_service_prefix: str
    """Subnet delegated to Microsoft.Web/serverFarms: the apps' outbound (regional integration)."""
    functions_prefix: str
    """Subnet delegated to Microsoft.App/environments: a Flex Consumption app's outbound."""
    dns_zone_ids: dict[str, str]
    """Existing private DNS zones by zone name (hub-and-spoke); the rest are created and linked."""
    private_inbound: bool
    """A private endpoint (privatelink.azurewebsites.net) for each app as well."""


@dataclass(frozen=True)
class Names:
    """Every globally unique or derived name, computed once from prefix, stack and a stable hash."""

    resource_group: str
    vault: str
    ai_subdomain: str
    ai_account: str
    plan: str
    workspace: str
    web_apps: dict[str, str]
    virtual_network: str = ""
    """The VNet a private stack creates (unused in public mode or with an existing VNet)."""
    automation_app: str = ""
    """The hosted rotation's Function App (globally unique, like the web apps)."""
    automation_storage: str = ""
    """The hosted rotation's storage account (3-24 lower-case letters and digits, global)."""


@dataclass(frozen=True)
class StackConfig:
    """The validated configuration of one stack."""

    stack: str
    location: str
    prefix: str
    auth_mode: str
    ai_kind: str
    ai_sku: str
    app_service_sku: str
    python_version: str
    rotation_period_days: int
    public_network_access: str
    allowed_ip_ranges: tuple[str, ...]
    audit_logs: bool
    log_analytics_workspace_id: str | None
    resource_group_name: str | None
    secret_name: str
    deployer_principal_type: str | None
    rotator_principal_id: str | None
    rotator_principal_type: str
    hosted_rotation: bool
    """Key mode only: the stack deploys the rotation automation (Event Grid + Functions)."""
    deployments: tuple[DeploymentConfig, ...]
    apps: tuple[AppConfig, ...]
    names: Names
    network: NetworkConfig | None = None
    """Private mode's network; None in public mode (networkMode: public, the default)."""

    @property
    def key_mode(self) -> bool:
        """True when the key lives in Key Vault (the default); False for keyless (Entra) mode."""
        return self.auth_mode == "keyVault"


# --- reading raw values ---------------------------------------------------------------------------


class _Invalid(Exception):
    """One problem with one value (the caller prefixes the key)."""


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _structured(raw: Any) -> Any:
    """Structured config arrives as JSON text from the engine; plain strings stay strings."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _string(raw: Any, rule: name_rules.NameRule | None = None) -> str:
    if not isinstance(raw, str):
        raise _Invalid(f"{_show(raw)} is not a string")
    if rule is not None and not rule.matches(raw):
        # A key typed where a name belongs is never echoed.
        shown = key_shapes.shown(raw) if key_shapes.looks_like_key(raw) else _show(raw)
        raise _Invalid(f"{shown} breaks the rule: {rule.rule}")
    return raw


def _choice(raw: Any, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        close = difflib.get_close_matches(str(raw), choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _Invalid(f"{_show(raw)} is not one of {', '.join(choices)}{hint}")
    return raw


def _integer(raw: Any, low: int, high: int, unit: str) -> int:
    value = _structured(raw)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"{_show(raw)} is not a whole number of {unit}")
    if not low <= value <= high:
        raise _Invalid(f"{value} is out of range; the rule is {low} to {high} {unit}")
    return value


def _boolean(raw: Any) -> bool:
    value = _structured(raw)
    if not isinstance(value, bool):
        raise _Invalid(f"{_show(raw)} is not true or false")
    return value


def _list(raw: Any) -> list[Any]:
    value = _structured(raw)
    if not isinstance(value, list):
        raise _Invalid(f"{_show(raw)} is not a list")
    return value


def _location(raw: Any) -> str:
    value = _string(raw)
    if value not in LOCATIONS:
        close = difflib.get_close_matches(value.lower().replace(" ", ""), sorted(LOCATIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _Invalid(f"{_show(raw)} is not an Azure region name like 'swedencentral'{hint}")
    return value


# Azure firewalls take public addresses only: these never reach them from the internet.
_NOT_ROUTABLE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
    )
)


def _not_routable(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return any(network.subnet_of(block) for block in _NOT_ROUTABLE)  # type: ignore[arg-type]


def _ip_ranges(raw: Any) -> tuple[str, ...]:
    ranges = []
    for item in _list(raw):
        try:
            network = ipaddress.ip_network(str(item), strict=True)
        except ValueError:
            raise _Invalid(f"{_show(item)} is not an IPv4 address or CIDR range") from None
        if network.version != 4 or _not_routable(network):
            raise _Invalid(f"{_show(item)} is not a public IPv4 address or CIDR range")
        ranges.append(str(network))
    return tuple(ranges)


def _records(raw: Any, fields: dict[str, bool], what: str) -> list[dict[str, Any]]:
    """A list of objects with known fields (name -> required)."""
    records = []
    for index, item in enumerate(_list(raw)):
        if not isinstance(item, dict):
            raise _Invalid(f"item {index} {_show(item)} is not an object with {what} fields")
        unknown = sorted(set(item) - set(fields))
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _Invalid(
                f"item {index} has unknown field {unknown[0]!r}{hint}; "
                f"the fields are {', '.join(fields)}"
            )
        missing = [f for f, required in fields.items() if required and f not in item]
        if missing:
            raise _Invalid(f"item {index} lacks required field {missing[0]!r}")
        records.append(item)
    return records


def _apps(raw: Any) -> tuple[AppConfig, ...]:
    apps = []
    seen: set[str] = set()
    for index, item in enumerate(_records(raw, {"name": True}, "app")):
        try:
            name = _string(item["name"], APP_NAME)
        except _Invalid as problem:
            raise _Invalid(f"item {index} name: {problem}") from None
        if name in seen:
            raise _Invalid(f"item {index} name {name!r} is a duplicate; app names must be unique")
        seen.add(name)
        apps.append(AppConfig(name=name))
    if not apps:
        raise _Invalid("[] is empty; the rule is at least one app")
    return tuple(apps)


def _deployments(raw: Any) -> tuple[DeploymentConfig, ...]:
    fields = {"name": True, "model": True, "version": True, "capacity": True, "sku": False}
    result = []
    seen: set[str] = set()
    for index, item in enumerate(_records(raw, fields, "deployment")):
        try:
            name = _string(item["name"], name_rules.DEPLOYMENT_NAME)
            if name in seen:
                raise _Invalid(f"{name!r} is a duplicate; deployment names must be unique")
            seen.add(name)
            deployment = DeploymentConfig(
                name=name,
                model=_string(item["model"], MODEL_NAME),
                version=_string(item["version"], MODEL_VERSION),
                capacity=_integer(item["capacity"], 1, 1000, "thousand tokens per minute"),
                sku=_choice(item.get("sku", "Standard"), DEPLOYMENT_SKUS),
            )
        except _Invalid as problem:
            raise _Invalid(f"item {index}: {problem}") from None
        result.append(deployment)
    return tuple(result)


# --- private network ------------------------------------------------------------------------------

# A private stack's own VNet and subnets, unless configured: /26 subnets as App Service recommends.
DEFAULT_ADDRESS_SPACE = "10.60.0.0/22"
SUBNET_FIELDS = ("privateEndpoints", "appService", "functions")
DEFAULT_SUBNETS = {
    "privateEndpoints": "10.60.0.0/26",
    "appService": "10.60.1.0/26",
    "functions": "10.60.2.0/26",
}
# Keys that only a private stack reads.
PRIVATE_KEYS = (
    "privateInbound",
    "virtualNetworkId",
    "vnetAddressSpace",
    "subnetPrefixes",
    "privateDnsZoneIds",
)


def _cidr(raw: Any) -> ipaddress.IPv4Network:
    """An IPv4 network in CIDR notation with no host bits set."""
    if not isinstance(raw, str):
        raise _Invalid(f"{_show(raw)} is not an IPv4 CIDR range like '10.60.0.0/22'")
    try:
        network = ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise _Invalid(f"{_show(raw)} is not an IPv4 CIDR range like '10.60.0.0/22'") from None
    if network.version != 4 or "/" not in raw:
        raise _Invalid(f"{_show(raw)} is not an IPv4 CIDR range like '10.60.0.0/22'")
    if str(network) != raw:
        raise _Invalid(f"{_show(raw)} has host bits set; the range is {str(network)!r}")
    return network  # type: ignore[return-value]


def _subnet_prefixes(raw: Any) -> dict[str, ipaddress.IPv4Network]:
    value = _structured(raw)
    if not isinstance(value, dict):
        raise _Invalid(f"{_show(raw)} is not an object with fields {', '.join(SUBNET_FIELDS)}")
    unknown = sorted(set(value) - set(SUBNET_FIELDS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], SUBNET_FIELDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise _Invalid(
            f"unknown field {unknown[0]!r}{hint}; the fields are {', '.join(SUBNET_FIELDS)}"
        )
    prefixes = {}
    for field_name in SUBNET_FIELDS:
        if field_name in value:
            try:
                prefixes[field_name] = _cidr(value[field_name])
            except _Invalid as problem:
                raise _Invalid(f"{field_name}: {problem}") from None
    return prefixes


def _resource_id(
    raw: Any, namespace: str, resource_type: str, what: str, rule: name_rules.NameRule | None = None
) -> ids.ResourceId:
    """An ARM ID of one top-level resource of ``namespace/resource_type``."""
    try:
        return ids.resource_id(raw, namespace, resource_type, rule)
    except ids.IdError as error:
        raise _Invalid(f"{_show(raw)} is not the resource ID of {what}: {error}") from None


def _principal_id(raw: Any) -> str:
    if not ids.is_guid(_string(raw)):
        raise _Invalid(f"{_show(raw)} breaks the rule: an Entra object ID (a GUID)")
    return raw.lower()


def _virtual_network_id(raw: Any) -> str:
    _resource_id(raw, "Microsoft.Network", "virtualNetworks", "a virtual network")
    return raw


def _workspace_id(raw: Any) -> str:
    workspace = "a Log Analytics workspace"
    _resource_id(
        raw, "Microsoft.OperationalInsights", "workspaces", workspace, name_rules.WORKSPACE_NAME
    )
    return raw


def _dns_zone_ids(raw: Any) -> dict[str, str]:
    zones: dict[str, str] = {}
    for index, item in enumerate(_list(raw)):
        try:
            parts = _resource_id(item, "Microsoft.Network", "privateDnsZones", "a private DNS zone")
        except _Invalid as problem:
            raise _Invalid(f"item {index}: {problem}") from None
        zone = parts.name.lower()
        if zone not in private_link.KNOWN_ZONES:
            raise _Invalid(
                f"item {index}: zone {zone!r} is not one this stack uses; the zones are "
                f"{', '.join(private_link.KNOWN_ZONES)}"
            )
        if zone in zones:
            raise _Invalid(f"item {index}: zone {zone!r} is a duplicate; give each zone once")
        zones[zone] = item
    return zones


def _network(
    own: Mapping[str, Any], values: Mapping[str, Any], hosted_functions: bool, subscription_id: str
) -> tuple[NetworkConfig | None, list[str]]:
    """Private mode's network from the validated values, and every rule it breaks, one line each.

    ``hosted_functions``: a function app joins the VNet too, so its subnet must fit as well.
    """
    ns = f"{PROJECT}:"
    problems: list[str] = []
    if "networkMode" not in values:
        return None, problems  # its reader reported the value
    if values["networkMode"] != "private":
        problems.extend(
            f"config {ns}{key}: set while {ns}networkMode is public; the rule is: private "
            f"network settings apply only with networkMode private"
            for key in PRIVATE_KEYS
            if key in own
        )
        return None, problems
    # One value turns the stack private: these would open it again.
    if "allowedIpRanges" in own:
        problems.append(
            f"config {ns}allowedIpRanges: set while {ns}networkMode is private; the rule is: a "
            "private stack takes no public callers (reach it through the virtual network)"
        )
    if own.get("publicNetworkAccess") == "Enabled":
        problems.append(
            f"config {ns}publicNetworkAccess: 'Enabled' while {ns}networkMode is private; the rule "
            "is: a private stack disables public network access (remove the key)"
        )
    if any(key in own and key not in values for key in PRIVATE_KEYS):
        return None, problems  # its reader reported the value; the rest depends on it
    existing = values.get("virtualNetworkId")
    given = values.get("subnetPrefixes") or {}
    needed = ["privateEndpoints", "appService"] + (["functions"] if hosted_functions else [])
    if existing:
        vnet_subscription = ids.resource_id(
            existing, "Microsoft.Network", "virtualNetworks"
        ).subscription
        if vnet_subscription.lower() != subscription_id.lower():
            problems.append(
                f"config {ns}virtualNetworkId: the VNet is in subscription {vnet_subscription}; "
                "the rule is: a VNet in the subscription the stack deploys into"
            )
        if "vnetAddressSpace" in own:
            problems.append(
                f"config {ns}vnetAddressSpace: set with {ns}virtualNetworkId; the rule is: an "
                "existing virtual network keeps its own address space"
            )
        missing = [f for f in needed if f not in given]
        if missing:
            problems.append(
                f"config {ns}subnetPrefixes: {', '.join(missing)} missing with "
                f"{ns}virtualNetworkId; the rule is: subnets created in an existing virtual "
                "network need free prefixes of its address space"
            )
            return None, problems
    space = None if existing else (values.get("vnetAddressSpace") or _cidr(DEFAULT_ADDRESS_SPACE))
    subnets = {f: given.get(f) or ipaddress.ip_network(DEFAULT_SUBNETS[f]) for f in SUBNET_FIELDS}
    endpoints = private_link.endpoint_count(
        key_mode=values.get("authMode", "keyVault") == "keyVault",
        hosted_rotation=hosted_functions,
        private_inbound_apps=len(values.get("apps") or ()) if values.get("privateInbound") else 0,
    )
    smallest = {
        "privateEndpoints": private_link.SMALLEST_SUBNET,
        "appService": private_link.SMALLEST_INTEGRATION_SUBNET,
        "functions": private_link.SMALLEST_INTEGRATION_SUBNET,
    }
    for field_name in needed:
        subnet = subnets[field_name]
        key = f"config {ns}subnetPrefixes.{field_name}"
        if subnet.prefixlen > smallest[field_name]:
            problems.append(
                f"{key}: {str(subnet)!r} is too small; the rule is /{smallest[field_name]} or "
                "larger"
            )
        elif field_name == "privateEndpoints":
            usable = subnet.num_addresses - private_link.RESERVED_ADDRESSES_PER_SUBNET
            if usable < endpoints:
                problems.append(
                    f"{key}: {str(subnet)!r} holds {usable} endpoints; the rule is room for "
                    f"{endpoints} (account, vault, the rotation storage's blob and queue, and each "
                    "app with privateInbound)"
                )
        if space is not None and not subnet.subnet_of(space):
            problems.append(
                f"{key}: {str(subnet)!r} is outside {ns}vnetAddressSpace {str(space)!r}; the rule "
                "is: every subnet inside the virtual network's address space"
            )
    for i, first in enumerate(needed):
        for second in needed[i + 1 :]:
            if subnets[first].overlaps(subnets[second]):
                problems.append(
                    f"config {ns}subnetPrefixes.{second}: {str(subnets[second])!r} overlaps "
                    f"{first} {str(subnets[first])!r}; the rule is: subnets do not overlap"
                )
    network = NetworkConfig(
        address_space=str(space) if space is not None else None,
        virtual_network_id=existing,
        private_endpoint_prefix=str(subnets["privateEndpoints"]),
        app_service_prefix=str(subnets["appService"]),
        functions_prefix=str(subnets["functions"]),
        dns_zone_ids=dict(values.get("privateDnsZoneIds") or {}),
        private_inbound=bool(values.get("privateInbound")),
    )
    return network, problems


# key -> (reader, default). A default of None means "unset is allowed and means none".
_READERS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "prefix": (lambda v: _string(v, PREFIX), "sai"),
    "authMode": (lambda v: _choice(v, AUTH_MODES), "keyVault"),
    "aiKind": (lambda v: _choice(v, AI_KINDS), "OpenAI"),
    "aiSku": (lambda v: _choice(v, AI_SKUS), "S0"),
    "appServiceSku": (lambda v: _choice(v, APP_SERVICE_SKUS), "B1"),
    "pythonVersion": (lambda v: _choice(_string(v), PYTHON_VERSIONS), "3.12"),
    "rotationPeriodDays": (
        lambda v: _integer(v, secret.MIN_PERIOD_DAYS, secret.MAX_PERIOD_DAYS, "days"),
        secret.DEFAULT_PERIOD_DAYS,
    ),
    "publicNetworkAccess": (lambda v: _choice(v, PUBLIC_NETWORK_ACCESS), "Enabled"),
    "allowedIpRanges": (_ip_ranges, ()),
    "auditLogs": (_boolean, True),
    "logAnalyticsWorkspaceId": (_workspace_id, None),
    "resourceGroupName": (lambda v: _string(v, name_rules.RESOURCE_GROUP_NAME), None),
    "secretName": (lambda v: _string(v, name_rules.SECRET_NAME), "ai-api-key"),
    "deployerPrincipalType": (lambda v: _choice(v, PRINCIPAL_TYPES), None),
    "rotatorPrincipalId": (
        _principal_id,
        None,
    ),
    "rotatorPrincipalType": (
        lambda v: _choice(v, ("ServicePrincipal", "User")),
        "ServicePrincipal",
    ),
    "hostedRotation": (_boolean, True),
    "deployments": (_deployments, ()),
    "apps": (_apps, (AppConfig(name="web"),)),
    "networkMode": (lambda v: _choice(v, NETWORK_MODES), "public"),
    "privateInbound": (_boolean, False),
    "virtualNetworkId": (_virtual_network_id, None),
    "vnetAddressSpace": (_cidr, None),
    "subnetPrefixes": (_subnet_prefixes, None),
    "privateDnsZoneIds": (_dns_zone_ids, None),
}

KNOWN_KEYS = tuple(_READERS)


def _derive_names(
    stack: str, prefix: str, apps: tuple[AppConfig, ...], subscription_id: str
) -> tuple[Names, list[str]]:
    """Names from prefix + stack + stable hash, and a problem line for each that breaks its rule.

    The hash covers the subscription too: two teams deploying the same stack file into their own
    subscriptions get different global names (vault, subdomain, sites) instead of colliding.
    """
    base = slug(f"{prefix}-{stack}") or prefix
    suffix = stable_suffix(PROJECT, subscription_id.lower(), stack, prefix)
    names = Names(
        resource_group=f"{base}-rg",
        vault=f"{base}-kv-{suffix}",
        ai_subdomain=f"{base}-ai-{suffix}",
        ai_account=f"{base}-ai-{suffix}",
        plan=f"{base}-plan",
        workspace=f"{base}-logs",
        web_apps={app.name: f"{base}-{app.name}-{suffix}" for app in apps},
        virtual_network=f"{base}-vnet",
        automation_app=f"{base}-rot-{suffix}",
        # Storage names allow no hyphens and 24 characters: the hash keeps a cut base unique.
        automation_storage=f"{base.replace('-', '')[:15]}rot{suffix}",
    )
    checks = [
        ("Key Vault", names.vault, name_rules.VAULT_NAME),
        ("AI subdomain", names.ai_subdomain, name_rules.SUBDOMAIN_NAME),
        ("function app", names.automation_app, name_rules.SITE_NAME),
        ("storage account", names.automation_storage, name_rules.STORAGE_ACCOUNT_NAME),
        *(("web app", site, name_rules.SITE_NAME) for site in names.web_apps.values()),
    ]
    problems = [
        f"derived {what} name {name!r} ({len(name)} characters) breaks the rule: {rule.rule}; "
        f"shorten secure-azure-ai:prefix or the stack name {stack!r}"
        for what, name, rule in checks
        if not rule.matches(name)
    ]
    return names, problems


def load(raw: Mapping[str, Any], stack: str, subscription_id: str) -> StackConfig:
    """Validate the raw config of ``stack`` deployed into ``subscription_id``.

    Raises ConfigError naming every problem at once.
    """
    problems: list[str] = []
    namespace = f"{PROJECT}:"
    own = {k[len(namespace) :]: v for k, v in raw.items() if k.startswith(namespace)}
    for key in sorted(set(own) - set(_READERS)):
        close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
        hint = f"; did you mean {namespace}{close[0]}?" if close else ""
        problems.append(f"config {namespace}{key}: unknown key{hint}")

    values: dict[str, Any] = {}
    for key, (reader, default) in _READERS.items():
        if key not in own:
            values[key] = default
            continue
        try:
            values[key] = reader(own[key])
        except _Invalid as problem:
            problems.append(f"config {namespace}{key}: {problem}")

    location = None
    if raw.get(LOCATION_KEY) is None:
        problems.append(
            f"config {LOCATION_KEY}: missing; the rule is an Azure region such as 'swedencentral' "
            f"(pulumi config set {LOCATION_KEY} swedencentral)"
        )
    else:
        try:
            location = _location(raw[LOCATION_KEY])
        except _Invalid as problem:
            problems.append(f"config {LOCATION_KEY}: {problem}")

    if values.get("deployments") == ():
        problems.append(
            f"config {namespace}deployments: missing; the rule is at least one model deployment "
            "{name, model, version, capacity}: the apps call the first (AZURE_AI_DEPLOYMENT)"
        )
    if values.get("auditLogs") is False and values.get("logAnalyticsWorkspaceId"):
        problems.append(
            f"config {namespace}logAnalyticsWorkspaceId: set while {namespace}auditLogs is false; "
            "the rule is: a workspace receives audit logs only when auditLogs is true"
        )
    if values.get("authMode") == "keyless":
        problems.extend(
            f"config {namespace}{key}: {_show(own[key])} is set in keyless mode; "
            f"the rule is: keyless stacks hold no key, so no {what}"
            for key, what in (
                ("secretName", "secret name"),
                ("rotatorPrincipalId", "rotator"),
                ("hostedRotation", "rotation automation"),
            )
            # `hostedRotation: false` says what keyless means anyway: accepted.
            if key in own and values.get(key) is not False
        )

    hosted = values.get("authMode") == "keyVault" and values.get("hostedRotation") is True
    network, network_problems = _network(own, values, hosted, subscription_id)
    problems.extend(network_problems)

    if "prefix" in values and "apps" in values:
        names, name_problems = _derive_names(
            stack, values["prefix"], values["apps"], subscription_id
        )
        problems.extend(name_problems)
    if problems:
        raise ConfigError(problems)

    # Each key's value under its field (rotationPeriodDays -> rotation_period_days); private mode
    # closes the public endpoint, and rotation is hosted only in key mode.
    read = {_field_of(key): value for key, value in values.items() if _field_of(key) in _FIELDS}
    return StackConfig(
        **read
        | {
            "stack": stack,
            "location": location or "",
            "public_network_access": "Disabled" if network else values["publicNetworkAccess"],
            "hosted_rotation": hosted,
            "names": names,
            "network": network,
        }
    )


_FIELDS = frozenset(field.name for field in fields(StackConfig))


def _field_of(key: str) -> str:
    return re.sub(r"[A-Z]", lambda upper: f"_{upper[0].lower()}", key)
