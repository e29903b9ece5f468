"""The component package's face: the whole secure stack, inputs and outputs typed for the schema.

``SecureAiStack`` here is ``components.stack.SecureAiStack`` taking typed args instead of a loaded
config: its inputs are the stack's config keys (README, "Configuration reference"), checked by the
one config loader (``components.config.load``) before any resource is declared, and its outputs are
the stack's outputs, identifiers only. ``SecureAiStackProvider`` serves it to the engine
(``__main__.py``) and reports bad inputs the way the engine shows them: one line per input.

No ``from __future__ import annotations`` here: the SDK's schema analyzer
(``pulumi/provider/experimental/analyzer.py``) reads the live annotations, and string annotations
are not types to it. The inputs are plain values, not ``pulumi.Input``: they decide which resources
exist (mode, apps, network) and the names they get, so they are known when the stack is declared.
"""

import re
from collections.abc import Mapping
from typing import Any, NotRequired, Required, TypedDict

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.provider.experimental.analyzer import ComponentDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.runtime import rpc
from pulumi_azure_native import authorization

from components import config as stack_config
from components import function_package
from components import stack as secure_stack

PACKAGE_NAME = stack_config.PROJECT
INPUT_LOCATION = "location"


class Deployment(TypedDict):
    """A model deployment on the AI account."""

    name: str
    """Deployment name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    model: str
    """Model name, e.g. gpt-4o-mini."""
    version: str
    """Model version, e.g. 2024-07-18."""
    capacity: int
    """Capacity in thousands of tokens per minute, 1-1000."""
    sku: NotRequired[str]
    """Standard (default), GlobalStandard, DataZoneStandard or ProvisionedManaged."""


class App(TypedDict):
    """A web app that reads the AI key through its own managed identity."""

    name: str
    """Short name, unique: 1-20 lower-case letters, digits or hyphens, from a letter."""


class SubnetPrefixes(TypedDict, total=False):
    """Private mode: the subnets' IPv4 CIDR ranges, inside the address space, not overlapping."""

    private_endpoints: str
    """Subnet of the private endpoints (default 10.60.0.0/26; /29 or larger, room for each)."""
    app_service: str
    """Subnet delegated to Microsoft.Web/serverFarms: the apps' outbound (default 10.60.1.0/26)."""
    functions: str
    """Subnet delegated to Microsoft.App/environments: rotation's outbound (10.60.2.0/26)."""


class SecureAiStackArgs(TypedDict, total=False):
    """The stack's configuration: every value is checked before any resource is declared."""

    location: Required[str]
    """Azure region name, e.g. swedencentral."""
    deployments: Required[list[Deployment]]
    """Model deployments on the AI account, at least one: the apps call the first."""
    prefix: str
    """2-8 lower-case letters or digits from a letter; starts every derived name (default sai)."""
    auth_mode: str
    """keyVault (default: the key lives in Key Vault, read by identity) or keyless (Entra only)."""
    ai_kind: str
    """OpenAI (default) or AIServices."""
    ai_sku: str
    """The AI account's SKU: S0."""
    app_service_sku: str
    """App Service plan SKU: B1 (default) to B3, S1 to S3, P0v3 to P3v3."""
    python_version: str
    """The apps' Python version: 3.10 to 3.13 (default 3.12)."""
    rotation_period_days: int
    """Key mode: the secret expires this many days after each rotation, 1-365 (default 90)."""
    secret_name: str
    """Key mode: the key's secret name, 1-127 letters, digits or hyphens (default ai-api-key)."""
    public_network_access: str
    """Enabled (default) or Disabled for the account and the vault; private mode disables it."""
    allowed_ip_ranges: list[str]
    """Public IPv4 addresses or CIDR ranges; when set, both firewalls deny everything else."""
    audit_logs: bool
    """Send Key Vault AuditEvent logs and metrics to Log Analytics (default true)."""
    log_analytics_workspace_id: str
    """Resource ID of an existing Log Analytics workspace for the audit logs (default: created)."""
    resource_group_name: str
    """An existing resource group to deploy into (default: <prefix>-<stack>-rg, created)."""
    rotator_principal_id: str
    """Key mode: object ID of the identity that rotates; it gets exactly what rotation needs."""
    rotator_principal_type: str
    """ServicePrincipal (default) or User: the kind of principal rotatorPrincipalId names."""
    hosted_rotation: bool
    """Key mode: deploy the rotation automation, Event Grid and a Function App (default true)."""
    deployer_principal_type: str
    """User, ServicePrincipal or Group: the deploying identity's kind (default: from sign-in)."""
    apps: list[App]
    """The web apps that read the key, each with its own identity (default one app named web)."""
    network_mode: str
    """public (default) or private: VNet, private endpoints and DNS zones, public access off."""
    private_inbound: bool
    """Private mode: a private endpoint for each app too, which then takes no public request."""
    virtual_network_id: str
    """Private mode: an existing VNet's resource ID to create the subnets in (default: created)."""
    vnet_address_space: str
    """Private mode: IPv4 CIDR range of the VNet the stack creates (default 10.60.0.0/22)."""
    subnet_prefixes: SubnetPrefixes
    """Private mode: the subnets' CIDR ranges (required with virtualNetworkId)."""
    private_dns_zone_ids: list[str]
    """Private mode: resource IDs of existing privatelink.* DNS zones, e.g. a hub's."""


class AppOutputs(TypedDict):
    """One web app and its identity."""

    siteName: str
    """The site's name."""
    siteId: str
    """The site's resource ID."""
    hostName: str
    """The site's default host name."""
    principalId: str
    """Object ID of the site's system-assigned identity."""


class RotationAutomationOutputs(TypedDict):
    """The rotation automation's Function App and identity."""

    functionAppName: str
    """The Function App's name."""
    functionAppId: str
    """The Function App's resource ID."""
    principalId: str
    """Object ID of the automation's user-assigned identity."""


class StackArgsError(Exception):
    """Every problem with a stack's inputs, as (input path, rule) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("\n".join(f"input {path}: {reason}" for path, reason in problems))
        self.problems = problems


# The loader's lines read "config <namespace>:<key>[.<field>]: <problem and rule>".
_CONFIG_LINE = re.compile(
    rf"^config (?:{re.escape(PACKAGE_NAME)}|azure-native):(?P<path>[\w.\[\]]+): (?P<reason>.*)$"
)
_CONFIG_COMMAND = re.compile(r" \(pulumi config set [^)]*\)")


def _input_problem(line: str) -> tuple[str, str]:
    """A loader line in input terms: the input's schema path and the rule, config names dropped."""
    match = _CONFIG_LINE.match(line)
    # Derived names break a rule only through the prefix (or the stack name): that is the input.
    path, reason = (match["path"], match["reason"]) if match else ("prefix", line)
    if path == stack_config.LOCATION_KEY.split(":")[1]:
        path = INPUT_LOCATION
    reason = _CONFIG_COMMAND.sub("", reason).replace(f"{PACKAGE_NAME}:", "")
    return path, reason


def _wire_names(value: Any) -> Any:
    """A Python-named value (``subnet_prefixes={"app_service": ...}``) as config spells it."""
    if isinstance(value, Mapping):
        return {camel_case(key): _wire_names(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wire_names(item) for item in value]
    return value


def _known(value: Any) -> bool:
    """False for an Output, and for an unknown as the provider receives it (an ``Unknown``)."""
    if isinstance(value, pulumi.Output) or rpc.contains_unknowns(value):
        return False
    if isinstance(value, Mapping):
        return all(_known(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_known(item) for item in value)
    return True


def stack_config_of(
    args: Mapping[str, Any], stack: str, subscription_id: str
) -> stack_config.StackConfig:
    """The validated config the inputs describe, or StackArgsError naming every bad input."""
    unknown = [camel_case(key) for key, value in args.items() if not _known(value)]
    if unknown:
        raise StackArgsError(
            [
                (key, "not known yet; the rule is a plain value (it shapes the stack)")
                for key in unknown
            ]
        )
    raw: dict[str, Any] = {}
    for key, value in args.items():
        if key == INPUT_LOCATION:
            raw[stack_config.LOCATION_KEY] = value
        else:
            raw[f"{PACKAGE_NAME}:{camel_case(key)}"] = _wire_names(value)
    try:
        config = stack_config.load(raw, stack, subscription_id)
    except stack_config.ConfigError as error:
        raise StackArgsError([_input_problem(line) for line in error.problems]) from None
    return config


HOSTED_ROTATION_NEEDS_ITS_CODE = (
    "hostedRotation",
    "the rotation app's code (functions/, rotation/) is not beside this package; the rule is: "
    "run from a checkout of the repository (or pip install -e of it), or set hostedRotation "
    "false",
)


def function_package_available() -> bool:
    """True when the rotation app's sources sit beside the package, as a git install leaves them."""
    app = function_package.ROOT / function_package.APP_FOLDER / function_package.ENTRY_POINT
    return app.is_file()


class SecureAiStack(secure_stack.SecureAiStack):
    """An Azure AI account and its App Service apps, reached by managed identity, least access."""

    auth_mode: pulumi.Output[str]
    """keyVault or keyless."""
    resource_group_name: pulumi.Output[str]
    """The resource group."""
    ai_account_id: pulumi.Output[str]
    """The AI account's resource ID."""
    ai_endpoint: pulumi.Output[str]
    """The AI account's endpoint."""
    chat_deployment: pulumi.Output[str]
    """The first model deployment's name: what the apps call and rotation probes."""
    vault_uri: pulumi.Output[str | None]
    """Key mode: the vault's URI."""
    secret_name: pulumi.Output[str | None]
    """Key mode: the name of the secret holding the key."""
    secret_uri: pulumi.Output[str | None]
    """Key mode: the secret's versionless URI (never its value)."""
    secret_id: pulumi.Output[str | None]
    """Key mode: the secret's resource ID, the scope of the apps' read grant."""
    virtual_network_id: pulumi.Output[str | None]
    """Private mode: the VNet the apps and endpoints are in."""
    apps: pulumi.Output[dict[str, AppOutputs]]
    """Each app by its short name: site name, site ID, host name and identity."""
    rotation_automation: pulumi.Output[RotationAutomationOutputs | None]
    """Key mode with hostedRotation: the rotation automation's Function App and identity."""

    def __init__(
        self,
        name: str,
        args: SecureAiStackArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # The deploying identity decides the subscription (names) and who gets the write grant.
        client = authorization.get_client_config()
        try:
            config = stack_config_of(args, pulumi.get_stack(), client.subscription_id)
            if config.hosted_rotation and not function_package_available():
                raise StackArgsError([HOSTED_ROTATION_NEEDS_ITS_CODE])
        except StackArgsError as problems:
            # RunError: the engine prints the message without a stack trace.
            raise pulumi.RunError(f"invalid SecureAiStack inputs:\n{problems}") from None
        super().__init__(name, config, client, opts)
        # The stack's outputs as the attributes the schema declares; absent ones (keyless, public
        # mode) stay None, which the provider leaves out of the component's state.
        for attribute in SecureAiStack.__annotations__:
            value = self.outputs.get(camel_case(attribute))
            setattr(self, attribute, None if value is None else pulumi.Output.from_input(value))


COMPONENTS: list[type[pulumi.ComponentResource]] = [SecureAiStack]

# The key's write (and the rotation app's code deployment) are Python dynamic resources: the engine
# runs their provider as pulumi-resource-pulumi-python in the consuming program's own Python
# environment (sdk/python/dist/pulumi-resource-pulumi-python), where this package is not importable.
KEY_MODE_THROUGH_PACKAGE = (
    "authMode",
    "keyVault (the default) writes the key with a Python dynamic resource, which the engine runs "
    "in the consuming program's Python environment; the rule is: through the package set "
    "authMode keyless (no key exists), or use the Python library (pip install) for keyVault",
)


def _whole_numbers(value: Any) -> Any:
    """Numbers as the program wrote them: the wire carries every number as a double
    (``google.protobuf.Value.number_value``), and the SDK's mapping keeps nested ones so."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


class SecureAiStackProvider(ComponentProvider):
    """The package's provider: the SDK's component provider, with the inputs checked first.

    A component's own exception reaches the engine with a traceback appended
    (``pulumi/provider/server.py`` ``Construct``: ``ComponentInitError``); bad inputs raised here,
    before the component starts, go as the ``InputPropertiesError`` status the engine prints one
    property at a time.
    """

    def __init__(self, version: str) -> None:
        super().__init__(COMPONENTS, PACKAGE_NAME, version=version)

    def map_inputs(self, inputs: Any, component_def: ComponentDefinition) -> Any:
        args = _whole_numbers(super().map_inputs(inputs, component_def))
        client = authorization.get_client_config()
        try:
            config = stack_config_of(args, pulumi.get_stack(), client.subscription_id)
            if config.key_mode:
                raise StackArgsError([KEY_MODE_THROUGH_PACKAGE])
        except StackArgsError as error:
            raise InputPropertiesError(
                f"invalid {component_def.name} inputs",
                [{"property_path": path, "reason": reason} for path, reason in error.problems],
            ) from None
        return args
