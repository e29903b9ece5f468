"""Reading a stack's private network: private endpoints, their DNS zone groups, VNet integration.

Pure functions over :class:`StackResource` views, shared by the private-network policies. A stack
is *private* when it declares a virtual network, a subnet or a private endpoint, or integrates an
app into a subnet: then every AI account and vault in it must sit behind a private endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable

from policies.support import (
    AI_ACCOUNT,
    NOT_KNOWN,
    VAULT,
    WEB_APPS,
    Outcome,
    StackResource,
    is_unknown,
)

VIRTUAL_NETWORK = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"

ACCOUNT_GROUP = "account"
VAULT_GROUP = "vault"
OPENAI_ZONE = "privatelink.openai.azure.com"
COGNITIVE_SERVICES_ZONE = "privatelink.cognitiveservices.azure.com"
AI_SERVICES_ZONE = "privatelink.services.ai.azure.com"
VAULT_ZONE = "privatelink.vaultcore.azure.net"

# The zones an endpoint's records must reach for clients to resolve the service's own host names.
ACCOUNT_ZONES = {
    "OpenAI": frozenset({OPENAI_ZONE}),
    "AIServices": frozenset({COGNITIVE_SERVICES_ZONE, OPENAI_ZONE, AI_SERVICES_ZONE}),
}


def integrated(site: StackResource, resources: Iterable[StackResource]) -> bool | None:
    """Whether a web app joins a subnet: True, False, or None when that is not known yet.

    A preview knows a subnet's ID only once it exists; until then the site's
    ``virtualNetworkSubnetId`` is unknown, and its property dependency on a declared subnet
    tells. An unknown value with no such dependency is an output Azure fills in, or not.
    """
    value = site.props.get("virtualNetworkSubnetId")
    if isinstance(value, str) and not is_unknown(value):
        return bool(value)
    if value is None:
        return False
    subnets = [r.urn for r in resources if r.type == SUBNET]
    return True if site.depends_on(subnets, "virtualNetworkSubnetId") else None


def is_private_stack(resources: Iterable[StackResource]) -> bool:
    """True when the stack declares any part of a private network."""
    every = list(resources)
    for r in every:
        if r.type in (VIRTUAL_NETWORK, SUBNET, PRIVATE_ENDPOINT):
            return True
        if r.type in WEB_APPS and integrated(r, every):
            return True
    return False


def services(resources: Iterable[StackResource]) -> list[tuple[StackResource, str]]:
    """The AI accounts and vaults of the stack, each with its private link sub-resource."""
    kinds = {AI_ACCOUNT: ACCOUNT_GROUP, VAULT: VAULT_GROUP}
    return [(r, kinds[r.type]) for r in resources if r.type in kinds]


# type -> (ARM provider path, input naming the resource): how an endpoint names its service by ID.
_ARM_NAMES = {
    AI_ACCOUNT: ("microsoft.cognitiveservices/accounts", "accountName"),
    VAULT: ("microsoft.keyvault/vaults", "vaultName"),
}


def _names(service_id: object, target: StackResource) -> bool:
    """True when a known ARM ID ends in the target's resource group, type and name."""
    path, name_key = _ARM_NAMES.get(target.type, ("", ""))
    group, name = target.props.get("resourceGroupName"), target.props.get(name_key)
    if not all(isinstance(v, str) and not is_unknown(v) for v in (service_id, group, name)):
        return False
    tail = f"/resourcegroups/{group}/providers/{path}/{name}".lower()
    return str(service_id).rstrip("/").lower().endswith(tail)


def _connects(endpoint: StackResource, target: StackResource, group: str, out: Outcome) -> bool:
    """True when one of the endpoint's (auto-approved) connections reaches target's ``group``.

    The connection names the service by a dependency on it or, for an ID built from names, by
    that ID; one to an unknown service of the same sub-resource kind cannot be judged yet.
    """
    connections = out.read(endpoint.props, "privateLinkServiceConnections")
    if connections is NOT_KNOWN or not isinstance(connections, list):
        return False
    traced = endpoint.depends_on([target.urn], "privateLinkServiceConnections")
    for index in range(len(connections)):
        groups = out.read(endpoint.props, "privateLinkServiceConnections", index, "groupIds")
        if groups is NOT_KNOWN or not isinstance(groups, list) or group not in groups:
            continue
        if traced:
            return True
        service = out.read(
            endpoint.props, "privateLinkServiceConnections", index, "privateLinkServiceId"
        )
        if _names(service, target):
            return True
    return False


def endpoints_of(
    target: StackResource, group: str, resources: list[StackResource], out: Outcome
) -> list[StackResource]:
    """The private endpoints that connect to ``target``'s ``group`` sub-resource."""
    return [r for r in resources if r.type == PRIVATE_ENDPOINT and _connects(r, target, group, out)]


def zones_of(endpoint: StackResource, resources: list[StackResource], out: Outcome) -> set[str]:
    """The private DNS zone names the endpoint's zone groups write its records into."""
    name = endpoint.props.get("privateEndpointName")
    by_urn = {r.urn: r for r in resources}
    zones: set[str] = set()
    for group in resources:
        if group.type != ZONE_GROUP:
            continue
        owner = group.props.get("privateEndpointName")
        if not (group.depends_on([endpoint.urn]) or (owner == name and isinstance(name, str))):
            continue
        configs = out.read(group.props, "privateDnsZoneConfigs")
        if configs is NOT_KNOWN or not isinstance(configs, list):
            continue
        # A zone the program creates is known by its name even while its ID is not.
        created = {
            str(by_urn[u].props.get("privateZoneName")).lower()
            for u in group.property_dependencies.get("privateDnsZoneConfigs", frozenset())
            if u in by_urn and by_urn[u].type == PRIVATE_ZONE
        }
        zones |= created
        for index in range(len(configs)):
            zone_id = group.props["privateDnsZoneConfigs"][index].get("privateDnsZoneId")
            if isinstance(zone_id, str) and not is_unknown(zone_id):
                zones.add(zone_id.rstrip("/").rsplit("/", 1)[-1].lower())
            elif not created:
                out.cannot_check((group.name, "privateDnsZoneConfigs", index, "privateDnsZoneId"))
    return zones


def required_zones(service: StackResource, group: str) -> frozenset[str]:
    """The zones a service's endpoint must register in (by account kind; the vault zone)."""
    if group == VAULT_GROUP:
        return frozenset({VAULT_ZONE})
    kind = service.props.get("kind")
    return (
        ACCOUNT_ZONES.get(kind, frozenset({COGNITIVE_SERVICES_ZONE}))
        if isinstance(kind, str)
        else frozenset()
    )


# --- findings: each fills ``out`` with what a private stack lacks ---------------------------------

_LABELS = {ACCOUNT_GROUP: "AI account", VAULT_GROUP: "vault"}


def missing_private_endpoints(
    resources: list[StackResource], service_type: str, out: Outcome
) -> None:
    """Each service of ``service_type`` has a private endpoint with a zone group for its zones."""
    for service, group in services(resources):
        if service.type != service_type:
            continue
        label = _LABELS[group]
        endpoints = endpoints_of(service, group, resources, out)
        if not endpoints:
            out.fail(
                f"{label} {service.name!r} has no private endpoint for its {group!r} sub-resource",
                service.urn,
            )
            continue
        unknown_before = len(out.unknown)
        found: set[str] = set()
        for endpoint in endpoints:
            found |= zones_of(endpoint, resources, out)
        missing = sorted(required_zones(service, group) - found)
        if missing and len(out.unknown) == unknown_before:
            out.fail(
                f"the private endpoint of {label} {service.name!r} has no DNS zone group entry "
                f"for {', '.join(missing)}; clients would resolve the public address",
                endpoints[0].urn,
            )


def public_access_left_open(resources: list[StackResource], out: Outcome) -> None:
    """Each AI account and vault has publicNetworkAccess Disabled and ACLs that deny by default."""
    for service, group in services(resources):
        label = _LABELS[group]
        access = out.read(service.props, "properties", "publicNetworkAccess")
        default_action = out.read(service.props, "properties", "networkAcls", "defaultAction")
        if access is not NOT_KNOWN and access != "Disabled":
            out.fail(
                f"{label} {service.name!r}: properties.publicNetworkAccess is "
                f"{'not set' if access is None else repr(access)}; it must be 'Disabled'",
                service.urn,
            )
        if default_action is not NOT_KNOWN and default_action != "Deny":
            out.fail(
                f"{label} {service.name!r}: properties.networkAcls.defaultAction is "
                f"{'not set' if default_action is None else repr(default_action)}; it must be "
                "'Deny'",
                service.urn,
            )


# Storage's public endpoint is shut when it is off, or given to a network security perimeter.
_STORAGE_CLOSED = ("Disabled", "SecuredByPerimeter")


def storage_left_open(resources: list[StackResource], out: Outcome) -> None:
    """Each storage account keeps its public endpoint shut to every caller.

    ``publicNetworkAccess`` Disabled, or a firewall that denies by default and holds no IP or
    subnet rule: then only trusted Azure services (Event Grid's dead letters, which no private
    endpoint carries) pass, each with its own identity and role on the account.
    """
    for account in (r for r in resources if r.type == STORAGE_ACCOUNT):
        access = out.read(account.props, "publicNetworkAccess")
        if access is NOT_KNOWN or access in _STORAGE_CLOSED:
            continue
        default_action = out.read(account.props, "networkRuleSet", "defaultAction")
        ip_rules = out.read(account.props, "networkRuleSet", "ipRules")
        subnet_rules = out.read(account.props, "networkRuleSet", "virtualNetworkRules")
        if any(v is NOT_KNOWN for v in (default_action, ip_rules, subnet_rules)):
            continue
        shown = "not set" if access is None else repr(access)
        if default_action != "Deny":
            out.fail(
                f"storage account {account.name!r}: publicNetworkAccess is {shown} and "
                f"networkRuleSet.defaultAction is "
                f"{'not set' if default_action is None else repr(default_action)}; set "
                "publicNetworkAccess 'Disabled', or defaultAction 'Deny'",
                account.urn,
            )
        elif ip_rules or subnet_rules:
            out.fail(
                f"storage account {account.name!r}: its public endpoint admits "
                f"{len(ip_rules or []) + len(subnet_rules or [])} IP or subnet rule(s); a private "
                "stack reaches its storage through private endpoints only",
                account.urn,
            )


# Either property routes all outbound traffic into the VNet.
_ROUTE_ALL = (
    ("outboundVnetRouting", "applicationTraffic"),
    ("outboundVnetRouting", "allTraffic"),
    ("siteConfig", "vnetRouteAllEnabled"),
)


def _routes_all(site: StackResource, out: Outcome) -> bool | None:
    """True when all outbound traffic goes into the VNet, None (recorded) if not known yet."""
    probe = Outcome()
    values = [probe.read(site.props, *path) for path in _ROUTE_ALL]
    if True in values:
        return True
    out.unknown.extend((site.name, *path) for path in probe.unknown)
    return None if probe.unknown else False


def apps_outside_the_network(resources: list[StackResource], out: Outcome) -> None:
    """Each web app joins a subnet and routes all of its outbound traffic through it."""
    for site in (r for r in resources if r.type in WEB_APPS):
        joined = integrated(site, resources)
        if joined is None:
            out.cannot_check((site.name, "virtualNetworkSubnetId"))
            continue
        if not joined:
            out.fail(
                f"web app {site.name!r} has no virtualNetworkSubnetId; its Key Vault references "
                "and AI calls leave over the internet",
                site.urn,
            )
            continue
        if _routes_all(site, out) is False:
            out.fail(
                f"web app {site.name!r} routes only private-range traffic into the VNet; set "
                "outboundVnetRouting.applicationTraffic so every call goes through it",
                site.urn,
            )
