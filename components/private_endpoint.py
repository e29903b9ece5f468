"""A private endpoint for one service, with the DNS zone group that keeps its records current."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network

from components.network import zone_config_name


@dataclass
class ServicePrivateEndpointArgs:
    """Arguments of ServicePrivateEndpoint."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the endpoint."""
    location: str
    """Azure region (the endpoint's VNet's)."""
    endpoint_name: str
    """Endpoint name (derived from the service's name, stable)."""
    subnet_id: pulumi.Input[str]
    """The private-endpoint subnet."""
    target_id: pulumi.Input[str]
    """ARM ID of the service (AI account, vault, site)."""
    group_id: str
    """The service's private link sub-resource: account, vault or sites."""
    zone_ids: Mapping[str, pulumi.Input[str]]
    """The private DNS zones (by name) the endpoint's A records go into."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags of the endpoint."""


class ServicePrivateEndpoint(pulumi.ComponentResource):
    """A private endpoint (auto-approved: same tenant, deployer may connect) and its zone group.

    The zone group, not hand-written A records, writes the endpoint's addresses into the zones and
    keeps them when the endpoint's address changes.
    """

    id: pulumi.Output[str]
    zone_group: pulumi.Resource
    """What a client of the service waits for: the endpoint and its DNS records exist."""

    def __init__(
        self,
        name: str,
        args: ServicePrivateEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secure-azure-ai:index:ServicePrivateEndpoint", name, {}, opts)
        endpoint = network.PrivateEndpoint(
            f"{name}-endpoint",
            private_endpoint_name=args.endpoint_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            subnet={"id": args.subnet_id},
            private_link_service_connections=[
                {
                    "name": args.endpoint_name,
                    "private_link_service_id": args.target_id,
                    "group_ids": [args.group_id],
                }
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.zone_group = network.PrivateDnsZoneGroup(
            f"{name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=args.endpoint_name,
            resource_group_name=args.resource_group_name,
            private_dns_zone_configs=[
                {"name": zone_config_name(zone), "private_dns_zone_id": zone_id}
                for zone, zone_id in args.zone_ids.items()
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[endpoint]),
        )
        self.id = endpoint.id
        self.register_outputs({"id": self.id})
