"""Rotation that runs itself: the near-expiry event and a daily timer drive a Function App.

What it deploys (every name from ``RotationAutomationArgs``):

- a user-assigned identity, created first: the app's only credential, for storage, Application
  Insights and (through ``RotatorAccess``, granted by the stack once the secret exists) the
  account's keys, the one secret and the consumer sites;
- host storage reached by identity only (no shared key, TLS 1.2, no public blobs), with the
  deployment container, the lease container, the dead-letter container and the run queue; the
  identity holds Storage Blob Data Owner and Storage Queue Data Contributor on that account only;
  in private mode the account's firewall denies every caller but trusted Azure services (Event
  Grid's dead letters), and the app reaches its blobs and queue through private endpoints;
- Application Insights with local (instrumentation-key) auth disabled: the identity publishes
  with Monitoring Metrics Publisher and ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``;
- a Flex Consumption (FC1) plan and Function App, Python 3.11, hardened as the web apps are
  (HTTPS only, TLS 1.2 site and SCM, FTPS off, basic-auth publishing off), its code deployed by
  OneDeploy with the deployer's Entra token (components/function_package.py);
- an Event Grid system topic on the vault and a subscription for ``SecretNearExpiry`` filtered to
  the one secret, delivered to the function (AzureFunction endpoint: no key in any config), one
  event per batch, retried, and dead-lettered to blob storage by the topic's own identity.

The stack makes the secret's first version wait for ``event_subscription``: Key Vault raises the
event only for versions created after a subscription exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    eventgrid,
    managedidentity,
    operationalinsights,
    storage,
    web,
)

from components import private_link
from components.access import RoleGrant, RoleGrantArgs
from components.catalog import hosted, roles
from components.function_package import (
    FunctionCodeDeployment,
    build_package,
    package_files,
    package_sha256,
    scm_host_of,
)
from components.private_endpoint import ServicePrivateEndpoint, ServicePrivateEndpointArgs
from components.web_app import MIN_TLS_VERSION, disable_basic_auth_publishing

PYTHON_VERSION = "3.11"
INSTANCE_MEMORY_MB = 2048
# Flex Consumption's floor for the scale limit is 40; rotation needs one instance at a time,
# the lease makes sure of it, and the limit only caps cost under a flood of deliveries.
MAXIMUM_INSTANCE_COUNT = 40
LOG_RETENTION_DAYS = 90
# Event Grid: up to 30 attempts over a day (its exponential backoff), then the dead-letter blob.
MAX_DELIVERY_ATTEMPTS = 30
EVENT_TIME_TO_LIVE_MINUTES = 1440
EVENT_SUBSCRIPTION_NAME = "secret-near-expiry"
FUNCTIONS = (hosted.EVENT_FUNCTION, hosted.QUEUE_FUNCTION, hosted.TIMER_FUNCTION)
# Private mode's storage firewall. Event Grid cannot deliver (or dead-letter) through a private
# endpoint; it reaches a firewalled account's public endpoint as a trusted service, with the
# topic's system-assigned identity, and only while the account admits trusted services
# (learn.microsoft.com/azure/event-grid/managed-service-identity#private-endpoints and
# /azure/event-grid/handler-storage-queues). publicNetworkAccess Disabled turns away trusted
# services too, so the public endpoint stays Enabled, denying every caller by default, with no IP
# or subnet rule: the dead-letter writer is the only one let in.
PRIVATE_NETWORK_RULES = {
    "default_action": "Deny",
    "bypass": "AzureServices",
    "ip_rules": [],
    "virtual_network_rules": [],
}


@dataclass
class PrivateStorageArgs:
    """Private mode: where the automation's storage account is reached from inside the VNet."""

    subnet_id: pulumi.Input[str]
    """The private-endpoint subnet."""
    zone_ids: Mapping[str, pulumi.Input[str]]
    """The blob and queue private DNS zones, by name (created and linked, or a hub's)."""
    dns: Sequence[pulumi.Resource] = ()
    """What name resolution through the zones waits for (the zones' links to the VNet)."""


@dataclass
class RotationAutomationArgs:
    """Where the automation lives and the one secret, account and consumers it rotates for."""

    resource_group_name: pulumi.Input[str]
    """Resource group that holds the automation."""
    location: str
    """Azure region (the vault's: a system topic lives in its source's region)."""
    subscription_id: pulumi.Input[str]
    """Subscription of the built-in role definitions."""
    app_name: str
    """Globally unique Function App name (derived, stable)."""
    storage_account_name: str
    """Globally unique storage account name (derived, stable)."""
    vault_id: pulumi.Input[str]
    """ARM ID of the vault: the system topic's source."""
    vault_name: str
    """The vault's name (names the system topic)."""
    vault_uri: pulumi.Input[str]
    """https://<vault>.vault.azure.net/"""
    secret_name: str
    """The one secret the subscription is filtered to and the functions rotate."""
    account_id: pulumi.Input[str]
    """ARM ID of the AI account whose keys are rotated."""
    ai_endpoint: pulumi.Input[str]
    """The account's endpoint: new keys are probed there."""
    deployment: str
    """The chat deployment the probe calls."""
    consumer_site_ids: Sequence[pulumi.Input[str]]
    """Sites whose Key Vault references are refreshed and confirmed after a rotation."""
    consumer_health_urls: Sequence[pulumi.Input[str]] = ()
    """Health endpoints that report the secret version each consumer holds."""
    workspace_id: pulumi.Input[str] | None = None
    """Log Analytics workspace for Application Insights; one is created when none is given."""
    integration_subnet_id: pulumi.Input[str] | None = None
    """Subnet (delegated to Microsoft.App/environments) for outbound VNet integration."""
    private_storage: PrivateStorageArgs | None = None
    """Private mode: storage firewalled, blob and queue reached through private endpoints."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags applied to every resource."""


def app_settings(
    args: RotationAutomationArgs,
    client_id: pulumi.Input[str],
    connection_string: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """The Function App's settings (names from catalog/hosted.py); no key, SAS or password."""
    return {
        hosted.STORAGE_ACCOUNT_NAME: args.storage_account_name,
        hosted.STORAGE_CREDENTIAL: hosted.MANAGED_IDENTITY,
        hosted.STORAGE_CLIENT_ID: client_id,
        hosted.CLIENT_ID: client_id,
        hosted.APPINSIGHTS_CONNECTION_STRING: connection_string,
        hosted.APPINSIGHTS_AUTHENTICATION: pulumi.Output.from_input(client_id).apply(
            hosted.appinsights_authentication
        ),
        hosted.VAULT_URI: args.vault_uri,
        hosted.SECRET_NAME: args.secret_name,
        hosted.ACCOUNT_ID: args.account_id,
        hosted.AI_ENDPOINT: args.ai_endpoint,
        hosted.DEPLOYMENT: args.deployment,
        hosted.CONSUMER_SITE_IDS: pulumi.Output.all(*args.consumer_site_ids).apply(
            lambda ids: hosted.join_list(list(ids))
        ),
        hosted.CONSUMER_HEALTH_URLS: pulumi.Output.all(*args.consumer_health_urls).apply(
            lambda urls: hosted.join_list(list(urls))
        ),
        hosted.LEASE_CONTAINER_SETTING: hosted.LEASE_CONTAINER,
        hosted.QUEUE_NAME_SETTING: hosted.QUEUE_NAME,
    }


class RotationAutomation(pulumi.ComponentResource):
    """Event Grid and a Flex Consumption Function App that rotate the key unattended."""

    principal_id: pulumi.Output[str]
    """Object ID of the automation's identity: the stack grants it the rotator's roles."""
    client_id: pulumi.Output[str]
    app_id: pulumi.Output[str]
    app_name: pulumi.Output[str]
    event_subscription: eventgrid.SystemTopicEventSubscription
    """The near-expiry subscription: the secret's first version must wait for it."""

    def __init__(
        self,
        name: str,
        args: RotationAutomationArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        code_deployment: Callable[..., pulumi.CustomResource] = FunctionCodeDeployment,
    ) -> None:
        """``code_deployment`` deploys the code: the Python dynamic resource, or the package
        provider's own resource when the package serves the stack (components/package.py)."""
        super().__init__("secure-azure-ai:index:RotationAutomation", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = args.resource_group_name

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"{args.app_name}-identity",
            resource_group_name=group,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=args.storage_account_name,
            resource_group_name=group,
            location=args.location,
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            **(
                {"public_network_access": "Enabled", "network_rule_set": PRIVATE_NETWORK_RULES}
                if args.private_storage
                else {}
            ),
            tags=args.tags,
            opts=child,
        )
        # The host's first start, the package upload and the lease go to these endpoints.
        storage_dns = self._storage_endpoints(name, args, account.id)
        # Named by the plain account name so the names are known at preview; ordered explicitly.
        in_account = pulumi.ResourceOptions(parent=self, depends_on=[account])
        containers = {
            role: storage.BlobContainer(
                f"{name}-{role}-container",
                account_name=args.storage_account_name,
                container_name=container,
                resource_group_name=group,
                public_access="None",
                opts=in_account,
            )
            for role, container in (
                ("package", hosted.DEPLOYMENT_CONTAINER),
                ("lease", hosted.LEASE_CONTAINER),
                ("dead-letter", hosted.DEAD_LETTER_CONTAINER),
            )
        }
        queue = storage.Queue(
            f"{name}-queue",
            account_name=args.storage_account_name,
            queue_name=hosted.QUEUE_NAME,
            resource_group_name=group,
            opts=in_account,
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_name_=f"{args.app_name}-insights",
            resource_group_name=group,
            location=args.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=args.workspace_id or self._workspace(name, args),
            disable_local_auth=True,
            tags=args.tags,
            opts=child,
        )
        # The identity's grants exist before the app: the host reads its storage at first start.
        host_grants = [
            self._grant(
                f"{name}-{slug}",
                identity.principal_id,
                role_id,
                scope,
                description,
                args,
                depends_on=[],
            )
            for slug, role_id, scope, description in (
                (
                    "storage-blob-data-owner",
                    roles.STORAGE_BLOB_DATA_OWNER,
                    account.id,
                    "Functions host storage, the deployment package and the rotation lease.",
                ),
                (
                    "storage-queue-data-contributor",
                    roles.STORAGE_QUEUE_DATA_CONTRIBUTOR,
                    account.id,
                    "The queue between the event handler and the long rotation phase.",
                ),
                (
                    "monitoring-metrics-publisher",
                    roles.MONITORING_METRICS_PUBLISHER,
                    insights.id,
                    "Telemetry to Application Insights with Entra authentication.",
                ),
            )
        ]
        plan = web.AppServicePlan(
            f"{name}-plan",
            name=f"{args.app_name}-plan",
            resource_group_name=group,
            location=args.location,
            kind="functionapp",
            reserved=True,
            sku={"name": "FC1", "tier": "FlexConsumption"},
            tags=args.tags,
            opts=child,
        )
        settings = app_settings(args, identity.client_id, insights.connection_string)
        site = web.WebApp(
            f"{name}-site",
            name=args.app_name,
            resource_group_name=group,
            location=args.location,
            kind="functionapp,linux",
            server_farm_id=plan.id,
            https_only=True,
            identity={"type": "UserAssigned", "user_assigned_identities": [identity.id]},
            key_vault_reference_identity=identity.id,
            virtual_network_subnet_id=args.integration_subnet_id,
            outbound_vnet_routing={"all_traffic": True} if args.integration_subnet_id else None,
            function_app_config={
                "deployment": {
                    "storage": {
                        "type": "blobContainer",
                        "value": account.primary_endpoints.apply(
                            lambda endpoints: f"{endpoints.blob}{hosted.DEPLOYMENT_CONTAINER}"
                        ),
                        "authentication": {
                            "type": "UserAssignedIdentity",
                            "user_assigned_identity_resource_id": identity.id,
                        },
                    }
                },
                "runtime": {"name": "python", "version": PYTHON_VERSION},
                "scale_and_concurrency": {
                    "instance_memory_mb": INSTANCE_MEMORY_MB,
                    "maximum_instance_count": MAXIMUM_INSTANCE_COUNT,
                },
            },
            # A plain mapping, never SiteConfigArgs: that class adds netFrameworkVersion and
            # http20Enabled, and Flex Consumption rejects netFrameworkVersion.
            site_config={
                "min_tls_version": MIN_TLS_VERSION,
                "scm_min_tls_version": MIN_TLS_VERSION,
                "ftps_state": "Disabled",
                "app_settings": [
                    {"name": key, "value": value} for key, value in sorted(settings.items())
                ],
            },
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*host_grants, *containers.values(), queue, *storage_dns],
            ),
        )
        disable_basic_auth_publishing(name, site.name, group, child)
        package = build_package(package_files())
        code = code_deployment(
            f"{name}-code",
            site_id=site.id,
            scm_host=site.enabled_host_names.apply(scm_host_of),
            package_sha256=package_sha256(package),
            functions=FUNCTIONS,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[site]),
        )

        topic = eventgrid.SystemTopic(
            f"{name}-topic",
            system_topic_name=f"{args.vault_name}-events",
            resource_group_name=group,
            location=args.location,
            source=args.vault_id,
            topic_type="Microsoft.KeyVault.vaults",
            identity={"type": "SystemAssigned"},
            tags=args.tags,
            opts=child,
        )
        dead_letter_scope = pulumi.Output.concat(
            account.id, "/blobServices/default/containers/", hosted.DEAD_LETTER_CONTAINER
        )
        dead_letter_grant = self._grant(
            f"{name}-dead-letter-writer",
            topic.identity.apply(lambda i: i.principal_id if i else ""),
            roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
            dead_letter_scope,
            "Event Grid writes undeliverable near-expiry events here.",
            args,
            depends_on=[containers["dead-letter"]],
        )
        # After the code: Event Grid checks that the destination function exists.
        self.event_subscription = eventgrid.SystemTopicEventSubscription(
            f"{name}-near-expiry",
            event_subscription_name=EVENT_SUBSCRIPTION_NAME,
            system_topic_name=topic.name,
            resource_group_name=group,
            destination={
                "endpoint_type": "AzureFunction",
                "resource_id": pulumi.Output.concat(site.id, "/functions/", hosted.EVENT_FUNCTION),
                "max_events_per_batch": 1,
                "preferred_batch_size_in_kilobytes": 64,
            },
            event_delivery_schema="EventGridSchema",
            filter={
                "included_event_types": [hosted.SECRET_NEAR_EXPIRY],
                "subject_begins_with": args.secret_name,
                "subject_ends_with": args.secret_name,
            },
            retry_policy={
                "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                "event_time_to_live_in_minutes": EVENT_TIME_TO_LIVE_MINUTES,
            },
            dead_letter_with_resource_identity={
                "identity": {"type": "SystemAssigned"},
                "dead_letter_destination": {
                    "endpoint_type": "StorageBlob",
                    "resource_id": account.id,
                    "blob_container_name": hosted.DEAD_LETTER_CONTAINER,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[code, dead_letter_grant]),
        )

        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.app_id = site.id
        self.app_name = site.name
        self.register_outputs(
            {
                "principal_id": self.principal_id,
                "client_id": self.client_id,
                "app_id": self.app_id,
                "app_name": self.app_name,
            }
        )

    def _storage_endpoints(
        self, name: str, args: RotationAutomationArgs, account_id: pulumi.Input[str]
    ) -> list[pulumi.Resource]:
        """Private mode: a blob and a queue endpoint; returns what their resolution waits for."""
        private = args.private_storage
        if private is None:
            return []
        waits: list[pulumi.Resource] = []
        for group, zone in private_link.STORAGE_ZONES.items():
            endpoint = ServicePrivateEndpoint(
                f"{name}-storage-{group}-private",
                ServicePrivateEndpointArgs(
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    endpoint_name=f"{args.storage_account_name}-{group}-pe",
                    subnet_id=private.subnet_id,
                    target_id=account_id,
                    group_id=group,
                    zone_ids={zone: private.zone_ids[zone]},
                    tags=args.tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            waits.append(endpoint.zone_group)
        return [*waits, *private.dns]

    def _grant(
        self,
        name: str,
        principal_id: pulumi.Input[str],
        role_id: str,
        scope: pulumi.Input[str],
        description: str,
        args: RotationAutomationArgs,
        depends_on: Sequence[pulumi.Resource],
    ) -> RoleGrant:
        return RoleGrant(
            name,
            RoleGrantArgs(
                principal_id=principal_id,
                role_id=role_id,
                scope=scope,
                subscription_id=args.subscription_id,
                description=description,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )

    def _workspace(self, name: str, args: RotationAutomationArgs) -> pulumi.Output[str]:
        return operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=f"{args.app_name}-logs",
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku={"name": "PerGB2018"},
            retention_in_days=LOG_RETENTION_DAYS,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        ).id
