"""The private network of a private stack: VNet, subnets, and the private DNS zones linked to it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network, privatedns

from components import private_link
from components.catalog import ids
from components.config import NetworkConfig

# Private DNS zones are global resources.
ZONE_LOCATION = "global"


def zone_config_name(zone: str) -> str:
    """The name of a zone's entry in a private endpoint's DNS zone group."""
    return zone.replace(".", "-")


@dataclass
class PrivateNetworkArgs:
    """Arguments of PrivateNetwork."""

    resource_group_name: pulumi.Input[str]
    """Resource group of a created VNet and of the created zones."""
    location: str
    """Azure region of the VNet."""
    network: NetworkConfig
    """Address space or existing VNet, subnet prefixes, existing zones (validated config)."""
    virtual_network_name: str
    """Name of the VNet when the stack creates it (derived, stable)."""
    zones: Sequence[str]
    """Every private DNS zone the stack's endpoints register in."""
    functions_subnet: bool = False
    """Also a subnet delegated to Microsoft.App/environments, for a Flex Consumption app."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags of the created VNet and zones."""


class PrivateNetwork(pulumi.ComponentResource):
    """A VNet (created, or an existing one) with one subnet per job, and its private DNS.

    Subnets: ``private-endpoints`` (the endpoints' network interfaces), ``app-service`` (delegated
    to Microsoft.Web/serverFarms: the outbound side of the apps' regional VNet integration) and,
    for a hosted rotation, ``functions`` (delegated to Microsoft.App/environments, as Flex
    Consumption requires). Each zone the stack owns is linked to the VNet (no auto-registration);
    a zone given by ID belongs to a hub that resolves it, and gets no link from here.
    """

    virtual_network_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    app_service_subnet_id: pulumi.Output[str]
    functions_subnet_id: pulumi.Output[str] | None
    zone_ids: dict[str, pulumi.Output[str]]
    dns: list[pulumi.Resource]
    """Resources name resolution through the zones waits for (the zones' links to the VNet)."""

    def __init__(
        self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secure-azure-ai:index:PrivateNetwork", name, {}, opts)
        config = args.network
        if config.virtual_network_id:
            # The config loader has checked the ID.
            parts = ids.resource_id(
                config.virtual_network_id, "Microsoft.Network", "virtualNetworks"
            )
            vnet_group: pulumi.Input[str] = parts.resource_group
            vnet_name: str = parts.name
            vnet_id: pulumi.Input[str] = config.virtual_network_id
            previous: pulumi.Resource | None = None
        else:
            # No inline subnets: since network API 2023-09-01 a VNet PUT without ``subnets`` keeps
            # the subnets it has (Azure/azure-quickstart-templates#2786), so the standalone Subnet
            # resources below survive an update of the VNet (pulumi-azure-native#611).
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                virtual_network_name=args.virtual_network_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                address_space={"address_prefixes": [config.address_space]},
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # Names as given, not read back: a preview already knows every name and ID part.
            vnet_group, vnet_name = args.resource_group_name, args.virtual_network_name
            vnet_id, previous = vnet.id, vnet

        # (role, prefix, delegation); created one after another: Azure rejects concurrent
        # subnet writes to one VNet (AnotherOperationInProgress).
        layout: list[tuple[str, str, str | None]] = [
            ("private-endpoints", config.private_endpoint_prefix, None),
            ("app-service", config.app_service_prefix, private_link.APP_SERVICE_DELEGATION),
        ]
        if args.functions_subnet:
            layout.append(
                ("functions", config.functions_prefix, private_link.FLEX_CONSUMPTION_DELEGATION)
            )
        subnets: dict[str, network.Subnet] = {}
        for role, prefix, delegation in layout:
            subnets[role] = previous = network.Subnet(
                f"{name}-{role}",
                subnet_name=role,
                virtual_network_name=vnet_name,
                resource_group_name=vnet_group,
                address_prefix=prefix,
                delegations=(
                    [{"name": delegation.replace("/", "."), "service_name": delegation}]
                    if delegation
                    else []
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[previous] if previous else None
                ),
            )

        self.zone_ids = {}
        self.dns = []
        for zone in args.zones:
            if zone in config.dns_zone_ids:
                self.zone_ids[zone] = pulumi.Output.from_input(config.dns_zone_ids[zone])
                continue
            created = privatedns.PrivateZone(
                f"{name}-zone-{zone_config_name(zone)}",
                private_zone_name=zone,
                resource_group_name=args.resource_group_name,
                location=ZONE_LOCATION,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            link = privatedns.VirtualNetworkLink(
                f"{name}-link-{zone_config_name(zone)}",
                virtual_network_link_name=f"{vnet_name}-link",
                private_zone_name=zone,
                resource_group_name=args.resource_group_name,
                location=ZONE_LOCATION,
                virtual_network={"id": vnet_id},
                registration_enabled=False,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[created]),
            )
            self.zone_ids[zone] = created.id
            self.dns.append(link)

        self.virtual_network_id = pulumi.Output.from_input(vnet_id)
        self.private_endpoint_subnet_id = subnets["private-endpoints"].id
        self.app_service_subnet_id = subnets["app-service"].id
        self.functions_subnet_id = subnets["functions"].id if "functions" in subnets else None
        self.register_outputs(
            {
                "virtual_network_id": self.virtual_network_id,
                "private_endpoint_subnet_id": self.private_endpoint_subnet_id,
                "app_service_subnet_id": self.app_service_subnet_id,
                "functions_subnet_id": self.functions_subnet_id,
                "zone_ids": self.zone_ids,
            }
        )
