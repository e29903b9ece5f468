"""The prod stack (networkMode: private) under Pulumi mocks: network inventory, properties, order.

The harness answers a preview the way azure-native does (preflight/harness.py): an ID that Azure
assigns (a subnet's, a zone's) is unknown until apply, so where one resource uses another's ID the
tests assert the property dependency the engine records, which is what orders the deployment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.harness import PREVIEW_SUBSCRIPTION, load_stack_config, run_program
from preflight.model import UNKNOWN, Plan, PlannedResource

ROOT = Path(__file__).resolve().parents[2]
PROD_CONFIG = load_stack_config(ROOT / "Pulumi.prod.yaml")
RG = f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/sai-prod-rg"
ACCOUNT_ID = f"{RG}/providers/Microsoft.CognitiveServices/accounts/sai-prod-ai-4dc9b1"
VAULT_ID = f"{RG}/providers/Microsoft.KeyVault/vaults/sai-prod-kv-4dc9b1"
STORAGE_ID = f"{RG}/providers/Microsoft.Storage/storageAccounts/saiprodrot4dc9b1"
ZONES = (
    "privatelink.openai.azure.com",
    "privatelink.vaultcore.azure.net",
    "privatelink.blob.core.windows.net",
    "privatelink.queue.core.windows.net",
)
HUB = (
    f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/hub-network/providers/Microsoft.Network"
)

NETWORK_TYPES = {
    "azure-native:network:VirtualNetwork",
    "azure-native:network:Subnet",
    "azure-native:network:PrivateEndpoint",
    "azure-native:network:PrivateDnsZoneGroup",
    "azure-native:privatedns:PrivateZone",
    "azure-native:privatedns:VirtualNetworkLink",
}


def plan_with(**overrides: object) -> Plan:
    config = {**PROD_CONFIG, **{f"secure-azure-ai:{k}": v for k, v in overrides.items()}}
    for key in [k for k, v in config.items() if v is None]:
        del config[key]
    return run_program(ROOT, config, stack="prod")


@pytest.fixture(scope="module")
def prod() -> Plan:
    return run_program(ROOT, PROD_CONFIG, stack="prod")


def named(plan: Plan, name: str) -> PlannedResource:
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def network_inventory(plan: Plan) -> list[tuple[str, str]]:
    return sorted((r.type, r.name) for r in plan.resources if r.type in NETWORK_TYPES)


def depends(resource: PlannedResource, prop: str) -> set[str]:
    """Names of the resources a property of ``resource`` was computed from."""
    return {u.rsplit("::", 1)[-1] for u in resource.property_dependencies.get(prop, ())}


def test_prod_network_inventory_is_exactly_vnet_subnets_zones_links_endpoints(prod):
    assert network_inventory(prod) == sorted(
        [
            ("azure-native:network:VirtualNetwork", "secure-ai-network-vnet"),
            ("azure-native:network:Subnet", "secure-ai-network-private-endpoints"),
            ("azure-native:network:Subnet", "secure-ai-network-app-service"),
            ("azure-native:network:Subnet", "secure-ai-network-functions"),
            (
                "azure-native:privatedns:PrivateZone",
                "secure-ai-network-zone-privatelink-openai-azure-com",
            ),
            (
                "azure-native:privatedns:PrivateZone",
                "secure-ai-network-zone-privatelink-vaultcore-azure-net",
            ),
            (
                "azure-native:privatedns:VirtualNetworkLink",
                "secure-ai-network-link-privatelink-openai-azure-com",
            ),
            (
                "azure-native:privatedns:VirtualNetworkLink",
                "secure-ai-network-link-privatelink-vaultcore-azure-net",
            ),
            ("azure-native:network:PrivateEndpoint", "secure-ai-ai-private-endpoint"),
            ("azure-native:network:PrivateEndpoint", "secure-ai-kv-private-endpoint"),
            ("azure-native:network:PrivateDnsZoneGroup", "secure-ai-ai-private-dns"),
            ("azure-native:network:PrivateDnsZoneGroup", "secure-ai-kv-private-dns"),
            # The rotation's storage account: blob and queue, each with its zone and link.
            (
                "azure-native:privatedns:PrivateZone",
                "secure-ai-network-zone-privatelink-blob-core-windows-net",
            ),
            (
                "azure-native:privatedns:PrivateZone",
                "secure-ai-network-zone-privatelink-queue-core-windows-net",
            ),
            (
                "azure-native:privatedns:VirtualNetworkLink",
                "secure-ai-network-link-privatelink-blob-core-windows-net",
            ),
            (
                "azure-native:privatedns:VirtualNetworkLink",
                "secure-ai-network-link-privatelink-queue-core-windows-net",
            ),
            (
                "azure-native:network:PrivateEndpoint",
                "secure-ai-rotation-storage-blob-private-endpoint",
            ),
            (
                "azure-native:network:PrivateEndpoint",
                "secure-ai-rotation-storage-queue-private-endpoint",
            ),
            (
                "azure-native:network:PrivateDnsZoneGroup",
                "secure-ai-rotation-storage-blob-private-dns",
            ),
            (
                "azure-native:network:PrivateDnsZoneGroup",
                "secure-ai-rotation-storage-queue-private-dns",
            ),
        ]
    )
    components = sorted(
        r.name
        for r in prod.resources
        if r.type
        in ("secure-azure-ai:index:PrivateNetwork", "secure-azure-ai:index:ServicePrivateEndpoint")
    )
    assert components == [
        "secure-ai-ai-private",
        "secure-ai-kv-private",
        "secure-ai-network",
        "secure-ai-rotation-storage-blob-private",
        "secure-ai-rotation-storage-queue-private",
    ]


def test_vnet_and_subnets_hold_exactly_the_configured_ranges_and_delegations(prod):
    vnet = named(prod, "secure-ai-network-vnet").inputs
    assert (vnet["virtualNetworkName"], vnet["addressSpace"], vnet["location"]) == (
        "sai-prod-vnet",
        {"addressPrefixes": ["10.60.0.0/22"]},
        "swedencentral",
    )
    subnets = {
        r.inputs["subnetName"]: (
            r.inputs["virtualNetworkName"],
            r.inputs["resourceGroupName"],
            r.inputs["addressPrefix"],
            [d["serviceName"] for d in r.inputs["delegations"]],
        )
        for r in prod.of_type("azure-native:network:Subnet")
    }
    assert subnets == {
        "private-endpoints": ("sai-prod-vnet", "sai-prod-rg", "10.60.0.0/26", []),
        "app-service": (
            "sai-prod-vnet",
            "sai-prod-rg",
            "10.60.1.0/26",
            ["Microsoft.Web/serverFarms"],
        ),
        "functions": (
            "sai-prod-vnet",
            "sai-prod-rg",
            "10.60.2.0/26",
            ["Microsoft.App/environments"],
        ),
    }


def test_subnets_are_written_one_after_another_after_the_vnet(prod):
    """Azure refuses concurrent writes to one VNet's subnets (AnotherOperationInProgress)."""
    order = {
        name: {u.rsplit("::", 1)[-1] for u in named(prod, name).dependencies}
        for name in (
            "secure-ai-network-private-endpoints",
            "secure-ai-network-app-service",
            "secure-ai-network-functions",
        )
    }
    assert "secure-ai-network-vnet" in order["secure-ai-network-private-endpoints"]
    assert "secure-ai-network-private-endpoints" in order["secure-ai-network-app-service"]
    assert "secure-ai-network-app-service" in order["secure-ai-network-functions"]


def test_every_zone_is_global_and_linked_to_the_vnet_without_auto_registration(prod):
    zones = {
        r.inputs["privateZoneName"]: r.inputs["location"]
        for r in prod.of_type("azure-native:privatedns:PrivateZone")
    }
    assert zones == dict.fromkeys(ZONES, "global")
    links = {
        r.inputs["privateZoneName"]: (
            r.inputs["virtualNetworkLinkName"],
            r.inputs["location"],
            r.inputs["registrationEnabled"],
            depends(r, "virtualNetwork"),
        )
        for r in prod.of_type("azure-native:privatedns:VirtualNetworkLink")
    }
    assert links == {
        zone: ("sai-prod-vnet-link", "global", False, {"secure-ai-network-vnet"}) for zone in ZONES
    }


def test_endpoints_connect_account_vault_and_rotation_storage_from_the_endpoint_subnet(prod):
    endpoints = {
        r.inputs["privateEndpointName"]: (
            r.inputs["privateLinkServiceConnections"],
            depends(r, "subnet"),
            r.inputs["location"],
        )
        for r in prod.of_type("azure-native:network:PrivateEndpoint")
    }
    assert endpoints == {
        "sai-prod-ai-4dc9b1-pe": (
            [
                {
                    "name": "sai-prod-ai-4dc9b1-pe",
                    "privateLinkServiceId": ACCOUNT_ID,
                    "groupIds": ["account"],
                }
            ],
            {"secure-ai-network-private-endpoints"},
            "swedencentral",
        ),
        "sai-prod-kv-4dc9b1-pe": (
            [
                {
                    "name": "sai-prod-kv-4dc9b1-pe",
                    "privateLinkServiceId": VAULT_ID,
                    "groupIds": ["vault"],
                }
            ],
            {"secure-ai-network-private-endpoints"},
            "swedencentral",
        ),
        **{
            f"saiprodrot4dc9b1-{group}-pe": (
                [
                    {
                        "name": f"saiprodrot4dc9b1-{group}-pe",
                        "privateLinkServiceId": STORAGE_ID,
                        "groupIds": [group],
                    }
                ],
                {"secure-ai-network-private-endpoints"},
                "swedencentral",
            )
            for group in ("blob", "queue")
        },
    }


def test_each_endpoint_has_a_zone_group_writing_into_its_zones(prod):
    groups = {
        r.inputs["privateEndpointName"]: (
            r.inputs["privateDnsZoneGroupName"],
            [c["name"] for c in r.inputs["privateDnsZoneConfigs"]],
            depends(r, "privateDnsZoneConfigs"),
        )
        for r in prod.of_type("azure-native:network:PrivateDnsZoneGroup")
    }
    assert groups == {
        "sai-prod-ai-4dc9b1-pe": (
            "default",
            ["privatelink-openai-azure-com"],
            {"secure-ai-network-zone-privatelink-openai-azure-com"},
        ),
        "sai-prod-kv-4dc9b1-pe": (
            "default",
            ["privatelink-vaultcore-azure-net"],
            {"secure-ai-network-zone-privatelink-vaultcore-azure-net"},
        ),
        "saiprodrot4dc9b1-blob-pe": (
            "default",
            ["privatelink-blob-core-windows-net"],
            {"secure-ai-network-zone-privatelink-blob-core-windows-net"},
        ),
        "saiprodrot4dc9b1-queue-pe": (
            "default",
            ["privatelink-queue-core-windows-net"],
            {"secure-ai-network-zone-privatelink-queue-core-windows-net"},
        ),
    }


def test_account_and_vault_take_no_public_traffic(prod):
    account = prod.of_type("azure-native:cognitiveservices:Account")[0].inputs["properties"]
    vault = prod.of_type("azure-native:keyvault:Vault")[0].inputs["properties"]
    assert (account["publicNetworkAccess"], account["networkAcls"]) == (
        "Disabled",
        {"defaultAction": "Deny", "ipRules": []},
    )
    assert (vault["publicNetworkAccess"], vault["networkAcls"]) == (
        "Disabled",
        {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": []},
    )


def test_the_rotation_storage_admits_only_trusted_services_on_its_public_endpoint(prod):
    """Event Grid dead-letters over the public endpoint as a trusted service, never through a
    private endpoint (learn.microsoft.com/azure/event-grid/managed-service-identity, "Private
    endpoints"); it gets in only while the account is Enabled with the trusted-services bypass
    (/azure/event-grid/handler-storage-queues). Everything else is denied: no IP or subnet rule,
    and no shared key."""
    (account,) = prod.of_type("azure-native:storage:StorageAccount")
    inputs = account.inputs
    assert (
        inputs["publicNetworkAccess"],
        inputs["networkRuleSet"],
        inputs["allowSharedKeyAccess"],
        inputs["allowBlobPublicAccess"],
    ) == (
        "Enabled",
        {
            "bypass": "AzureServices",
            "defaultAction": "Deny",
            "ipRules": [],
            "virtualNetworkRules": [],
        },
        False,
        False,
    )


def test_the_rotation_app_starts_and_deploys_only_once_its_storage_resolves_privately(prod):
    """The Flex host reads its blobs and queue on first start, and OneDeploy has the platform write
    the package into the deployment container: the endpoints, zone groups and links come first;
    the code deployment and the event subscription wait for the app."""
    site = named(prod, "secure-ai-rotation-site")
    direct = {u.rsplit("::", 1)[-1] for u in site.dependencies}
    assert {
        "secure-ai-rotation-storage-blob-private-dns",
        "secure-ai-rotation-storage-queue-private-dns",
        "secure-ai-network-link-privatelink-blob-core-windows-net",
        "secure-ai-network-link-privatelink-queue-core-windows-net",
    } <= direct
    code = named(prod, "secure-ai-rotation-code")
    assert site.urn in code.dependencies
    subscription = named(prod, "secure-ai-rotation-near-expiry")
    assert code.urn in subscription.dependencies
    for group in ("blob", "queue"):
        endpoint = named(prod, f"secure-ai-rotation-storage-{group}-private-endpoint")
        assert depends(endpoint, "privateLinkServiceConnections") == {"secure-ai-rotation-storage"}
        zone_group = named(prod, f"secure-ai-rotation-storage-{group}-private-dns")
        assert endpoint.urn in zone_group.dependencies


def test_every_app_and_the_rotation_app_route_all_outbound_through_their_subnet(prod):
    sites = {
        r.inputs["name"]: (
            depends(r, "virtualNetworkSubnetId"),
            r.inputs["outboundVnetRouting"],
            r.inputs.get("publicNetworkAccess"),
        )
        for r in prod.of_type("azure-native:web:WebApp")
    }
    assert sites == {
        "sai-prod-web-4dc9b1": (
            {"secure-ai-network-app-service"},
            {"applicationTraffic": True},
            None,
        ),
        "sai-prod-api-4dc9b1": (
            {"secure-ai-network-app-service"},
            {"applicationTraffic": True},
            None,
        ),
        "sai-prod-rot-4dc9b1": ({"secure-ai-network-functions"}, {"allTraffic": True}, None),
    }


def test_apps_resolve_references_only_after_endpoints_zone_groups_and_links_exist(prod):
    """App Service resolves Key Vault references on first start: the private path must exist."""
    needed = {
        "secure-ai-ai-private-dns",
        "secure-ai-kv-private-dns",
        "secure-ai-network-link-privatelink-openai-azure-com",
        "secure-ai-network-link-privatelink-vaultcore-azure-net",
    }
    for settings in prod.of_type("azure-native:web:WebAppApplicationSettings"):
        direct = {u.rsplit("::", 1)[-1] for u in settings.dependencies}
        assert needed <= direct, settings.name
    groups = {r.name: r for r in prod.of_type("azure-native:network:PrivateDnsZoneGroup")}
    for group in groups.values():
        endpoint = group.inputs["privateEndpointName"]
        (owner,) = [
            r
            for r in prod.of_type("azure-native:network:PrivateEndpoint")
            if r.inputs["privateEndpointName"] == endpoint
        ]
        assert owner.urn in group.dependencies


def test_the_key_is_written_only_once_the_vault_resolves_privately(prod):
    secret = prod.of_type("pulumi-python:dynamic:Resource")
    (key,) = [r for r in secret if r.name == "secure-ai-api-key"]
    direct = {u.rsplit("::", 1)[-1] for u in key.dependencies}
    assert {
        "secure-ai-kv-private-dns",
        "secure-ai-network-link-privatelink-openai-azure-com",
        "secure-ai-network-link-privatelink-vaultcore-azure-net",
    } <= direct


def test_the_vnet_id_is_a_stack_output(prod):
    vnet = named(prod, "secure-ai-network-vnet")
    assert prod.outputs["virtualNetworkId"] == (vnet.id or UNKNOWN)
    assert prod.outputs["virtualNetworkId"] in (
        UNKNOWN,
        f"{RG}/providers/Microsoft.Network/virtualNetworks/sai-prod-vnet",
    )


def test_an_existing_vnet_gets_only_subnets_in_its_own_resource_group():
    vnet_id = f"{HUB}/virtualNetworks/spoke-ai"
    plan = plan_with(
        vnetAddressSpace=None,
        virtualNetworkId=vnet_id,
        subnetPrefixes={
            "privateEndpoints": "10.8.4.0/27",
            "appService": "10.8.5.0/26",
            "functions": "10.8.6.0/26",
        },
    )
    assert plan.of_type("azure-native:network:VirtualNetwork") == []
    subnets = {
        r.inputs["subnetName"]: (
            r.inputs["virtualNetworkName"],
            r.inputs["resourceGroupName"],
            r.inputs["addressPrefix"],
        )
        for r in plan.of_type("azure-native:network:Subnet")
    }
    assert subnets == {
        "private-endpoints": ("spoke-ai", "hub-network", "10.8.4.0/27"),
        "app-service": ("spoke-ai", "hub-network", "10.8.5.0/26"),
        "functions": ("spoke-ai", "hub-network", "10.8.6.0/26"),
    }
    links = plan.of_type("azure-native:privatedns:VirtualNetworkLink")
    assert [
        (link.inputs["virtualNetworkLinkName"], link.inputs["virtualNetwork"]) for link in links
    ] == [("spoke-ai-link", {"id": vnet_id})] * 4
    assert plan.outputs["virtualNetworkId"] == vnet_id


def test_existing_hub_zones_are_used_as_given_and_get_no_zone_or_link_from_the_stack():
    openai, vault, blob, queue = (f"{HUB}/privateDnsZones/{zone}" for zone in ZONES)
    plan = plan_with(privateDnsZoneIds=[openai, vault, blob, queue])
    assert plan.of_type("azure-native:privatedns:PrivateZone") == []
    assert plan.of_type("azure-native:privatedns:VirtualNetworkLink") == []
    groups = {
        r.inputs["privateEndpointName"]: r.inputs["privateDnsZoneConfigs"]
        for r in plan.of_type("azure-native:network:PrivateDnsZoneGroup")
    }
    assert groups == {
        "sai-prod-ai-4dc9b1-pe": [
            {"name": "privatelink-openai-azure-com", "privateDnsZoneId": openai}
        ],
        "sai-prod-kv-4dc9b1-pe": [
            {"name": "privatelink-vaultcore-azure-net", "privateDnsZoneId": vault}
        ],
        "saiprodrot4dc9b1-blob-pe": [
            {"name": "privatelink-blob-core-windows-net", "privateDnsZoneId": blob}
        ],
        "saiprodrot4dc9b1-queue-pe": [
            {"name": "privatelink-queue-core-windows-net", "privateDnsZoneId": queue}
        ],
    }


def test_hub_zones_for_the_account_and_vault_only_leave_the_storage_zones_to_the_stack():
    openai, vault = (f"{HUB}/privateDnsZones/{zone}" for zone in ZONES[:2])
    plan = plan_with(privateDnsZoneIds=[openai, vault])
    assert sorted(
        r.inputs["privateZoneName"] for r in plan.of_type("azure-native:privatedns:PrivateZone")
    ) == ["privatelink.blob.core.windows.net", "privatelink.queue.core.windows.net"]
    assert sorted(
        r.inputs["privateZoneName"]
        for r in plan.of_type("azure-native:privatedns:VirtualNetworkLink")
    ) == ["privatelink.blob.core.windows.net", "privatelink.queue.core.windows.net"]


def test_an_ai_services_account_registers_in_its_three_zones():
    plan = plan_with(aiKind="AIServices")
    (group,) = [
        r
        for r in plan.of_type("azure-native:network:PrivateDnsZoneGroup")
        if r.inputs["privateEndpointName"] == "sai-prod-ai-4dc9b1-pe"
    ]
    assert [c["name"] for c in group.inputs["privateDnsZoneConfigs"]] == [
        "privatelink-cognitiveservices-azure-com",
        "privatelink-openai-azure-com",
        "privatelink-services-ai-azure-com",
    ]


def test_private_inbound_gives_each_app_an_endpoint_and_closes_its_public_door():
    plan = plan_with(privateInbound=True)
    endpoints = {
        r.inputs["privateEndpointName"]: r.inputs["privateLinkServiceConnections"][0]["groupIds"]
        for r in plan.of_type("azure-native:network:PrivateEndpoint")
    }
    assert endpoints == {
        "sai-prod-ai-4dc9b1-pe": ["account"],
        "sai-prod-kv-4dc9b1-pe": ["vault"],
        "sai-prod-web-4dc9b1-pe": ["sites"],
        "sai-prod-api-4dc9b1-pe": ["sites"],
        "saiprodrot4dc9b1-blob-pe": ["blob"],
        "saiprodrot4dc9b1-queue-pe": ["queue"],
    }
    public = {
        r.inputs["name"]: r.inputs.get("publicNetworkAccess")
        for r in plan.of_type("azure-native:web:WebApp")
    }
    assert public == {
        "sai-prod-web-4dc9b1": "Disabled",
        "sai-prod-api-4dc9b1": "Disabled",
        "sai-prod-rot-4dc9b1": None,
    }
    zones = sorted(
        r.inputs["privateZoneName"] for r in plan.of_type("azure-native:privatedns:PrivateZone")
    )
    assert zones == [
        "privatelink.azurewebsites.net",
        "privatelink.blob.core.windows.net",
        "privatelink.openai.azure.com",
        "privatelink.queue.core.windows.net",
        "privatelink.vaultcore.azure.net",
    ]


def test_a_keyless_private_stack_has_no_vault_endpoint_or_zone():
    plan = plan_with(authMode="keyless", hostedRotation=None)
    assert sorted(
        r.inputs["privateEndpointName"]
        for r in plan.of_type("azure-native:network:PrivateEndpoint")
    ) == ["sai-prod-ai-4dc9b1-pe"]
    assert [
        r.inputs["privateZoneName"] for r in plan.of_type("azure-native:privatedns:PrivateZone")
    ] == ["privatelink.openai.azure.com"]
    assert sorted(r.inputs["subnetName"] for r in plan.of_type("azure-native:network:Subnet")) == [
        "app-service",
        "private-endpoints",
    ]


def test_the_dev_stack_declares_no_network_at_all():
    dev = run_program(ROOT, load_stack_config(ROOT / "Pulumi.dev.yaml"))
    assert network_inventory(dev) == []
    for site in dev.of_type("azure-native:web:WebApp"):
        assert "virtualNetworkSubnetId" not in site.inputs
        assert "outboundVnetRouting" not in site.inputs
    (storage,) = dev.of_type("azure-native:storage:StorageAccount")
    assert not {"publicNetworkAccess", "networkRuleSet"} & set(storage.inputs)


def test_public_access_disabled_in_a_public_stack_also_denies_by_default():
    """Whenever the public endpoint is off, the ACLs deny too: re-enabling it admits no one."""
    dev_config = load_stack_config(ROOT / "Pulumi.dev.yaml")
    plan = run_program(ROOT, {**dev_config, "secure-azure-ai:publicNetworkAccess": "Disabled"})
    account = plan.of_type("azure-native:cognitiveservices:Account")[0].inputs["properties"]
    vault = plan.of_type("azure-native:keyvault:Vault")[0].inputs["properties"]
    assert account["networkAcls"] == {"defaultAction": "Deny", "ipRules": []}
    assert vault["networkAcls"] == {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
        "ipRules": [],
    }
    assert network_inventory(plan) == []
