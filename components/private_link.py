"""Private Link facts for the services this stack puts off the internet: pure data, no Pulumi.

Each service exposes a private endpoint sub-resource (its ``group_id``) and resolves through one or
more ``privatelink.*`` private DNS zones (Microsoft: "Azure Private Endpoint private DNS zone
values", learn.microsoft.com/azure/private-link/private-endpoint-dns). The zone group on an
endpoint writes the endpoint's A records into every zone listed for it.
"""

from __future__ import annotations

# Private endpoint sub-resources (``groupIds``).
ACCOUNT_GROUP = "account"
VAULT_GROUP = "vault"
SITES_GROUP = "sites"
BLOB_GROUP = "blob"
QUEUE_GROUP = "queue"

OPENAI_ZONE = "privatelink.openai.azure.com"
COGNITIVE_SERVICES_ZONE = "privatelink.cognitiveservices.azure.com"
AI_SERVICES_ZONE = "privatelink.services.ai.azure.com"
VAULT_ZONE = "privatelink.vaultcore.azure.net"
SITES_ZONE = "privatelink.azurewebsites.net"
BLOB_ZONE = "privatelink.blob.core.windows.net"
QUEUE_ZONE = "privatelink.queue.core.windows.net"

# An OpenAI account answers on <sub>.openai.azure.com only; an AIServices account also on
# <sub>.cognitiveservices.azure.com and <sub>.services.ai.azure.com.
ACCOUNT_ZONES: dict[str, tuple[str, ...]] = {
    "OpenAI": (OPENAI_ZONE,),
    "AIServices": (COGNITIVE_SERVICES_ZONE, OPENAI_ZONE, AI_SERVICES_ZONE),
}
# The hosted rotation's storage account, by the sub-resources its Function App uses: blob (host
# storage, the deployment package, the lease) and queue (the run queue). No table or file: a Flex
# Consumption app mounts no file share, and the Functions host needs tables only for Durable
# Functions and the OpenAI bindings (Microsoft's Flex samples, Azure-Samples/functions-quickstart-
# python-http-azd infra/main.bicep, enable only what the triggers use).
STORAGE_ZONES: dict[str, str] = {BLOB_GROUP: BLOB_ZONE, QUEUE_GROUP: QUEUE_ZONE}
KNOWN_ZONES = (
    OPENAI_ZONE,
    COGNITIVE_SERVICES_ZONE,
    AI_SERVICES_ZONE,
    VAULT_ZONE,
    SITES_ZONE,
    BLOB_ZONE,
    QUEUE_ZONE,
)

# Subnet delegations: App Service regional VNet integration, and Flex Consumption function apps
# ("The subnet delegation required by Flex Consumption apps is Microsoft.App/environments",
# learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations).
APP_SERVICE_DELEGATION = "Microsoft.Web/serverFarms"
FLEX_CONSUMPTION_DELEGATION = "Microsoft.App/environments"

# Azure keeps five addresses of every subnet (network, gateway, two DNS, broadcast), and the
# smallest subnet it creates is a /29.
RESERVED_ADDRESSES_PER_SUBNET = 5
SMALLEST_SUBNET = 29
# App Service: "the minimum size is /28" for a subnet created before integration (Microsoft: App
# Service "Integrate your app with an Azure virtual network", subnet requirements); /26 is what it
# recommends for scaling, and what the defaults below use.
SMALLEST_INTEGRATION_SUBNET = 28


def zones_for(
    ai_kind: str, key_mode: bool, private_inbound: bool, hosted_rotation: bool = False
) -> tuple[str, ...]:
    """Every private DNS zone a private stack needs, in a stable order."""
    zones = list(ACCOUNT_ZONES[ai_kind])
    if key_mode:
        zones.append(VAULT_ZONE)
    if private_inbound:
        zones.append(SITES_ZONE)
    if hosted_rotation:
        zones.extend(STORAGE_ZONES.values())
    return tuple(zones)


def endpoint_count(key_mode: bool, hosted_rotation: bool, private_inbound_apps: int) -> int:
    """How many private endpoints a private stack puts in its endpoint subnet."""
    return (
        1
        + (1 if key_mode else 0)
        + (len(STORAGE_ZONES) if hosted_rotation else 0)
        + private_inbound_apps
    )
