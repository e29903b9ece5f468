"""Run a Pulumi program under mocks and record every registration: the one mocks harness.

Used by `python -m preflight preview` and by the tests alike. The engine is replaced by
``pulumi.runtime.set_mocks`` with a monitor that records each RegisterResource request in wire
format (secrets keep their signature, unknowns their sentinel), so what policies and reports see
is exactly what the real engine would send. Outputs are synthesised the way Azure shapes them
(ARM IDs, endpoints, principal IDs), deterministically, so reports are stable. Dynamic resources
(such as the key written into Key Vault) run no provider here: their outputs stay unknown, as in
a real first preview.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings

from preflight.model import UNKNOWN, Plan, PlannedResource

# Identity the mocks answer getClientConfig with: recognisably fake, valid GUIDs.
PREVIEW_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
PREVIEW_TENANT = "00000000-0000-4000-8000-000000000002"
PREVIEW_DEPLOYER = "00000000-0000-4000-8000-000000000003"
PREVIEW_CLIENT = "00000000-0000-4000-8000-000000000004"
_NAMESPACE = uuid.UUID("5a0c4c86-51d4-4f7e-9d8b-1f7a3c2d9e10")
_ENGINE_VARIABLES = ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG")


class HarnessError(Exception):
    """The program or its inputs could not be evaluated; the message is one line per problem."""


def load_stack_config(path: Path | str) -> dict[str, str]:
    """A stack file's config as the engine hands it to programs: strings, JSON for structures.

    Values marked ``secure:`` are encrypted and cannot be read here; they become "[secret]".
    """
    file = Path(path)
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise HarnessError(f"config file {str(file)!r}: not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise HarnessError(f"config file {str(file)!r}:{where} is not valid YAML") from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise HarnessError(f"config file {str(file)!r}: the rule is a mapping with a 'config' map")
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[str(key)] = "[secret]"
        elif isinstance(value, bool):
            config[str(key)] = "true" if value else "false"
        elif isinstance(value, dict | list):
            config[str(key)] = json.dumps(value)
        else:
            config[str(key)] = "" if value is None else str(value)
    return config


def project_name(program_dir: Path | str) -> str:
    """The `name` in the program's Pulumi.yaml."""
    file = Path(program_dir) / "Pulumi.yaml"
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        raise HarnessError(f"program {str(program_dir)!r}: no readable Pulumi.yaml") from None
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name:
        raise HarnessError(f"program file {str(file)!r}: the rule is a 'name' string")
    return name


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _rg_scope(inputs: Mapping[str, Any]) -> str:
    group = inputs.get("resourceGroupName") or "preview-rg"
    return f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/{group}"


# type token -> (ARM provider path, input holding the resource's name)
_ARM_PATHS: dict[str, tuple[str, str]] = {
    "azure-native:cognitiveservices:Account": (
        "Microsoft.CognitiveServices/accounts",
        "accountName",
    ),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:keyvault:Secret": ("Microsoft.KeyVault/vaults/{vaultName}/secrets", "secretName"),
    "azure-native:web:AppServicePlan": ("Microsoft.Web/serverfarms", "name"),
    "azure-native:web:WebApp": ("Microsoft.Web/sites", "name"),
    "azure-native:web:WebAppSlot": ("Microsoft.Web/sites/{name}/slots", "slot"),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
    ),
}


class AzureShapedMocks(pulumi.runtime.Mocks):
    """Answers registrations with Azure-shaped, deterministic outputs; unknown invokes fail."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        outputs: dict[str, Any] = {**inputs}
        if typ == "azure-native:resources:ResourceGroup":
            group = inputs.get("resourceGroupName") or name
            outputs["name"] = group
            return f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/{group}", outputs
        if typ == "azure-native:authorization:RoleAssignment":
            assignment = inputs.get("roleAssignmentName") or _guid(name)
            outputs["name"] = assignment
            scope = inputs.get("scope", "")
            return (
                f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
                outputs,
            )
        if typ == "azure-native:authorization:RoleDefinition":
            definition = inputs.get("roleDefinitionId") or _guid(name)
            scope = inputs.get("scope", "")
            return (
                f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{definition}",
                outputs,
            )
        if typ == "azure-native:monitor:DiagnosticSetting":
            setting = inputs.get("name") or name
            resource_uri = inputs.get("resourceUri", "")
            return (
                f"{resource_uri}/providers/Microsoft.Insights/diagnosticSettings/{setting}",
                outputs,
            )
        if typ == "azure-native:cognitiveservices:Deployment":
            account, deployment = inputs.get("accountName"), inputs.get("deploymentName") or name
            outputs["name"] = deployment
            return (
                f"{_rg_scope(inputs)}/providers/Microsoft.CognitiveServices/accounts/{account}"
                f"/deployments/{deployment}",
                outputs,
            )
        if typ in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
            kind = "ftp" if typ.endswith("FtpAllowed") else "scm"
            return (
                f"{_rg_scope(inputs)}/providers/Microsoft.Web/sites/{inputs.get('name')}"
                f"/basicPublishingCredentialsPolicies/{kind}",
                outputs,
            )
        if typ == "azure-native:web:WebAppApplicationSettings":
            return (
                f"{_rg_scope(inputs)}/providers/Microsoft.Web/sites/{inputs.get('name')}"
                "/config/appsettings",
                outputs,
            )
        if typ in _ARM_PATHS:
            path, name_key = _ARM_PATHS[typ]
            resource_name = inputs.get(name_key) or name
            resource_id = f"{_rg_scope(inputs)}/providers/{path.format(**inputs)}/{resource_name}"
            outputs["name"] = resource_name
            self._azure_outputs(typ, resource_id, inputs, outputs)
            return resource_id, outputs
        return f"{name}-id", outputs

    @staticmethod
    def _azure_outputs(typ: str, resource_id: str, inputs: dict, outputs: dict) -> None:
        if isinstance(inputs.get("identity"), dict):
            outputs["identity"] = {
                **inputs["identity"],
                "principalId": _guid("principal", resource_id),
                "tenantId": PREVIEW_TENANT,
            }
        if typ == "azure-native:cognitiveservices:Account":
            properties = dict(inputs.get("properties") or {})
            subdomain = properties.get("customSubDomainName") or inputs.get("accountName")
            domain = (
                "openai.azure.com"
                if inputs.get("kind") == "OpenAI"
                else ("cognitiveservices.azure.com")
            )
            outputs["properties"] = {**properties, "endpoint": f"https://{subdomain}.{domain}/"}
        elif typ == "azure-native:keyvault:Vault":
            properties = dict(inputs.get("properties") or {})
            outputs["properties"] = {
                **properties,
                "vaultUri": f"https://{inputs.get('vaultName')}.vault.azure.net/",
            }
        elif typ == "azure-native:web:WebApp":
            outputs["defaultHostName"] = f"{outputs['name']}.azurewebsites.net"
            outputs["outboundIpAddresses"] = "203.0.113.10,203.0.113.11"
        elif typ == "azure-native:operationalinsights:Workspace":
            outputs["customerId"] = _guid("workspace", resource_id)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": PREVIEW_CLIENT,
                "objectId": PREVIEW_DEPLOYER,
                "subscriptionId": PREVIEW_SUBSCRIPTION,
                "tenantId": PREVIEW_TENANT,
            }
        # An unmocked invoke would silently return {}: fail loudly instead.
        raise HarnessError(
            f"invoke {args.token!r} has no offline answer; the preview cannot run it"
        )


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps each registration request as the engine would receive it."""

    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(mock)
        self.recorded: list[PlannedResource] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources[response.urn]
            self.recorded.append(
                PlannedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    inputs=_whole_numbers(json_format.MessageToDict(request.object)),
                    outputs=_sentinel_unknowns(dict(registration.state)),
                    parent=request.parent or None,
                    dependencies=tuple(request.dependencies),
                    property_dependencies={
                        key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    custom=bool(request.custom),
                    id=registration.id or None,
                    provider=request.provider or None,
                )
            )
        return response


def _sentinel_unknowns(value: Any) -> Any:
    """Outputs as the engine records them: a value not known at preview is the UNKNOWN sentinel.

    Mocks echo inputs back as outputs; an input that was unknown (a StackReference output, an
    output of a resource that reports none) arrives as the SDK's ``Unknown`` object, which no
    report or policy request can carry.
    """
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _sentinel_unknowns(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sentinel_unknowns(v) for v in value]
    return value


def _whole_numbers(value: Any) -> Any:
    """Protobuf carries every number as a double; give integral ones back their int form."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


@contextmanager
def _program_environment(program_dir: Path) -> Iterator[None]:
    """The program's folder first on sys.path, no engine variables, cwd at the program."""
    saved_env = {k: os.environ.pop(k) for k in _ENGINE_VARIABLES if k in os.environ}
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        os.environ.update(saved_env)


def _without_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult:
    """Drop aliases: azure-native declares dozens per type (one per API version), each resolved to
    a URN through Outputs, which is most of a large preview's time. Aliases only map old state to
    new names; a preview from no state has nothing to map, so the plan is the same without them.
    """
    options = args.opts._copy()
    options.aliases = None
    return pulumi.ResourceTransformationResult(args.props, options)


async def _wire_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stack outputs in wire format (secret signature kept), like the engine stores them."""
    struct = await rpc.serialize_properties(dict(outputs), {})
    return json_format.MessageToDict(struct)


def run_program(
    program_dir: Path | str,
    config: Mapping[str, Any],
    *,
    project: str = "secure-azure-ai",
    stack: str = "dev",
) -> Plan:
    """Run `program_dir/__main__.py` under mocks with `config`; return what it would create.

    Config keys are full names ("secure-azure-ai:apps"); non-string values are passed as JSON,
    the way the engine passes structured config. Raises HarnessError when the program stops
    with a pulumi.RunError (e.g. invalid configuration): its message, one line per problem.
    """
    directory = Path(program_dir).resolve()
    if not (directory / "__main__.py").is_file():
        raise HarnessError(f"program {str(program_dir)!r}: no __main__.py there")
    monitor = RecordingMonitor(AzureShapedMocks())
    captured: dict[str, Any] = {}

    with _program_environment(directory):
        # The SDK schedules on the thread's current loop; code run earlier (asyncio.run) may
        # have closed or cleared it.
        try:
            loop = asyncio.get_event_loop()
            if loop.is_closed():
                raise RuntimeError("closed")
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())
        settings.ROOT.set(None)
        pulumi.runtime.set_mocks(
            monitor.mocks, project=project, stack=stack, preview=True, monitor=monitor
        )
        pulumi.runtime.set_all_config(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
            [k for k, v in config.items() if v == "[secret]"],
        )

        @mocks.test
        def evaluate() -> Any:
            pulumi.runtime.register_stack_transformation(_without_aliases)
            runpy.run_path(str(directory / "__main__.py"), run_name="__main__")
            root = settings.get_root_resource()

            async def collect() -> None:
                captured.update(await _wire_outputs(getattr(root, "outputs", {}) or {}))

            return asyncio.ensure_future(collect())

        try:
            evaluate()
        except pulumi.RunError as error:
            raise HarnessError(str(error)) from None
        finally:
            settings.ROOT.set(None)
    return Plan(
        project=project,
        stack=stack,
        resources=monitor.recorded,
        outputs=_whole_numbers(captured),
        principals={PREVIEW_DEPLOYER: "deploying identity"},
    )
