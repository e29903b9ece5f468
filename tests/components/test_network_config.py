"""Private network config: defaults, and one line per bad value naming the key and the rule."""

from __future__ import annotations

import json

import pytest

from components.config import ConfigError, NetworkConfig, load

SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
NS = "secure-azure-ai:"
HUB = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/hub-network/providers/Microsoft.Network"
BASE = {
    "azure-native:location": "swedencentral",
    f"{NS}deployments": json.dumps(
        [{"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 10}]
    ),
}


def private(**values: object) -> dict[str, str]:
    raw = {**BASE, f"{NS}networkMode": "private"}
    for key, value in values.items():
        raw[f"{NS}{key}"] = value if isinstance(value, str) else json.dumps(value)
    return raw


def problems(raw: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(raw, "prod", SUBSCRIPTION)
    return caught.value.problems


def test_one_value_makes_the_stack_private_with_its_own_vnet():
    config = load(private(), "prod", SUBSCRIPTION)
    assert config.network == NetworkConfig(
        address_space="10.60.0.0/22",
        virtual_network_id=None,
        private_endpoint_prefix="10.60.0.0/26",
        app_service_prefix="10.60.1.0/26",
        functions_prefix="10.60.2.0/26",
        dns_zone_ids={},
        private_inbound=False,
    )
    assert config.public_network_access == "Disabled"
    assert config.names.virtual_network == "sai-prod-vnet"


def test_public_is_the_default_and_has_no_network():
    config = load(BASE, "prod", SUBSCRIPTION)
    assert (config.network, config.public_network_access) == (None, "Enabled")


def test_existing_vnet_and_hub_zones_are_taken_as_given():
    zone = f"{HUB}/privateDnsZones/privatelink.vaultcore.azure.net"
    config = load(
        private(
            virtualNetworkId=f"{HUB}/virtualNetworks/spoke",
            subnetPrefixes={
                "privateEndpoints": "10.8.4.0/27",
                "appService": "10.8.5.0/26",
                "functions": "10.8.6.0/26",
            },
            privateDnsZoneIds=[zone],
        ),
        "prod",
        SUBSCRIPTION,
    )
    assert config.network is not None
    assert (config.network.address_space, config.network.virtual_network_id) == (
        None,
        f"{HUB}/virtualNetworks/spoke",
    )
    assert config.network.dns_zone_ids == {"privatelink.vaultcore.azure.net": zone}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"vnetAddressSpace": "10.60.0.300/22"},
            "config secure-azure-ai:vnetAddressSpace: '10.60.0.300/22' is not an IPv4 CIDR range "
            "like '10.60.0.0/22'",
        ),
        (
            {"vnetAddressSpace": "10.60.0.0"},
            "config secure-azure-ai:vnetAddressSpace: '10.60.0.0' is not an IPv4 CIDR range like "
            "'10.60.0.0/22'",
        ),
        (
            {"vnetAddressSpace": "fd00::/48"},
            "config secure-azure-ai:vnetAddressSpace: 'fd00::/48' is not an IPv4 CIDR range like "
            "'10.60.0.0/22'",
        ),
        (
            {"vnetAddressSpace": "10.60.1.0/22"},
            "config secure-azure-ai:vnetAddressSpace: '10.60.1.0/22' has host bits set; the range "
            "is '10.60.0.0/22'",
        ),
        (
            {"subnetPrefixes": {"appService": "10.60.1.0/29"}},
            "config secure-azure-ai:subnetPrefixes.appService: '10.60.1.0/29' is too small; the "
            "rule is /28 or larger",
        ),
        (
            {"subnetPrefixes": {"privateEndpoints": "10.60.0.0/30"}},
            "config secure-azure-ai:subnetPrefixes.privateEndpoints: '10.60.0.0/30' is too small; "
            "the rule is /29 or larger",
        ),
        (
            {"subnetPrefixes": {"functions": "10.61.2.0/26"}},
            "config secure-azure-ai:subnetPrefixes.functions: '10.61.2.0/26' is outside "
            "secure-azure-ai:vnetAddressSpace '10.60.0.0/22'; the rule is: every subnet inside "
            "the virtual network's address space",
        ),
        (
            {"subnetPrefixes": {"appService": "10.60.0.0/25"}},
            "config secure-azure-ai:subnetPrefixes.appService: '10.60.0.0/25' overlaps "
            "privateEndpoints '10.60.0.0/26'; the rule is: subnets do not overlap",
        ),
        (
            {"subnetPrefixes": {"function": "10.60.2.0/26"}},
            "config secure-azure-ai:subnetPrefixes: unknown field 'function' (did you mean "
            "'functions'?); the fields are privateEndpoints, appService, functions",
        ),
        (
            {"subnetPrefixes": "10.60.0.0/26"},
            "config secure-azure-ai:subnetPrefixes: '10.60.0.0/26' is not an object with fields "
            "privateEndpoints, appService, functions",
        ),
        (
            {"virtualNetworkId": f"{HUB}/networkSecurityGroups/spoke"},
            "config secure-azure-ai:virtualNetworkId: '/subscriptions/00000000-0000-4000-8000-"
            "000000000001/resou...' is not the resource ID of a virtual network: must be "
            "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/"
            "Microsoft.Network/virtualNetworks/<name>",
        ),
        (
            {"virtualNetworkId": "spoke-vnet"},
            "config secure-azure-ai:virtualNetworkId: 'spoke-vnet' is not the resource ID of a "
            "virtual network: must be /subscriptions/<subscription GUID>/resourceGroups/<group>/"
            "providers/Microsoft.Network/virtualNetworks/<name>",
        ),
        (
            {"privateDnsZoneIds": [f"{HUB}/privateDnsZones/contoso.com"]},
            "config secure-azure-ai:privateDnsZoneIds: item 0: zone 'contoso.com' is not one this "
            "stack uses; the zones are privatelink.openai.azure.com, "
            "privatelink.cognitiveservices.azure.com, privatelink.services.ai.azure.com, "
            "privatelink.vaultcore.azure.net, privatelink.azurewebsites.net, "
            "privatelink.blob.core.windows.net, privatelink.queue.core.windows.net",
        ),
        (
            {"privateDnsZoneIds": [f"{HUB}/dnsZones/privatelink.openai.azure.com"]},
            "config secure-azure-ai:privateDnsZoneIds: item 0: '/subscriptions/00000000-0000-"
            "4000-8000-000000000001/resou...' is not the resource ID of a private DNS zone: must "
            "be /subscriptions/<subscription GUID>/resourceGroups/<group>/providers/"
            "Microsoft.Network/privateDnsZones/<name>",
        ),
        (
            {
                "privateDnsZoneIds": [
                    f"{HUB}/privateDnsZones/privatelink.openai.azure.com",
                    f"{HUB}/privateDnsZones/PrivateLink.OpenAI.Azure.com",
                ]
            },
            "config secure-azure-ai:privateDnsZoneIds: item 1: zone 'privatelink.openai.azure.com' "
            "is a duplicate; give each zone once",
        ),
        (
            {"allowedIpRanges": ["198.51.100.0/24"]},
            "config secure-azure-ai:allowedIpRanges: set while secure-azure-ai:networkMode is "
            "private; the rule is: a private stack takes no public callers (reach it through the "
            "virtual network)",
        ),
        (
            {"publicNetworkAccess": "Enabled"},
            "config secure-azure-ai:publicNetworkAccess: 'Enabled' while "
            "secure-azure-ai:networkMode is private; the rule is: a private stack disables public "
            "network access (remove the key)",
        ),
    ],
)
def test_a_bad_network_value_is_one_line_naming_the_key_and_the_rule(values, expected):
    assert problems(private(**values)) == [expected]


def test_the_endpoint_subnet_must_hold_an_endpoint_per_service_and_per_private_app():
    # A /29 keeps 3 addresses once Azure takes its 5: account + vault + two private apps is 4.
    raw = private(
        subnetPrefixes={"privateEndpoints": "10.60.0.0/29"},
        privateInbound=True,
        apps=[{"name": "web"}, {"name": "api"}],
        hostedRotation=False,
    )
    assert problems(raw) == [
        "config secure-azure-ai:subnetPrefixes.privateEndpoints: '10.60.0.0/29' holds 3 "
        "endpoints; the rule is room for 4 (account, vault, the rotation storage's blob and "
        "queue, and each app with privateInbound)"
    ]


def test_the_endpoint_subnet_holds_the_rotation_storage_endpoints_when_it_runs_in_azure():
    # A /29 keeps 3 addresses: account + vault fit, account + vault + blob + queue do not.
    small = {"subnetPrefixes": {"privateEndpoints": "10.60.0.0/29"}}
    assert load(private(**small, hostedRotation=False), "prod", SUBSCRIPTION).network
    assert problems(private(**small, hostedRotation=True)) == [
        "config secure-azure-ai:subnetPrefixes.privateEndpoints: '10.60.0.0/29' holds 3 "
        "endpoints; the rule is room for 4 (account, vault, the rotation storage's blob and "
        "queue, and each app with privateInbound)"
    ]


def test_the_functions_subnet_is_checked_only_when_the_rotation_runs_in_azure():
    bad_functions = {"subnetPrefixes": {"functions": "10.60.2.0/30"}}
    assert problems(private(**bad_functions, hostedRotation=True)) == [
        "config secure-azure-ai:subnetPrefixes.functions: '10.60.2.0/30' is too small; the rule "
        "is /28 or larger"
    ]
    assert load(private(**bad_functions, hostedRotation=False), "prod", SUBSCRIPTION).network


def test_an_existing_vnet_needs_every_prefix_and_no_address_space():
    raw = private(
        virtualNetworkId=f"{HUB}/virtualNetworks/spoke",
        vnetAddressSpace="10.8.0.0/16",
        subnetPrefixes={"privateEndpoints": "10.8.4.0/27"},
    )
    assert problems(raw) == [
        "config secure-azure-ai:vnetAddressSpace: set with secure-azure-ai:virtualNetworkId; the "
        "rule is: an existing virtual network keeps its own address space",
        "config secure-azure-ai:subnetPrefixes: appService, functions missing with "
        "secure-azure-ai:virtualNetworkId; the rule is: subnets created in an existing virtual "
        "network need free prefixes of its address space",
    ]


def test_every_network_problem_is_reported_at_once():
    raw = private(
        allowedIpRanges=["198.51.100.0/24"],
        publicNetworkAccess="Enabled",
        vnetAddressSpace="not-a-range",
    )
    assert problems(raw) == [
        "config secure-azure-ai:vnetAddressSpace: 'not-a-range' is not an IPv4 CIDR range like "
        "'10.60.0.0/22'",
        "config secure-azure-ai:allowedIpRanges: set while secure-azure-ai:networkMode is "
        "private; the rule is: a private stack takes no public callers (reach it through the "
        "virtual network)",
        "config secure-azure-ai:publicNetworkAccess: 'Enabled' while secure-azure-ai:networkMode "
        "is private; the rule is: a private stack disables public network access (remove the "
        "key)",
    ]


@pytest.mark.parametrize(
    "key", ["privateInbound", "virtualNetworkId", "vnetAddressSpace", "privateDnsZoneIds"]
)
def test_private_settings_in_a_public_stack_are_refused(key):
    values = {
        "privateInbound": "true",
        "virtualNetworkId": f"{HUB}/virtualNetworks/spoke",
        "vnetAddressSpace": "10.60.0.0/22",
        "privateDnsZoneIds": json.dumps([f"{HUB}/privateDnsZones/privatelink.openai.azure.com"]),
    }
    assert problems({**BASE, f"{NS}{key}": values[key]}) == [
        f"config secure-azure-ai:{key}: set while secure-azure-ai:networkMode is public; the "
        "rule is: private network settings apply only with networkMode private"
    ]


def test_a_misspelt_network_mode_is_named_once_with_a_hint():
    raw = {**BASE, f"{NS}networkMode": "privat", f"{NS}privateInbound": "true"}
    assert problems(raw) == [
        "config secure-azure-ai:networkMode: 'privat' is not one of public, private (did you mean "
        "'private'?)"
    ]


def test_an_existing_vnet_in_another_subscription_is_refused():
    other = "/subscriptions/00000000-0000-4000-8000-0000000000ff/resourceGroups/hub/providers"
    raw = private(
        virtualNetworkId=f"{other}/Microsoft.Network/virtualNetworks/spoke",
        subnetPrefixes={
            "privateEndpoints": "10.8.4.0/27",
            "appService": "10.8.5.0/26",
            "functions": "10.8.6.0/26",
        },
    )
    assert problems(raw) == [
        "config secure-azure-ai:virtualNetworkId: the VNet is in subscription "
        "00000000-0000-4000-8000-0000000000ff; the rule is: a VNet in the subscription the stack "
        "deploys into"
    ]
