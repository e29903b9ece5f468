"""Reports of an offline preview: one document (``report``), rendered as text, Markdown or JSON.

The JSON document is the single source: the text and Markdown renderings are views of it, so the
three formats always say the same thing. Output is deterministic (no timestamps, stable ordering)
and never holds a secret value: secret-wrapped values read ``[secret]``, values not known before
apply read ``(known after apply)``, only the properties named in ``SECURITY_PROPERTIES`` are
shown at all, and any credential the detection engine finds in any field is masked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from catalog.secret import is_reference_text
from policies.azure_ids import SecretRef, scope_kind, scope_target
from policies.detection import redact
from policies.roles import COGNITIVE_SERVICES_OPENAI_USER, role_name
from preflight.model import (
    ROLE_ASSIGNMENT_TYPE,
    UNKNOWN,
    Plan,
    PlannedResource,
    Violation,
    is_secret,
)

REPORT_VERSION = 1
FORMATS = ("text", "markdown", "json")
SECRET_TEXT = "[secret]"
UNKNOWN_TEXT = "(known after apply)"
NOT_SET_TEXT = "(not set)"

VAULT_TYPE = "azure-native:keyvault:Vault"
SECRET_TYPE = "azure-native:keyvault:Secret"
WEB_APP_TYPE = "azure-native:web:WebApp"
APP_SETTINGS_TYPE = "azure-native:web:WebAppApplicationSettings"
AI_ACCOUNT_TYPE = "azure-native:cognitiveservices:Account"
DYNAMIC_TYPE = "pulumi-python:dynamic:Resource"
VNET_TYPE = "azure-native:network:VirtualNetwork"
SUBNET_TYPE = "azure-native:network:Subnet"
ENDPOINT_TYPE = "azure-native:network:PrivateEndpoint"
ZONE_GROUP_TYPE = "azure-native:network:PrivateDnsZoneGroup"
ZONE_TYPE = "azure-native:privatedns:PrivateZone"
ZONE_LINK_TYPE = "azure-native:privatedns:VirtualNetworkLink"
STORAGE_TYPE = "azure-native:storage:StorageAccount"
# An extractor's answer for a property that is not shown at all (absent and irrelevant).
OMIT: Any = object()

Extractor = Callable[[dict[str, Any]], Any]


def marker(stack: str) -> str:
    """The HTML comment that starts a stack's PR comment, so a workflow can edit it in place."""
    return f"<!-- secure-azure-ai-preflight:{stack} -->"


def _path(dotted: str) -> Extractor:
    keys = dotted.split(".")

    def get(inputs: dict[str, Any]) -> Any:
        value: Any = inputs
        for key in keys:
            if is_secret(value):
                return value  # a secret container hides what is inside it
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get


def _epoch_date(dotted: str) -> Extractor:
    get = _path(dotted)

    def date(inputs: dict[str, Any]) -> Any:
        value = get(inputs)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return value

    return date


def _setting_names(reference: bool) -> Extractor:
    """Names (never values) of app settings that are, or are not, Key Vault references."""

    def names(inputs: dict[str, Any]) -> Any:
        settings = inputs.get("properties")
        if is_secret(settings) or settings == UNKNOWN:
            return settings
        if not isinstance(settings, dict):
            return None
        chosen = []
        for name, value in settings.items():
            if is_reference_text(value) == reference:
                chosen.append(name)
        return sorted(chosen)

    return names


def _enabled_log_categories(inputs: dict[str, Any]) -> Any:
    logs = inputs.get("logs")
    if not isinstance(logs, list):
        return logs
    return sorted(
        str(log.get("category") or log.get("categoryGroup"))
        for log in logs
        if isinstance(log, dict) and log.get("enabled")
    )


def _resource_names(dotted: str) -> Extractor:
    """The names at the end of a list of ARM IDs (the IDs themselves add only noise)."""
    get = _path(dotted)

    def names(inputs: dict[str, Any]) -> Any:
        value = get(inputs)
        if not isinstance(value, list):
            return value
        return [v.rstrip("/").rsplit("/", 1)[-1] if isinstance(v, str) else v for v in value]

    return names


def _when_set(extract: Extractor) -> Extractor:
    """The property only where the program sets it (network settings of a public stack)."""

    def get(inputs: dict[str, Any]) -> Any:
        value = extract(inputs)
        return OMIT if value is None else value

    return get


def _each(dotted: str, key: str) -> Extractor:
    """``key`` of every object in the list at ``dotted`` (delegations, connections, zones)."""
    get = _path(dotted)

    def values(inputs: dict[str, Any]) -> Any:
        items = get(inputs)
        if not isinstance(items, list):
            return items
        return [item.get(key) if isinstance(item, dict) else item for item in items]

    return values


def _resource_names_of(dotted: str, key: str) -> Extractor:
    """The resource names at the end of the ARM IDs at ``key`` of each object in a list."""
    get = _each(dotted, key)

    def names(inputs: dict[str, Any]) -> Any:
        value = get(inputs)
        if not isinstance(value, list):
            return value
        return [
            v.rstrip("/").rsplit("/", 1)[-1] if isinstance(v, str) and v != UNKNOWN else v
            for v in value
        ]

    return names


def _scope(inputs: dict[str, Any]) -> Any:
    scope = inputs.get("scope")
    return short_scope(scope) if isinstance(scope, str) and scope != UNKNOWN else scope


def _role(inputs: dict[str, Any]) -> Any:
    role = inputs.get("roleDefinitionId")
    return role_name(role) if isinstance(role, str) and role != UNKNOWN else role


# The security-relevant properties shown per resource type: (label, how to read it from inputs).
SECURITY_PROPERTIES: dict[str, tuple[tuple[str, Extractor], ...]] = {
    "azure-native:resources:ResourceGroup": (("location", _path("location")),),
    VAULT_TYPE: (
        ("enableRbacAuthorization", _path("properties.enableRbacAuthorization")),
        ("enableSoftDelete", _path("properties.enableSoftDelete")),
        ("softDeleteRetentionInDays", _path("properties.softDeleteRetentionInDays")),
        ("enablePurgeProtection", _path("properties.enablePurgeProtection")),
        ("enabledForDeployment", _path("properties.enabledForDeployment")),
        ("enabledForTemplateDeployment", _path("properties.enabledForTemplateDeployment")),
        ("enabledForDiskEncryption", _path("properties.enabledForDiskEncryption")),
        ("publicNetworkAccess", _path("properties.publicNetworkAccess")),
        ("accessPolicies", _path("properties.accessPolicies")),
    ),
    SECRET_TYPE: (
        ("secretName", _path("secretName")),
        ("contentType", _path("properties.contentType")),
        ("expires", _epoch_date("properties.attributes.expires")),
        ("enabled", _path("properties.attributes.enabled")),
    ),
    WEB_APP_TYPE: (
        ("httpsOnly", _path("httpsOnly")),
        ("minTlsVersion", _path("siteConfig.minTlsVersion")),
        ("scmMinTlsVersion", _path("siteConfig.scmMinTlsVersion")),
        ("ftpsState", _path("siteConfig.ftpsState")),
        ("remoteDebuggingEnabled", _path("siteConfig.remoteDebuggingEnabled")),
        ("identity", _path("identity.type")),
        ("keyVaultReferenceIdentity", _path("keyVaultReferenceIdentity")),
        ("virtualNetworkSubnetId", _when_set(_path("virtualNetworkSubnetId"))),
        ("outboundVnetRouting", _when_set(_path("outboundVnetRouting"))),
        ("publicNetworkAccess", _when_set(_path("publicNetworkAccess"))),
    ),
    APP_SETTINGS_TYPE: (
        ("keyVaultReferences", _setting_names(reference=True)),
        ("otherSettings", _setting_names(reference=False)),
    ),
    "azure-native:web:WebAppFtpAllowed": (("allow", _path("allow")),),
    "azure-native:web:WebAppScmAllowed": (("allow", _path("allow")),),
    "azure-native:web:AppServicePlan": (("sku", _path("sku.name")), ("kind", _path("kind"))),
    AI_ACCOUNT_TYPE: (
        ("kind", _path("kind")),
        ("sku", _path("sku.name")),
        ("customSubDomainName", _path("properties.customSubDomainName")),
        ("disableLocalAuth", _path("properties.disableLocalAuth")),
        ("publicNetworkAccess", _path("properties.publicNetworkAccess")),
        ("restrictOutboundNetworkAccess", _path("properties.restrictOutboundNetworkAccess")),
        ("identity", _path("identity.type")),
    ),
    "azure-native:cognitiveservices:Deployment": (
        ("model", _path("properties.model.name")),
        ("version", _path("properties.model.version")),
        ("capacity", _path("sku.capacity")),
    ),
    ROLE_ASSIGNMENT_TYPE: (
        ("role", _role),
        ("scope", _scope),
        ("principalType", _path("principalType")),
    ),
    # The dynamic resource that copies the account key into Key Vault (components/api_key_secret).
    DYNAMIC_TYPE: (
        ("secret_name", _path("secret_name")),
        ("vault_uri", _path("vault_uri")),
        ("rotation_period_days", _path("rotation_period_days")),
        ("consumers", _resource_names("consumers")),
    ),
    "azure-native:monitor:DiagnosticSetting": (("logs", _enabled_log_categories),),
    "azure-native:insights:DiagnosticSetting": (("logs", _enabled_log_categories),),
    "azure-native:operationalinsights:Workspace": (("retentionInDays", _path("retentionInDays")),),
    # Network settings only where the program sets them: a public stack's account shows none.
    STORAGE_TYPE: (
        ("publicNetworkAccess", _when_set(_path("publicNetworkAccess"))),
        ("networkDefaultAction", _when_set(_path("networkRuleSet.defaultAction"))),
        ("networkBypass", _when_set(_path("networkRuleSet.bypass"))),
    ),
    VNET_TYPE: (
        ("name", _path("virtualNetworkName")),
        ("addressSpace", _path("addressSpace.addressPrefixes")),
    ),
    SUBNET_TYPE: (
        ("name", _path("subnetName")),
        ("virtualNetwork", _path("virtualNetworkName")),
        ("addressPrefix", _path("addressPrefix")),
        ("delegations", _each("delegations", "serviceName")),
    ),
    ENDPOINT_TYPE: (
        ("name", _path("privateEndpointName")),
        ("groupIds", _each("privateLinkServiceConnections", "groupIds")),
        ("service", _resource_names_of("privateLinkServiceConnections", "privateLinkServiceId")),
        ("subnet", _path("subnet.id")),
    ),
    ZONE_GROUP_TYPE: (
        ("privateEndpoint", _path("privateEndpointName")),
        ("zones", _each("privateDnsZoneConfigs", "name")),
    ),
    ZONE_TYPE: (("zone", _path("privateZoneName")), ("location", _path("location"))),
    ZONE_LINK_TYPE: (
        ("zone", _path("privateZoneName")),
        ("registrationEnabled", _path("registrationEnabled")),
        ("virtualNetwork", _path("virtualNetwork.id")),
    ),
}


def shown(value: Any) -> Any:
    """A value as a report may show it: secrets and unknowns replaced by their markers."""
    if is_secret(value):
        return SECRET_TEXT
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, dict):
        return {str(k): shown(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    return value


def as_text(value: Any) -> str:
    """One-line text of a shown value."""
    if value is None:
        return NOT_SET_TEXT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(as_text(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def name_of_urn(urn: str) -> str:
    """The resource name at the end of a URN (``urn:pulumi:stack::project::type::name``)."""
    return urn.rsplit("::", 1)[-1]


_ARM_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)"
    r"(?:/resourceGroups/(?P<rg>[^/]+))?"
    r"(?:/providers/[^/]+/(?P<rest>.+))?$",
    re.IGNORECASE,
)


def short_scope(scope: str) -> str:
    """An ARM scope in few words: ``rg: vaults/kv/secrets/api-key``, ``rg (resource group)``.

    The provider namespace is dropped: the resource type (``vaults``, ``accounts``) says enough.
    """
    if scope == UNKNOWN or not scope:
        return UNKNOWN_TEXT
    match = _ARM_ID.match(scope.rstrip("/"))
    if not match:
        return scope
    rg, rest = match.group("rg"), match.group("rest")
    if rest:
        return f"{rg}: {rest}" if rg else rest
    if rg:
        return f"{rg} (resource group)"
    return f"subscription {match.group('sub')}"


def _resource_ids(plan: Plan) -> dict[str, PlannedResource]:
    ids: dict[str, PlannedResource] = {}
    for r in plan.resources:
        for candidate in (r.id, r.outputs.get("id")):
            if isinstance(candidate, str) and candidate not in ("", UNKNOWN):
                ids[candidate.lower()] = r
    return ids


def _sorted_resources(resources: Iterable[PlannedResource]) -> list[PlannedResource]:
    return sorted(resources, key=lambda r: (r.type, r.name, r.urn))


def report(plan: Plan, violations: list[Violation]) -> dict[str, Any]:
    """The report as one JSON-ready document (see preflight/report.schema.json)."""
    by_urn = plan.by_urn()
    ids = _resource_ids(plan)
    resources = []
    for r in _sorted_resources(plan.resources):
        shown_properties = SECURITY_PROPERTIES.get(r.type, ())
        values = {label: extract(r.inputs) for label, extract in shown_properties}
        properties = {label: shown(v) for label, v in values.items() if v is not OMIT}
        depends = sorted(set(r.dependencies) - {r.parent})
        resources.append(
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent if r.parent in by_urn else None,
                "dependsOn": depends,
                "properties": properties,
            }
        )
    grants = []
    for g in plan.grants():
        # Grant fields are str() of the inputs: read the raw inputs so a secret stays masked.
        raw = by_urn[g.urn].inputs if g.urn in by_urn else {}
        principal, role, scope = (
            SECRET_TEXT if is_secret(raw.get(key)) else value
            for key, value in (
                ("principalId", g.principal),
                ("roleDefinitionId", g.role),
                ("scope", g.scope),
            )
        )
        target = ids.get(scope.lower())
        grants.append(
            {
                "principal": shown(principal),
                "role": shown(role),
                "scope": shown(scope),
                "scopeShort": short_scope(scope) if scope != SECRET_TEXT else SECRET_TEXT,
                "scopeResource": target.urn if target else None,
                "urn": g.urn,
            }
        )
    grants.sort(key=lambda g: (g["principal"], g["role"], g["scopeShort"], g["urn"]))
    found = [
        {
            "policy": v.policy,
            "enforcement": v.enforcement,
            "urn": v.urn,
            "resource": (by_urn[v.urn].name if v.urn in by_urn else name_of_urn(v.urn))
            if v.urn
            else None,
            "message": v.message,
            "remediation": v.remediation,
        }
        for v in violations
    ]
    found.sort(
        key=lambda v: (v["enforcement"] != "mandatory", v["policy"], v["urn"] or "", v["message"])
    )
    mandatory = sum(1 for v in found if v["enforcement"] == "mandatory")
    document = {
        "version": REPORT_VERSION,
        "project": plan.project,
        "stack": plan.stack,
        "verdict": "fail" if mandatory else "pass",
        "summary": {
            "resources": len(plan.resources),
            "byType": dict(sorted(Counter(r.type for r in plan.resources).items())),
            "grants": len(grants),
            "violations": {"mandatory": mandatory, "advisory": len(found) - mandatory},
        },
        "resources": resources,
        "grants": grants,
        "violations": found,
        "flow": _flow(plan, grants),
        "outputs": {k: shown(v) for k, v in sorted(plan.outputs.items())},
    }
    return masked(document, exact=plan.synthetic_credentials())


def masked(value: Any, exact: Collection[str] = (), name: str | None = None) -> Any:
    """A report value with every credential masked, in keys and values alike, whatever the field:
    what the detection engine finds (a key typed into a resource name, a secret name or a tag;
    a value under a credential-like key, ``name``) and each of the ``exact`` values (the
    credentials the offline preview made for the program, whatever the engine thinks of them).
    Shown as ``abcd…(32 chars)…ef`` in every format, since all of them render this document."""
    if isinstance(value, str):
        return redact(value, name=name, exact=exact)
    if isinstance(value, dict):
        return {
            masked(k, exact): masked(v, exact, k if isinstance(k, str) else None)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v, exact, name) for v in value]
    return value


def _flow(plan: Plan, grants: list[dict[str, Any]]) -> dict[str, Any]:
    """How each identity reaches the AI account: app -> identity -> (secret ->) account."""
    by_urn = plan.by_urn()
    principal_owners = {
        r.name: r for r in plan.resources if isinstance(r.outputs.get("identity"), dict)
    }
    accounts = _sorted_resources(plan.of_type(AI_ACCOUNT_TYPE))
    account_ids = {a.urn for a in accounts}
    nodes: dict[str, dict[str, str]] = {}
    edges: list[dict[str, str]] = []

    def node(key: str, kind: str, label: str) -> str:
        nodes.setdefault(key, {"id": key, "kind": kind, "label": label})
        return key

    def edge(source: str, target: str, label: str) -> None:
        # Two apps reading one secret share its node and its edge to the account.
        candidate = {"from": source, "to": target, "label": label}
        if candidate not in edges:
            edges.append(candidate)

    for a in accounts:
        node(a.urn, "aiAccount", f"AI account {a.name}")
    for g in grants:
        owner = principal_owners.get(g["principal"])
        if owner is None:
            continue  # a principal from outside the program (a deployer, a group) has no app node
        app = node(owner.urn, "app", f"{owner.type.rsplit(':', 1)[-1]} {owner.name}")
        identity = node(f"{owner.urn}#identity", "identity", f"managed identity of {owner.name}")
        edge(app, identity, "runs as")
        target_urn = g["scopeResource"]
        if target_urn in account_ids:
            edge(identity, target_urn, g["role"])
            continue
        is_secret_scope = scope_kind(str(g["scope"])) == "secret"
        kind = "secret" if is_secret_scope else "scope"
        label = _secret_label(str(g["scope"])) if is_secret_scope else g["scopeShort"]
        target = node(target_urn or f"scope:{g['scope']}", kind, label)
        edge(identity, target, g["role"])
        if is_secret_scope:
            for a in _accounts_behind(target_urn, accounts, by_urn):
                edge(target, a.urn, "holds the API key of")
    has_secret = any(n["kind"] == "secret" for n in nodes.values())
    has_keyless = any(
        e["to"] in account_ids and e["label"] == role_name(COGNITIVE_SERVICES_OPENAI_USER)
        for e in edges
    )
    _network_flow(plan, nodes, node, edge)
    modes = {(True, False): "keyVault", (False, True): "keyless", (True, True): "mixed"}
    mode = modes.get((has_secret, has_keyless), "none")
    return {"mode": mode, "nodes": list(nodes.values()), "edges": edges}


def _network_flow(
    plan: Plan,
    nodes: dict[str, dict[str, str]],
    node: Callable[[str, str, str], str],
    edge: Callable[[str, str, str], None],
) -> None:
    """The private network in the flow: VNet, the apps' way out, endpoints, their zones."""
    subnets = {r.urn: r for r in plan.of_type(SUBNET_TYPE)}
    endpoints = _sorted_resources(plan.of_type(ENDPOINT_TYPE))
    if not subnets and not endpoints:
        return
    by_urn = plan.by_urn()
    vnets = {r.urn: r for r in plan.of_type(VNET_TYPE)}
    spaces = {str(r.inputs.get("virtualNetworkName")): r for r in vnets.values()}

    def vnet(name: Any) -> str:
        created = spaces.get(str(name))
        prefixes = _path("addressSpace.addressPrefixes")(created.inputs) if created else None
        space = as_text(prefixes) if prefixes else "existing"
        return node(f"vnet:{name}", "network", f"VNet {name} ({space})")

    def named_by(
        resource: PlannedResource, prop: str, types: Iterable[str]
    ) -> PlannedResource | None:
        wanted = set(types)
        for urn in resource.property_dependencies.get(prop, ()):
            if urn in by_urn and by_urn[urn].type in wanted:
                return by_urn[urn]
        return None

    for site in _sorted_resources(plan.of_type(WEB_APP_TYPE)):
        subnet = named_by(site, "virtualNetworkSubnetId", [SUBNET_TYPE])
        if subnet is not None:
            app = node(site.urn, "app", f"{site.type.rsplit(':', 1)[-1]} {site.name}")
            into = vnet(subnet.inputs.get("virtualNetworkName"))
            edge(app, into, f"all outbound via subnet {subnet.inputs.get('subnetName')}")
    groups = plan.of_type(ZONE_GROUP_TYPE)
    for e in endpoints:
        kinds = _each("privateLinkServiceConnections", "groupIds")(e.inputs) or []
        sub_resources = ", ".join(g for each in kinds if isinstance(each, list) for g in each)
        point = node(e.urn, "endpoint", f"private endpoint {e.inputs.get('privateEndpointName')}")
        subnet = named_by(e, "subnet", [SUBNET_TYPE])
        if subnet is not None:
            edge(
                vnet(subnet.inputs.get("virtualNetworkName")),
                point,
                f"in subnet {subnet.inputs.get('subnetName')}",
            )
        target = named_by(
            e,
            "privateLinkServiceConnections",
            [AI_ACCOUNT_TYPE, VAULT_TYPE, WEB_APP_TYPE, STORAGE_TYPE],
        )
        if target is not None:
            kind = {
                AI_ACCOUNT_TYPE: "aiAccount",
                VAULT_TYPE: "vault",
                WEB_APP_TYPE: "app",
                STORAGE_TYPE: "storage",
            }[target.type]
            label = {
                AI_ACCOUNT_TYPE: f"AI account {target.name}",
                VAULT_TYPE: f"Key Vault {target.name}",
                WEB_APP_TYPE: f"{target.type.rsplit(':', 1)[-1]} {target.name}",
                STORAGE_TYPE: f"storage account {target.name}",
            }[target.type]
            edge(point, node(target.urn, kind, label), f"private link ({sub_resources})")
        for group in (g for g in groups if e.urn in g.dependencies):
            for zone in _zone_names(group, by_urn):
                edge(point, node(f"zone:{zone}", "zone", f"DNS zone {zone}"), "A record in")
    for link in _sorted_resources(plan.of_type(ZONE_LINK_TYPE)):
        zone = link.inputs.get("privateZoneName")
        to = named_by(link, "virtualNetwork", [VNET_TYPE])
        name = (
            to.inputs.get("virtualNetworkName")
            if to
            else _last_segment(_path("virtualNetwork.id")(link.inputs))
        )
        if zone and name:
            edge(node(f"zone:{zone}", "zone", f"DNS zone {zone}"), vnet(name), "linked to")
    # The secret a vault's endpoint guards: secret -> vault, named by the vault in its scope.
    vault_nodes = {
        by_urn[n["id"]].inputs.get("vaultName"): n["id"]
        for n in nodes.values()
        if n["kind"] == "vault"
    }
    for n in list(nodes.values()):
        found = re.search(r" in vault (\S+)$", n["label"]) if n["kind"] == "secret" else None
        if found and found[1] in vault_nodes:
            edge(n["id"], vault_nodes[found[1]], "kept in")


def _last_segment(value: Any) -> str | None:
    return (
        value.rstrip("/").rsplit("/", 1)[-1]
        if isinstance(value, str) and value != UNKNOWN
        else None
    )


def _zone_names(group: PlannedResource, by_urn: dict[str, PlannedResource]) -> list[str]:
    """The zones a zone group writes into: given by ID, or created in the program."""
    zones = []
    for urn in group.property_dependencies.get("privateDnsZoneConfigs", ()):
        zone = by_urn.get(urn)
        if zone is not None and zone.type == ZONE_TYPE and zone.inputs.get("privateZoneName"):
            zones.append(str(zone.inputs["privateZoneName"]))
    for config in _path("privateDnsZoneConfigs")(group.inputs) or []:
        name = _last_segment(config.get("privateDnsZoneId")) if isinstance(config, dict) else None
        if name and name not in zones:
            zones.append(name)
    return sorted(zones)


def _secret_label(scope: str) -> str:
    target = scope_target(scope)
    if isinstance(target, SecretRef):
        return f"secret {target.secret} in vault {target.vault}"
    return f"secret {short_scope(scope)}"


def _accounts_behind(
    secret_urn: str | None, accounts: list[PlannedResource], by_urn: dict[str, PlannedResource]
) -> list[PlannedResource]:
    """The AI accounts whose key a secret holds: the one account, or those the secret depends on."""
    if len(accounts) == 1:
        return accounts
    secret = by_urn.get(secret_urn or "")
    if secret is None:
        return []
    return [a for a in accounts if a.urn in secret.dependencies]


def render(plan: Plan, violations: list[Violation], fmt: str) -> str:
    """The report of ``plan`` and its policy ``violations`` in ``fmt`` (text, markdown or json)."""
    if fmt not in FORMATS:
        raise ValueError(f"report format {fmt!r} is not one of: {', '.join(FORMATS)}")
    document = report(plan, violations)
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return render_markdown(document)
    return render_text(document)


def _short_type(type_token: str) -> str:
    return type_token.removeprefix("azure-native:")


def _verdict_line(document: dict[str, Any]) -> str:
    counts = document["summary"]["violations"]
    return (
        f"Verdict: {document['verdict'].upper()} (mandatory violations: {counts['mandatory']}, "
        f"advisory: {counts['advisory']})"
    )


def resource_tree(document: dict[str, Any]) -> list[str]:
    """The planned resources as tree lines: type and name, shown properties, dependencies."""
    resources = document["resources"]
    names = {r["urn"]: r["name"] for r in resources}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for r in resources:
        children.setdefault(r["parent"], []).append(r)
    lines: list[str] = []

    def walk(r: dict[str, Any], prefix: str, last: bool, root: bool) -> None:
        connector = "" if root else ("└── " if last else "├── ")
        lines.append(f"{prefix}{connector}{_short_type(r['type'])} {r['name']}")
        below = prefix if root else prefix + ("    " if last else "│   ")
        kids = children.get(r["urn"], [])
        detail = below + ("│   " if kids else "    ")
        for label, value in r["properties"].items():
            lines.append(f"{detail}{label}: {as_text(value)}")
        if r["dependsOn"]:
            depends = ", ".join(sorted(names.get(u, name_of_urn(u)) for u in r["dependsOn"]))
            lines.append(f"{detail}depends on: {depends}")
        for i, kid in enumerate(kids):
            walk(kid, below, i == len(kids) - 1, False)

    for r in children.get(None, []):
        walk(r, "", True, True)
    return lines


def render_text(document: dict[str, Any]) -> str:
    """The report for a terminal."""
    out = [f"Preflight report: {document['project']} / {document['stack']}", ""]
    out.append(f"Planned resources ({document['summary']['resources']})")
    out.extend(resource_tree(document))
    out += ["", f"RBAC grants ({len(document['grants'])})"]
    for g in document["grants"]:
        out.append(f"  {g['principal']} -> {g['role']} -> {g['scopeShort']}")
    if not document["grants"]:
        out.append("  (none)")
    out += ["", f"Violations ({len(document['violations'])})"]
    for v in document["violations"]:
        out.append(f"  [{v['enforcement']}] {v['policy']} on {v['resource'] or 'the stack'}")
        out.append(f"      {v['message']}")
        if v["remediation"]:
            out.append(f"      remediation: {v['remediation']}")
    if not document["violations"]:
        out.append("  (none)")
    if document["outputs"]:
        out += ["", "Stack outputs"]
        out.extend(f"  {k}: {as_text(v)}" for k, v in document["outputs"].items())
    out += ["", _verdict_line(document)]
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (no HTML, no column breaks, one line)."""
    text = as_text(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _fence(lines: list[str]) -> str:
    """A code fence longer than any run of backticks in the block, so no value can close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


_MERMAID_SHAPES = {
    "network": ('[["', '"]]'),
    "endpoint": ('(("', '"))'),
    "zone": ('[\\"', '"\\]'),
    "vault": ('[/"', '"/]'),
    "app": ('["', '"]'),
    "identity": ('(["', '"])'),
    "secret": ('[("', '")]'),
    "aiAccount": ('{{"', '"}}'),
    "storage": ('[("', '")]'),
    "scope": ('["', '"]'),
}


def _mermaid_label(text: str) -> str:
    # Mermaid reads entity codes inside quoted labels; a raw quote would end the label.
    for raw, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, code)
    return text


def mermaid(flow: dict[str, Any]) -> str:
    """The access flow as a Mermaid flowchart: nodes declared first, then labelled edges."""
    ids = {n["id"]: f"n{i}" for i, n in enumerate(flow["nodes"])}
    lines = ["flowchart LR"]
    for n in flow["nodes"]:
        opening, closing = _MERMAID_SHAPES[n["kind"]]
        lines.append(f"    {ids[n['id']]}{opening}{_mermaid_label(n['label'])}{closing}")
    for e in flow["edges"]:
        lines.append(f'    {ids[e["from"]]} -->|"{_mermaid_label(e["label"])}"| {ids[e["to"]]}')
    return "\n".join(lines)


_MODE_TEXT = {
    "keyVault": "API key read from Key Vault by the app's managed identity",
    "keyless": "keyless: Entra token of the app's managed identity, local auth disabled",
    "mixed": "both Key Vault-held keys and keyless access",
    "none": "no app identity reaches an AI account",
}


def render_markdown(document: dict[str, Any]) -> str:
    """The report as a GitHub PR comment, starting with the stack's marker."""
    summary = document["summary"]
    counts = summary["violations"]
    verdict = "✅ PASS" if document["verdict"] == "pass" else "❌ FAIL"
    out = [
        marker(document["stack"]),
        f"## Preflight: `{document['project']}` / `{document['stack']}`",
        "",
        f"**Policy verdict: {verdict}** · mandatory violations: {counts['mandatory']} · "
        f"advisory: {counts['advisory']} · resources: {summary['resources']} · "
        f"RBAC grants: {summary['grants']}",
        "",
        "| Resource type | Count |",
        "|---|---:|",
    ]
    out.extend(f"| `{t}` | {n} |" for t, n in summary["byType"].items())
    tree = resource_tree(document)
    fence = _fence(tree)
    out += ["", "### Resources", "", "<details><summary>Resource tree</summary>", ""]
    out += [f"{fence}text", *tree, fence, "", "</details>", "", "### RBAC grants", ""]
    if document["grants"]:
        out += ["| Principal | Role | Scope |", "|---|---|---|"]
        out.extend(
            f"| {_cell(g['principal'])} | {_cell(g['role'])} | {_cell(g['scopeShort'])} |"
            for g in document["grants"]
        )
    else:
        out.append("No role assignments planned.")
    out += ["", "### Policy violations", ""]
    if document["violations"]:
        out += [
            "| Policy | Enforcement | Resource | Finding | Remediation |",
            "|---|---|---|---|---|",
        ]
        out.extend(
            f"| `{_cell(v['policy'])}` | {_cell(v['enforcement'])} | "
            f"{_cell(v['resource'] or 'the stack')} | {_cell(v['message'])} | "
            f"{_cell(v['remediation'] or '')} |"
            for v in document["violations"]
        )
    else:
        out.append("None: every policy passes.")
    flow = document["flow"]
    out += ["", "### Access flow", "", f"Mode: {_MODE_TEXT[flow['mode']]}.", ""]
    if flow["nodes"]:
        out += ["```mermaid", mermaid(flow), "```"]
    if document["outputs"]:
        out += ["", "### Stack outputs", "", "| Output | Value |", "|---|---|"]
        out.extend(f"| `{_cell(k)}` | {_cell(v)} |" for k, v in document["outputs"].items())
    out += ["", _verdict_line(document)]
    return "\n".join(out) + "\n"
