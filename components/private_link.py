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

OPENAI_ZONE = "privatelink.openai.azure.com"
COGNITIVE_SERVICES_ZONE = "privatelink.cognitiveservices.azure.com"
AI_SERVICES_ZONE = "privatelink.services.ai.azure.com"
VAULT_ZONE = "privatelink.vaultcore.azure.net"
SITES_ZONE = "privatelink.azurewebsites.net"

# An OpenAI account answers on <sub>.openai.azure.com only; an AIServices account also on
# <sub>.cognitiveservices.azure.com and <sub>.services.ai.azure.com.
ACCOUNT_ZONES: dict[str, tuple[str, ...]] = {
    "OpenAI": (OPENAI_ZONE,),
    "AIServices": (COGNITIVE_SERVICES_ZONE, OPENAI_ZONE, AI_SERVICES_ZONE),
}
KNOWN_ZONES = (OPENAI_ZONE, COGNITIVE_SERVICES_ZONE, AI_SERVICES_ZONE, VAULT_ZONE, SITES_ZONE)

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


def zones_for(ai_kind: str, key_mode: bool, private_inbound: bool) -> tuple[str, ...]:
    """Every private DNS zone a private stack needs, in a stable order."""
    zones = list(ACCOUNT_ZONES[ai_kind])
    if key_mode:
        zones.append(VAULT_ZONE)
    if private_inbound:
        zones.append(SITES_ZONE)
    return tuple(zones)
