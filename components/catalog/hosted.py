"""The hosted rotation's contract: function names, storage names and the app settings it reads.

The component that deploys the automation (components/rotation_automation.py) writes these
settings on the Function App; the functions (functions/function_app.py) and the hosted entry
points they call (rotation/hosted.py) read them. Pure data, no I/O.

App settings (all strings; lists are comma-separated, no spaces):

    ROTATION_VAULT_URI            https://<vault>.vault.azure.net/ (the one vault)
    ROTATION_SECRET_NAME          the one secret the automation rotates
    ROTATION_ACCOUNT_ID           ARM ID of the AI account whose keys it regenerates
    ROTATION_AI_ENDPOINT          https://<subdomain>.openai.azure.com/ (new keys are probed here)
    ROTATION_DEPLOYMENT           the chat deployment the probe calls
    ROTATION_CONSUMER_SITE_IDS    ARM IDs of the sites whose Key Vault references are refreshed
    ROTATION_CONSUMER_HEALTH_URLS https URLs of the consumers' health endpoints (may be empty)
    ROTATION_LEASE_CONTAINER      blob container of the per-secret lease, in the host storage
    ROTATION_QUEUE_NAME           queue between the event handler and the long phase
    AZURE_CLIENT_ID               client ID of the automation's user-assigned identity
    AzureWebJobsStorage__accountName / __credential / __clientId
                                  host storage by identity; the queue trigger, the handlers'
                                  QueueClient and the lease use the same account through the
                                  same prefix

Nothing an event carries chooses a host: vault, account, endpoint and sites come from here.
"""

from __future__ import annotations

# Key Vault's event the subscription delivers (fires 30 days before a version's expiry).
SECRET_NEAR_EXPIRY = "Microsoft.KeyVault.SecretNearExpiry"

# Function names: the Event Grid subscription's destination is f"{site_id}/functions/{name}".
EVENT_FUNCTION = "on_secret_near_expiry"
QUEUE_FUNCTION = "run_rotation"
TIMER_FUNCTION = "daily_check"

# NCRONTAB (seconds first), UTC: once a day at 03:17, away from the top of the hour.
DAILY_SCHEDULE = "0 17 3 * * *"

# Names inside the automation's own storage account.
QUEUE_NAME = "rotation-runs"
LEASE_CONTAINER = "rotation-leases"
DEAD_LETTER_CONTAINER = "rotation-dead-letters"
DEPLOYMENT_CONTAINER = "function-package"

# The binding connection name: identity-based settings live under this prefix.
STORAGE_CONNECTION = "AzureWebJobsStorage"
STORAGE_ACCOUNT_NAME = f"{STORAGE_CONNECTION}__accountName"
STORAGE_CREDENTIAL = f"{STORAGE_CONNECTION}__credential"
STORAGE_CLIENT_ID = f"{STORAGE_CONNECTION}__clientId"
# Optional service URIs (Functions' identity-based connection settings); without them the
# endpoints are https://<accountName>.blob|queue.core.windows.net.
STORAGE_BLOB_URI = f"{STORAGE_CONNECTION}__blobServiceUri"
STORAGE_QUEUE_URI = f"{STORAGE_CONNECTION}__queueServiceUri"
MANAGED_IDENTITY = "managedidentity"

VAULT_URI = "ROTATION_VAULT_URI"
SECRET_NAME = "ROTATION_SECRET_NAME"
ACCOUNT_ID = "ROTATION_ACCOUNT_ID"
AI_ENDPOINT = "ROTATION_AI_ENDPOINT"
DEPLOYMENT = "ROTATION_DEPLOYMENT"
CONSUMER_SITE_IDS = "ROTATION_CONSUMER_SITE_IDS"
CONSUMER_HEALTH_URLS = "ROTATION_CONSUMER_HEALTH_URLS"
LEASE_CONTAINER_SETTING = "ROTATION_LEASE_CONTAINER"
QUEUE_NAME_SETTING = "ROTATION_QUEUE_NAME"
CLIENT_ID = "AZURE_CLIENT_ID"

# Application Insights, signed in with the identity (the component disables local auth).
APPINSIGHTS_CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
APPINSIGHTS_AUTHENTICATION = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"

LIST_SEPARATOR = ","


def appinsights_authentication(client_id: str) -> str:
    """The Entra authentication string of a user-assigned identity (Application Insights)."""
    return f"Authorization=AAD;ClientId={client_id}"


def join_list(items: list[str]) -> str:
    """A list setting's value."""
    return LIST_SEPARATOR.join(items)


def split_list(value: str) -> list[str]:
    """A list setting's items (an empty setting is an empty list)."""
    return [item for item in value.split(LIST_SEPARATOR) if item]
