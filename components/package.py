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

import argparse
import asyncio
import contextlib
import functools
import json
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NotRequired, Required, TypedDict

import grpc
import grpc.aio
import pulumi
import pulumi.dynamic
from google.protobuf import empty_pb2
from pulumi.errors import InputPropertiesError
from pulumi.provider.experimental.analyzer import ComponentDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.server import ProviderServicer
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc
from pulumi_azure_native import authorization

from components import api_key_secret, function_package
from components import config as stack_config
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
        *,
        package_version: str | None = None,
    ) -> None:
        """With ``package_version`` (the package's provider serving the stack), the key's write
        and the rotation code's deployment are the provider's own resources of that version;
        without it (the Python library) they are Python dynamic resources."""
        # The deploying identity decides the subscription (names) and who gets the write grant.
        client = authorization.get_client_config()
        try:
            config = stack_config_of(args, pulumi.get_stack(), client.subscription_id)
            if config.hosted_rotation and not function_package_available():
                raise StackArgsError([HOSTED_ROTATION_NEEDS_ITS_CODE])
        except StackArgsError as problems:
            # RunError: the engine prints the message without a stack trace.
            raise pulumi.RunError(f"invalid SecureAiStack inputs:\n{problems}") from None
        super().__init__(name, config, client, opts, **served_resources(package_version))
        # The stack's outputs as the attributes the schema declares; absent ones (keyless, public
        # mode) stay None, which the provider leaves out of the component's state.
        for attribute in SecureAiStack.__annotations__:
            value = self.outputs.get(camel_case(attribute))
            setattr(self, attribute, None if value is None else pulumi.Output.from_input(value))


COMPONENTS: list[type[pulumi.ComponentResource]] = [SecureAiStack]


# --- Key mode from any language: the two resources the package's provider serves itself ----------
#
# The key's write and the rotation code's deployment are Python dynamic resources for the library,
# whose provider the engine runs in the program's own Python environment
# (sdk/python/dist/pulumi-resource-pulumi-python): a TypeScript, Go, C#, Java or YAML program has
# none. Through the package they are custom resources of the package itself, served by this
# provider with the same CRUD (``AccountKeySecretProvider``, ``FunctionCodeDeploymentProvider``).
#
# A child registered inside Construct with no explicit provider gets the default provider of its
# package, asked for by the registration's version and plugin download URL
# (pkg/resource/deploy/source_eval.go ``RegisterResource``, ``parseProviderRequest``). The children
# carry the package's version and no URL: the engine fills a missing URL (and version) from the
# packages the program's language host reports, the SDK that ``pulumi package add`` generated with
# the schema's ``pluginDownloadURL`` (pkg/resource/deploy/default_providers.go
# ``normalizeProviderRequest``), so the children reach this same plugin, from git or a local path.
class ServedResource(pulumi.CustomResource):
    """A resource of this package that its own provider serves; ``package_version`` is the
    package's, and the inputs are the dynamic resource's, by their wire names."""

    module: ModuleType
    """The dynamic resource's module: its type here, its schema and its check of the inputs."""

    def __init__(
        self,
        name: str,
        *,
        package_version: str,
        opts: pulumi.ResourceOptions | None = None,
        **inputs: Any,
    ) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=package_version))
        props = self.module.resource_props(**inputs)
        super().__init__(self.module.SERVED_TYPE, name, props, opts)


class ServedAccountKeySecret(ServedResource):
    """The AI account's key1 as a Key Vault secret with expiry, content type and rotation tags;
    its outputs are the versionless secret URI, the version, the slot and the tags, never the
    key."""

    module = api_key_secret


class ServedFunctionCodeDeployment(ServedResource):
    """The hosted rotation's code deployed to its Flex Consumption app by OneDeploy, keyed by
    the package's SHA-256."""

    module = function_package


# Each served resource and the CRUD that serves it: the dynamic resource's provider.
SERVED: dict[str, tuple[type[ServedResource], type[pulumi.dynamic.ResourceProvider]]] = {
    resource.module.SERVED_TYPE: (resource, crud)
    for resource, crud in [
        (ServedAccountKeySecret, api_key_secret.AccountKeySecretProvider),
        (ServedFunctionCodeDeployment, function_package.FunctionCodeDeploymentProvider),
    ]
}


def served_resources(package_version: str | None) -> dict[str, Callable[..., Any]]:
    """The classes the stack writes the key and deploys the rotation code with: none (the
    stack's dynamic resources) for the library, the served ones of this version for the provider."""
    if package_version is None:
        return {}
    return {
        "key_secret": functools.partial(ServedAccountKeySecret, package_version=package_version),
        "code_deployment": functools.partial(
            ServedFunctionCodeDeployment, package_version=package_version
        ),
    }


def _schema_property(kind: str, description: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": kind, "description": description}
    if kind == "array":
        spec["items"] = {"type": "string"}
    elif kind == "object":
        spec["additionalProperties"] = {"type": "string"}
    return spec


def served_schema() -> dict[str, Any]:
    """The schema's entries for the served resources: their wire names, each described."""
    resources = {}
    for token, (resource, _) in SERVED.items():
        module = resource.module
        inputs = {k: _schema_property(*v) for k, v in module.SCHEMA_INPUTS.items()}
        outputs = {k: _schema_property(*v) for k, v in module.SCHEMA_OUTPUTS.items()}
        optional = module.OPTIONAL_INPUTS
        resources[token] = {
            "description": " ".join((resource.__doc__ or "").split()),
            "inputProperties": inputs,
            "requiredInputs": sorted(set(inputs) - optional),
            "properties": {**inputs, **outputs},
            "required": sorted(set(inputs) - optional | set(outputs)),
        }
    return resources


def package_version() -> str:
    """The package's version: pyproject.toml's beside this file, which the release tag repeats."""
    with (Path(__file__).resolve().parent / "pyproject.toml").open("rb") as project:
        return str(tomllib.load(project)["project"]["version"])


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
        # Construct builds the stack with the served resources of this version.
        self._components[SecureAiStack.__name__] = functools.partial(
            SecureAiStack, package_version=version
        )
        schema = json.loads(self.schema or "{}")
        schema["resources"].update(served_schema())
        self.schema = json.dumps(schema)
        self.resource_providers: dict[str, pulumi.dynamic.ResourceProvider] = {
            token: provider() for token, (_, provider) in SERVED.items()
        }

    def resource_provider(self, urn: str) -> pulumi.dynamic.ResourceProvider:
        """The CRUD of a served resource, by the type its URN names (the last of its qualified
        type, ``<parent type>$<type>``: sdk/go/common/resource/urn.go)."""
        token = urn.split("::")[2].rsplit("$", 1)[-1]
        if token not in self.resource_providers:
            raise ValueError(f"resource type {token!r}: this package serves only {sorted(SERVED)}")
        return self.resource_providers[token]

    def map_inputs(self, inputs: Any, component_def: ComponentDefinition) -> Any:
        args = _whole_numbers(super().map_inputs(inputs, component_def))
        client = authorization.get_client_config()
        try:
            stack_config_of(args, pulumi.get_stack(), client.subscription_id)
        except StackArgsError as error:
            raise InputPropertiesError(
                f"invalid {component_def.name} inputs",
                [{"property_path": path, "reason": reason} for path, reason in error.problems],
            ) from None
        return args


# --- The gRPC face of the served resources ----------------------------------------------------


def _plain(props: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Properties with their secret wrappers removed, and the names of those that were secret.

    The provider accepts secrets (Configure), so the engine sends them marked
    (pkg/resource/plugin/rpc.go ``MarshalProperties`` with ``KeepSecrets``) and keeps the marks the
    answer carries, re-marking nothing itself (provider_plugin.go: ``annotateSecrets`` only for a
    provider that accepts no secrets): the answer marks what was secret in, as the engine would."""
    secret = {k for k, v in props.items() if rpc.is_rpc_secret(v)}
    return {k: rpc.unwrap_rpc_secret(v) for k, v in props.items()}, secret


async def _answer(props: Mapping[str, Any], secret: set[str]) -> Any:
    marked = {k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in props.items()}
    return await rpc.serialize_properties(marked, {})


class PackageServicer(ProviderServicer):
    """The SDK's provider service (GetSchema, Construct...) plus the resource calls the engine
    makes for the served resources, decoded as the dynamic provider host decodes them: unknowns
    kept for Check and Diff, as ``pulumi.output.Unknown`` (pulumi/dynamic/__main__.py)."""

    provider: SecureAiStackProvider

    async def _run(self, context: Any, call: Callable[[], Any]) -> Any:
        """The provider's blocking call off the event loop; a failure is its one-line message."""
        try:
            return await asyncio.to_thread(call)
        except Exception as error:  # every failure goes back as one line
            await context.abort(grpc.StatusCode.UNKNOWN, str(error).splitlines()[0])

    async def Check(self, request: Any, context: Any) -> Any:
        crud = self.provider.resource_provider(request.urn)
        olds, _ = _plain(rpc.deserialize_properties(request.olds, True))
        news, secret = _plain(rpc.deserialize_properties(request.news, True))
        result = await self._run(context, lambda: crud.check(olds, news))
        failures = [
            proto.CheckFailure(property=f.property, reason=f.reason) for f in result.failures
        ]
        return proto.CheckResponse(inputs=await _answer(result.inputs, secret), failures=failures)

    async def Diff(self, request: Any, context: Any) -> Any:
        crud = self.provider.resource_provider(request.urn)
        olds, _ = _plain(rpc.deserialize_properties(request.olds, True))
        news, _ = _plain(rpc.deserialize_properties(request.news, True))
        result = await self._run(context, lambda: crud.diff(request.id, olds, news))
        changes = proto.DiffResponse.DIFF_SOME if result.changes else proto.DiffResponse.DIFF_NONE
        return proto.DiffResponse(
            changes=changes,
            replaces=result.replaces or [],
            deleteBeforeReplace=bool(result.delete_before_replace),
        )

    async def Create(self, request: Any, context: Any) -> Any:
        crud = self.provider.resource_provider(request.urn)
        props, secret = _plain(rpc.deserialize_properties(request.properties))
        result = await self._run(context, lambda: crud.create(props))
        return proto.CreateResponse(id=result.id, properties=await _answer(result.outs, secret))

    async def Read(self, request: Any, context: Any) -> Any:
        crud = self.provider.resource_provider(request.urn)
        props, secret = _plain(rpc.deserialize_properties(request.properties))
        result = await self._run(context, lambda: crud.read(request.id, props))
        return proto.ReadResponse(id=result.id, properties=await _answer(result.outs, secret))

    async def Update(self, request: Any, context: Any) -> Any:
        crud = self.provider.resource_provider(request.urn)
        olds, _ = _plain(rpc.deserialize_properties(request.olds))
        news, secret = _plain(rpc.deserialize_properties(request.news))
        result = await self._run(context, lambda: crud.update(request.id, olds, news))
        return proto.UpdateResponse(properties=await _answer(result.outs or {}, secret))

    async def Delete(self, request: Any, context: Any) -> Any:
        crud = self.provider.resource_provider(request.urn)
        props, _ = _plain(rpc.deserialize_properties(request.properties))
        await self._run(context, lambda: crud.delete(request.id, props))
        return empty_pb2.Empty()


def serve(provider: SecureAiStackProvider, args: list[str]) -> None:
    """Serve the provider to the engine whose address is the first argument: the port on the
    first stdout line (pkg/resource/plugin/plugin.go ``newPlugin``), then until stopped."""
    parser = argparse.ArgumentParser(description="secure-azure-ai provider plugin")
    parser.add_argument("engine", help="the Pulumi engine's address")
    engine, _ = parser.parse_known_args(args)

    async def run() -> None:
        server = grpc.aio.server()
        servicer = PackageServicer(provider, args, engine_address=engine.engine)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await server.wait_for_termination()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
