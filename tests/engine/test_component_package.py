"""The component package in its own process, spoken to as the engine speaks to a provider plugin.

What the Pulumi CLI does, and where it is defined (pulumi/pulumi):

- **Install.** ``pulumi package add <repository>/components@<version>`` clones the repository,
  installs it whole under ``~/.pulumi/plugins/resource-<repository>_components-v<version>`` and
  runs the plugin from its ``components`` folder (sdk/go/common/workspace/plugins.go
  ``gitSource.Download``, ``PluginDescriptor.Dir``/``SubDir``); the Python host makes ``venv`` there
  from ``requirements.txt`` (pkg/workspace/plugin.go ``installDependenciesForPluginSpec``). Here the
  folder is copied with only the rotation app's sources beside it (what hosted rotation deploys),
  and only the folder is on the plugin's ``sys.path``: anything else it imported would fail.
- **Launch.** The engine finds ``PulumiPlugin.yaml`` and asks the Python host to run the plugin
  (pkg/resource/plugin/plugin.go ``ExecPlugin``: ``RunPlugin`` with the folder as program
  directory, the consumer's directory as working directory, the engine address as the argument).
  The host runs ``<folder>/<virtualenv>/bin/python <folder> <engine address>`` with the virtualenv
  activated (sdk/python/cmd/pulumi-language-python/main.go ``RunPlugin``, ``parseOptions``;
  sdk/python/toolchain/toolchain.go ``ActivateVirtualEnv``). The first stdout line is the port
  (plugin.go ``newPlugin``).
- **Requests.** ``Handshake`` (``UNIMPLEMENTED`` falls back), ``GetPluginInfo``, ``CheckConfig``
  and ``Configure`` (pkg/resource/plugin/provider_plugin.go); ``GetSchema`` for ``pulumi package
  add`` and SDK generation (pkg/cmd/pulumi/packagecmd); ``Construct`` for each remote component,
  inputs marshalled with unknowns, secrets, resources and output values kept
  (provider_plugin.go ``Construct``), the resource monitor's address in ``monitorEndpoint``.
- **Errors.** A Construct failing with ``InputPropertiesError`` details is printed one property at
  a time (pkg/resource/deploy/source_eval.go ``errorToMessage``).
- **Children of the package's own types.** A custom child registered inside Construct with no
  provider gets its package's default provider, chosen by the registration's version and plugin
  download URL; a missing URL is filled from the packages the program's language host reports
  (source_eval.go ``RegisterResource``, ``parseProviderRequest``; default_providers.go
  ``normalizeProviderRequest``; the Node.js host reports the SDK's ``pulumi.server``:
  sdk/nodejs/cmd/pulumi-language-nodejs/main.go). The engine then calls that plugin's Check,
  Diff, Create, Read, Update and Delete, encoded as for any provider (provider_plugin.go; secrets
  kept for a provider that accepts them, unknowns only in a preview's Check and Diff).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import grpc
import pytest
import yaml
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import errors_pb2, provider_pb2, provider_pb2_grpc, status_pb2

import emulator
from components import config as stack_config
from components import function_package, rotation_automation
from components.catalog.secret import CONTENT_TYPE
from components.package import package_version
from policies import roles
from policies.detection import find_secrets
from tests.engine.dynamic_host import (
    COMPUTED,
    UNKNOWN_STRING_VALUE,
    Engine,
    ProviderError,
)
from tests.engine.engine_service import FakeEngine, fake_engine
from tests.engine.monitor_service import FakeResourceMonitor, fake_monitor, stack_urn
from tests.engine.policy_host import _first_line

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_SOURCE = ROOT / "components"
PACKAGE = "secure-azure-ai"
STACK_TYPE = f"{PACKAGE}:index:SecureAiStack"
KEY_SECRET_TYPE = f"{PACKAGE}:index:AccountKeySecret"
CODE_TYPE = f"{PACKAGE}:index:FunctionCodeDeployment"
CONSUMER_PROJECT, CONSUMER_STACK = "consumer", "dev"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # rpc.go UnknownStringValue
MANAGED_IDENTITY = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")
CLIENT = {
    "clientId": "9a4a2ec5-1f0e-4a8e-8c1f-6f4f0a7d2b11",
    "objectId": "3f2c1b4e-8d7a-4c6b-9e5f-1a2b3c4d5e6f",
    "subscriptionId": "11111111-2222-3333-4444-555555555555",
    "tenantId": "66666666-7777-8888-9999-000000000000",
}
INVOKES = {"azure-native:authorization:getClientConfig": CLIENT}
KEYLESS_INPUTS = {
    "location": "swedencentral",
    "authMode": "keyless",
    "deployments": [
        {"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 10}
    ],
    "apps": [{"name": "web"}, {"name": "api"}],
}


@dataclass
class RunningPackage:
    process: subprocess.Popen
    stub: provider_pb2_grpc.ResourceProviderStub
    engine: FakeEngine
    stderr_path: Path


# What a git install has beside the package folder: the rotation app's sources, which the hosted
# rotation's code deployment packs (components/function_package.py ``package_files``).
APP_SOURCES = ("functions", "rotation", "catalog", "azure_edge")


@pytest.fixture(scope="module")
def installed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package folder as a git install leaves it, with ``venv`` holding requirements.txt,
    and beside it only the rotation app's sources (never on the plugin's ``sys.path``).

    The virtualenv is the one running these tests: tests/components/test_package.py keeps the
    package's requirements.txt equal to the program's, which this virtualenv installs.
    """
    install = tmp_path_factory.mktemp("plugins") / (
        f"resource-github.com_contoso_{PACKAGE}_components-v{package_version()}"
    )
    skipped = shutil.ignore_patterns("__pycache__", "venv", "*.pyc")
    for folder in APP_SOURCES:
        shutil.copytree(ROOT / folder, install / folder, ignore=skipped)
    plugin = install / "components"
    shutil.copytree(PACKAGE_SOURCE, plugin, ignore=skipped)
    (plugin / "venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return plugin


@dataclass
class Emulated:
    proc: Any

    @property
    def account_id(self) -> str:
        env = self.proc.env
        return (
            f"/subscriptions/{env['EMULATOR_SUBSCRIPTION']}/resourceGroups/"
            f"{env['EMULATOR_RESOURCE_GROUP']}/providers/Microsoft.CognitiveServices/accounts/"
            f"{env['EMULATOR_ACCOUNT']}"
        )

    def tls(self) -> dict[str, Any]:
        return {"connection_verify": self.proc.ca_path, "proxies": self.proc.proxies}


@pytest.fixture(scope="module")
def cloud() -> Iterator[Emulated]:
    """``python -m emulator`` in its own process: TLS, CONNECT proxy, managed identity, ARM's
    listKeys and Key Vault; every identity may do anything (the role rules are
    tests/components/test_api_key_secret.py's)."""
    with emulator.run_process(["--no-rbac"]) as proc:
        yield Emulated(proc)


@pytest.fixture(scope="module")
def package(
    installed_package: Path, tmp_path_factory: pytest.TempPathFactory, cloud: Emulated
) -> Iterator[RunningPackage]:
    consumer = tmp_path_factory.mktemp("consumer")  # the program's directory: RunPlugin's Pwd
    venv = installed_package / "venv"
    # The CLI's environment, which the plugin inherits: a developer machine's, whose network and
    # managed identity are the emulator's (so DefaultAzureCredential signs in there).
    served = {k: v for k, v in cloud.proc.env.items() if not k.startswith("EMULATOR_")}
    env = {
        **served,
        "PATH": os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": os.environ.get("HOME", "/tmp"),
        "VIRTUAL_ENV": str(venv),
    }
    stderr_path = tmp_path_factory.mktemp("plugin") / "stderr"
    with fake_engine() as (engine, engine_address), stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [str(venv / "bin" / "python"), str(installed_package), engine_address],
            cwd=consumer,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            port = _first_line(process, timeout=60)
            if not port.isdigit():
                process.kill()
                raise AssertionError(f"no port from the package: {stderr_path.read_text()!r}")
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield RunningPackage(
                    process, provider_pb2_grpc.ResourceProviderStub(channel), engine, stderr_path
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture(scope="module")
def schema(package: RunningPackage) -> dict[str, Any]:
    return json.loads(package.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0)).schema)


def construct(
    package: RunningPackage, inputs: Mapping[str, Any], *, name: str = "ai"
) -> tuple[FakeResourceMonitor, Any]:
    """Configure, then Construct one SecureAiStack in a preview, as the engine does for
    ``new SecureAiStack(name, inputs)`` in the consumer's program."""
    with fake_monitor(CONSUMER_PROJECT, CONSUMER_STACK, INVOKES) as (monitor, address):
        package.stub.Configure(
            provider_pb2.ConfigureRequest(acceptSecrets=True, acceptResources=True), timeout=30
        )
        request = provider_pb2.ConstructRequest(
            project=CONSUMER_PROJECT,
            stack=CONSUMER_STACK,
            organization="organization",
            dryRun=True,
            parallel=16,
            monitorEndpoint=address,
            type=STACK_TYPE,
            name=name,
            parent=stack_urn(CONSUMER_PROJECT, CONSUMER_STACK),
            inputs=json_format.ParseDict(dict(inputs), struct_pb2.Struct()),
            accepts_output_values=True,
        )
        try:
            response = package.stub.Construct(request, timeout=120)
        except grpc.RpcError as error:
            return monitor, error
        return monitor, response


def property_errors(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The InputPropertiesError details the engine prints (rpcerror.go InputPropertiesErrors)."""
    details = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    found = []
    for packed in status.details:
        errors = errors_pb2.InputPropertiesError()
        assert packed.Unpack(errors)
        found += [(e.property_path, e.reason) for e in errors.errors]
    return found


# --- GetPluginInfo, GetSchema ---------------------------------------------------------------


def test_the_package_starts_from_its_folder_alone_and_reports_its_version(
    package: RunningPackage,
) -> None:
    # plugin.go newPlugin: the port on the first line, then host.go GetPluginInfo.
    assert package.stub.GetPluginInfo(empty_pb2.Empty()).version == package_version()
    with pytest.raises(grpc.RpcError) as handshake:
        package.stub.Handshake(provider_pb2.ProviderHandshakeRequest(engine_address="x"))
    assert handshake.value.code() == grpc.StatusCode.UNIMPLEMENTED  # the engine falls back


EXPECTED_INPUTS = {
    "location": ("string", None),
    "deployments": ("array", "Deployment"),
    "prefix": ("string", None),
    "authMode": ("string", None),
    "aiKind": ("string", None),
    "aiSku": ("string", None),
    "appServiceSku": ("string", None),
    "pythonVersion": ("string", None),
    "rotationPeriodDays": ("integer", None),
    "secretName": ("string", None),
    "publicNetworkAccess": ("string", None),
    "allowedIpRanges": ("array", "string"),
    "auditLogs": ("boolean", None),
    "logAnalyticsWorkspaceId": ("string", None),
    "resourceGroupName": ("string", None),
    "rotatorPrincipalId": ("string", None),
    "rotatorPrincipalType": ("string", None),
    "hostedRotation": ("boolean", None),
    "deployerPrincipalType": ("string", None),
    "apps": ("array", "App"),
    "networkMode": ("string", None),
    "privateInbound": ("boolean", None),
    "virtualNetworkId": ("string", None),
    "vnetAddressSpace": ("string", None),
    "subnetPrefixes": ("ref", "SubnetPrefixes"),
    "privateDnsZoneIds": ("array", "string"),
}
EXPECTED_OUTPUTS = {
    "authMode": ("string", None),
    "resourceGroupName": ("string", None),
    "aiAccountId": ("string", None),
    "aiEndpoint": ("string", None),
    "chatDeployment": ("string", None),
    "vaultUri": ("string", None),
    "secretName": ("string", None),
    "secretUri": ("string", None),
    "secretId": ("string", None),
    "virtualNetworkId": ("string", None),
    "apps": ("object", "AppOutputs"),
    "rotationAutomation": ("ref", "RotationAutomationOutputs"),
}
EXPECTED_TYPES = {
    "Deployment": {
        "name": "string",
        "model": "string",
        "version": "string",
        "capacity": "integer",
        "sku": "string",
    },
    "App": {"name": "string"},
    "SubnetPrefixes": {
        "privateEndpoints": "string",
        "appService": "string",
        "functions": "string",
    },
    "AppOutputs": {
        "siteName": "string",
        "siteId": "string",
        "hostName": "string",
        "principalId": "string",
    },
    "RotationAutomationOutputs": {
        "functionAppName": "string",
        "functionAppId": "string",
        "principalId": "string",
    },
}


def shape(prop: Mapping[str, Any]) -> tuple[str, str | None]:
    """A schema property as (type, item or referenced type name)."""
    ref = prop.get("$ref")
    if ref:
        return "ref", ref.rsplit(":", 1)[-1]
    inner = prop.get("items") or prop.get("additionalProperties")
    if inner is None:
        return prop["type"], None
    return prop["type"], shape(inner)[1] or inner["type"]


def test_the_schema_names_and_types_every_input_and_output(schema: dict[str, Any]) -> None:
    # packagecmd get-schema / package add: the SDK of every language is generated from this.
    assert schema["name"] == PACKAGE and schema["version"] == package_version()
    assert set(schema["resources"]) == {STACK_TYPE, KEY_SECRET_TYPE, CODE_TYPE}
    stack = schema["resources"][STACK_TYPE]
    assert stack["isComponent"] is True
    assert {k: shape(p) for k, p in stack["inputProperties"].items()} == EXPECTED_INPUTS
    assert sorted(stack["requiredInputs"]) == ["deployments", "location"]
    assert {k: shape(p) for k, p in stack["properties"].items()} == EXPECTED_OUTPUTS
    assert sorted(stack["required"]) == [
        "aiAccountId",
        "aiEndpoint",
        "apps",
        "authMode",
        "chatDeployment",
        "resourceGroupName",
    ]
    types = {
        token.rsplit(":", 1)[-1]: {k: p["type"] for k, p in spec["properties"].items()}
        for token, spec in schema["types"].items()
    }
    assert types == EXPECTED_TYPES
    # The stack's shape is decided when it is declared: every input is a plain value.
    assert all(p.get("plain") is True for p in stack["inputProperties"].values())


def test_the_inputs_are_the_stack_config_keys(schema: dict[str, Any]) -> None:
    # One validator: every key components/config.py reads is an input, and nothing else is.
    inputs = set(schema["resources"][STACK_TYPE]["inputProperties"])
    assert inputs == {"location", *stack_config.KNOWN_KEYS}


def test_every_component_input_output_and_type_has_a_description(schema: dict[str, Any]) -> None:
    """SDK generation copies each description into the generated code's docs (pkg/codegen)."""
    described = []
    for token, resource in schema["resources"].items():
        described.append((token, resource))
        described += [(f"{token} input {k}", p) for k, p in resource["inputProperties"].items()]
        described += [(f"{token} output {k}", p) for k, p in resource["properties"].items()]
    for token, spec in schema["types"].items():
        described.append((token, spec))
        described += [(f"{token}.{k}", p) for k, p in spec["properties"].items()]
    assert [what for what, spec in described if not (spec.get("description") or "").strip()] == []


def test_the_schema_describes_the_resources_the_package_serves(schema: dict[str, Any]) -> None:
    """Key mode's two resources, custom resources of the package (``isComponent`` absent), with
    the wire names the dynamic resources use; only identifiers and settings, never a key."""
    shapes = {
        token: (
            {k: shape(p) for k, p in schema["resources"][token]["inputProperties"].items()},
            {k: shape(p) for k, p in schema["resources"][token]["properties"].items()},
            sorted(schema["resources"][token]["requiredInputs"]),
        )
        for token in (KEY_SECRET_TYPE, CODE_TYPE)
    }
    key_inputs = {
        "account_id": ("string", None),
        "vault_uri": ("string", None),
        "secret_name": ("string", None),
        "rotation_period_days": ("integer", None),
        "consumers": ("array", "string"),
    }
    code_inputs = {
        "site_id": ("string", None),
        "scm_host": ("string", None),
        "package_sha256": ("string", None),
        "functions": ("array", "string"),
    }
    assert shapes == {
        KEY_SECRET_TYPE: (
            key_inputs,
            {
                **key_inputs,
                "secret_uri": ("string", None),
                "version": ("string", None),
                "slot": ("string", None),
                "secret_tags": ("object", "string"),
            },
            ["account_id", "rotation_period_days", "secret_name", "vault_uri"],
        ),
        CODE_TYPE: (
            code_inputs,
            {**code_inputs, "deployment_id": ("string", None)},
            ["functions", "package_sha256", "scm_host", "site_id"],
        ),
    }
    for token in (KEY_SECRET_TYPE, CODE_TYPE):
        resource = schema["resources"][token]
        assert "isComponent" not in resource
        assert not [k for k, p in resource["properties"].items() if p.get("secret")]


def test_no_input_can_carry_a_key(schema: dict[str, Any]) -> None:
    """A secret input would be the one way a key reaches the package: there is none."""
    stack = schema["resources"][STACK_TYPE]
    assert not [k for k, p in stack["inputProperties"].items() if p.get("secret")]
    assert not [k for k in stack["inputProperties"] if "key" in k.lower() and k != "secretName"]


# --- Construct ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyless_stack(package: RunningPackage) -> tuple[FakeResourceMonitor, Any]:
    monitor, response = construct(package, KEYLESS_INPUTS)
    assert not isinstance(response, grpc.RpcError), property_errors(response)
    return monitor, response


def test_construct_registers_the_keyless_stack_under_the_component(
    keyless_stack: tuple[FakeResourceMonitor, Any],
) -> None:
    """Construct (provider_plugin.go ``Construct``, served by pulumi/provider/server.py): the
    component registers under the program's stack, its children under it, and the client config
    is invoked through the engine's monitor (source_eval.go ``RegisterResource``, ``Invoke``)."""
    monitor, response = keyless_stack
    component = f"urn:pulumi:{CONSUMER_STACK}::{CONSUMER_PROJECT}::{STACK_TYPE}::ai"
    assert response.urn == component
    assert monitor.invoked[0] == "azure-native:authorization:getClientConfig"
    assert set(monitor.invoked) == {"azure-native:authorization:getClientConfig"}
    children = sorted((r.type, r.name) for r in monitor.registrations if r.urn != component)
    assert children == [
        (
            "azure-native:authorization:RoleAssignment",
            "ai-app-api-cognitive-services-openai-user-assignment",
        ),
        (
            "azure-native:authorization:RoleAssignment",
            "ai-app-web-cognitive-services-openai-user-assignment",
        ),
        ("azure-native:cognitiveservices:Account", "ai-ai-account"),
        ("azure-native:cognitiveservices:Deployment", "ai-ai-deployment-chat"),
        ("azure-native:resources:ResourceGroup", "ai-rg"),
        ("azure-native:web:AppServicePlan", "ai-plan"),
        ("azure-native:web:WebApp", "ai-app-api-site"),
        ("azure-native:web:WebApp", "ai-app-web-site"),
        ("azure-native:web:WebAppApplicationSettings", "ai-app-api-settings"),
        ("azure-native:web:WebAppApplicationSettings", "ai-app-web-settings"),
        ("azure-native:web:WebAppFtpAllowed", "ai-app-api-ftp-basic-auth"),
        ("azure-native:web:WebAppFtpAllowed", "ai-app-web-ftp-basic-auth"),
        ("azure-native:web:WebAppScmAllowed", "ai-app-api-scm-basic-auth"),
        ("azure-native:web:WebAppScmAllowed", "ai-app-web-scm-basic-auth"),
        (f"{PACKAGE}:index:AiAccount", "ai-ai"),
        (f"{PACKAGE}:index:RoleGrant", "ai-app-api-cognitive-services-openai-user"),
        (f"{PACKAGE}:index:RoleGrant", "ai-app-web-cognitive-services-openai-user"),
        (f"{PACKAGE}:index:SecureWebApp", "ai-app-api"),
        (f"{PACKAGE}:index:SecureWebApp", "ai-app-web"),
    ]
    assert monitor.by_type(STACK_TYPE)[0].parent == stack_urn(CONSUMER_PROJECT, CONSUMER_STACK)


def test_construct_keeps_the_secure_defaults(
    keyless_stack: tuple[FakeResourceMonitor, Any],
) -> None:
    """The children's inputs as the engine's monitor receives them (source_eval.go)."""
    monitor, _ = keyless_stack
    (account,) = monitor.by_type("azure-native:cognitiveservices:Account")
    props = account.inputs["properties"]
    assert props["disableLocalAuth"] is True  # keyless: no key exists
    assert props["customSubDomainName"].startswith("sai-dev-ai-")
    assert props["restrictOutboundNetworkAccess"] is True
    assert account.inputs["identity"] == {"type": "SystemAssigned"}
    for site in monitor.by_type("azure-native:web:WebApp"):
        config = site.inputs["siteConfig"]
        assert site.inputs["httpsOnly"] is True
        assert site.inputs["identity"] == {"type": "SystemAssigned"}
        assert (config["minTlsVersion"], config["scmMinTlsVersion"]) == ("1.2", "1.2")
        assert config["ftpsState"] == "Disabled" and config["remoteDebuggingEnabled"] is False
    for policy in [
        *monitor.by_type("azure-native:web:WebAppFtpAllowed"),
        *monitor.by_type("azure-native:web:WebAppScmAllowed"),
    ]:
        assert policy.inputs["allow"] is False
    # Each app's grant: Cognitive Services OpenAI User, scoped to the account it depends on.
    for grant in monitor.by_type("azure-native:authorization:RoleAssignment"):
        assert grant.inputs["roleDefinitionId"].endswith(roles.COGNITIVE_SERVICES_OPENAI_USER)
        assert grant.inputs["principalType"] == "ServicePrincipal"
        scope_from = set(grant.request.propertyDependencies["scope"].urns)
        assert scope_from == {account.urn}


def test_construct_registers_no_key_and_returns_identifiers(
    keyless_stack: tuple[FakeResourceMonitor, Any],
) -> None:
    """Every registration and the component's state (ConstructResponse.state), read as the
    engine reads them in a preview (unknowns as rpc.go ``UnknownStringValue``)."""
    monitor, response = keyless_stack

    def leaves(value: Any, name: str | None = None) -> Iterator[tuple[str | None, str]]:
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from leaves(item, key)
        elif isinstance(value, list):
            for item in value:
                yield from leaves(item, name)

    # The detection engine the policy pack and the scanner use, on every registered value.
    found = [
        (registration.name, name)
        for registration in monitor.registrations
        for name, value in leaves(registration.inputs)
        if find_secrets(value, setting_name=name)
    ]
    assert found == []
    state = json_format.MessageToDict(response.state)
    assert set(state) == {
        "authMode",
        "resourceGroupName",
        "aiAccountId",
        "aiEndpoint",
        "chatDeployment",
        "apps",
    }
    # A first preview: what the stack decides is known, whatever Azure assigns is unknown.
    assert state == {
        "authMode": "keyless",
        "chatDeployment": "chat",
        "resourceGroupName": UNKNOWN,
        "aiAccountId": UNKNOWN,
        "aiEndpoint": UNKNOWN,
        "apps": UNKNOWN,
    }
    # The component's registered outputs: each app by its short name, identifiers only.
    app = dict.fromkeys(["siteName", "siteId", "hostName", "principalId"], UNKNOWN)
    assert monitor.outputs[response.urn]["apps"] == {"web": app, "api": app}


def test_construct_refuses_bad_inputs_one_line_each_before_declaring_anything(
    package: RunningPackage,
) -> None:
    """InputPropertiesError details, which source_eval.go ``errorToMessage`` prints one line per
    property; the inputs are refused before the component registers anything."""
    inputs = {**KEYLESS_INPUTS, "prefix": "Bad!", "rotationPeriodDays": 400}
    monitor, error = construct(package, inputs, name="bad")
    assert isinstance(error, grpc.RpcError)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert property_errors(error) == [
        (
            "prefix",
            "'Bad!' breaks the rule: 2-8 lower-case letters or digits, starting with a letter",
        ),
        ("rotationPeriodDays", "400 is out of range; the rule is 1 to 365 days"),
    ]
    assert monitor.registrations == []


KEY_INPUTS = {k: v for k, v in KEYLESS_INPUTS.items() if k != "authMode"} | {
    "hostedRotation": False,
    "apps": [{"name": "web"}],
}


@pytest.fixture(scope="module")
def keyed_stack(package: RunningPackage) -> tuple[FakeResourceMonitor, Any]:
    monitor, response = construct(package, KEY_INPUTS, name="keyed")
    assert not isinstance(response, grpc.RpcError), property_errors(response)
    return monitor, response


def test_construct_in_key_mode_registers_the_key_secret_as_the_packages_own_resource(
    keyed_stack: tuple[FakeResourceMonitor, Any],
) -> None:
    """The key's write is a custom resource of this package with the package's version and no
    plugin download URL: the engine gives such a child the default provider of its package,
    asked for by that version and URL, the URL filled from the packages the program's language
    host reports (pkg/resource/deploy/source_eval.go ``RegisterResource``,
    ``parseProviderRequest``; default_providers.go ``normalizeProviderRequest``): this plugin.
    No Python dynamic resource is registered, so nothing needs the program's Python."""
    monitor, response = keyed_stack
    (secret,) = monitor.by_type(KEY_SECRET_TYPE)
    assert (secret.name, secret.custom, secret.parent) == ("keyed-api-key", True, response.urn)
    assert (secret.request.version, secret.request.pluginDownloadURL) == (package_version(), "")
    assert secret.request.provider == ""  # the default provider of the package
    assert monitor.by_type("pulumi-python:dynamic:Resource") == []
    (vault,) = monitor.by_type("azure-native:keyvault:Vault")
    (account,) = monitor.by_type("azure-native:cognitiveservices:Account")
    (site,) = monitor.by_type("azure-native:web:WebApp")
    # A first preview: the account's ID is unknown, the vault's URI follows from its name.
    assert secret.inputs == {
        "account_id": UNKNOWN,
        "vault_uri": f"https://{vault.inputs['vaultName']}.vault.azure.net/",
        "secret_name": "ai-api-key",
        "rotation_period_days": 90,
        "consumers": [site.inputs["name"]],
    }
    assert set(secret.request.propertyDependencies["account_id"].urns) == {account.urn}
    state = json_format.MessageToDict(response.state)
    assert state["authMode"] == "keyVault" and state["secretName"] == "ai-api-key"


def test_construct_with_hosted_rotation_serves_the_code_deployment_too(
    package: RunningPackage,
) -> None:
    """Hosted rotation (on by default): the code's deployment is the package's own resource as
    well, of the package's version, carrying the digest of the package the plugin builds from
    the sources beside it (the same bytes as this checkout's)."""
    inputs = {k: v for k, v in KEY_INPUTS.items() if k != "hostedRotation"}
    monitor, response = construct(package, inputs, name="hosted")
    assert not isinstance(response, grpc.RpcError), property_errors(response)
    (code,) = monitor.by_type(CODE_TYPE)
    (secret,) = monitor.by_type(KEY_SECRET_TYPE)
    rotation = f"{STACK_TYPE}$secure-azure-ai:index:RotationAutomation"
    assert code.name == "hosted-rotation-code" and code.parent.split("::")[2] == rotation
    for served in (code, secret):
        assert (served.custom, served.request.version) == (True, package_version())
        assert (served.request.provider, served.request.pluginDownloadURL) == ("", "")
    digest = function_package.package_sha256(
        function_package.build_package(function_package.package_files())
    )
    assert {k: v for k, v in code.inputs.items() if k != "site_id"} == {
        "scm_host": UNKNOWN,
        "package_sha256": digest,
        "functions": list(rotation_automation.FUNCTIONS),
    }
    assert monitor.by_type("pulumi-python:dynamic:Resource") == []


@dataclass
class PackageEngine(Engine):
    """The engine's resource calls, addressed to the served key secret under the component."""

    parent_type: str = STACK_TYPE
    resource_type: str = KEY_SECRET_TYPE

    def urn(self, name: str) -> str:
        qualified = f"{self.parent_type}${self.resource_type}"
        return f"urn:pulumi:{CONSUMER_STACK}::{CONSUMER_PROJECT}::{qualified}::{name}"

    def _resource(self, name: str) -> dict[str, str]:
        return {"urn": self.urn(name), "name": name, "type": self.resource_type}


def account_keys(cloud: Emulated) -> list[str]:
    env = cloud.proc.env
    arm = CognitiveServicesManagementClient(
        ManagedIdentityCredential(**cloud.tls()), env["EMULATOR_SUBSCRIPTION"], **cloud.tls()
    )
    keys = arm.accounts.list_keys(env["EMULATOR_RESOURCE_GROUP"], env["EMULATOR_ACCOUNT"])
    return [keys.key1, keys.key2]


def test_the_package_serves_the_key_secrets_check_diff_create_read_update_delete(
    package: RunningPackage, keyed_stack: tuple[FakeResourceMonitor, Any], cloud: Emulated
) -> None:
    """The engine's calls for the child Construct registered, to the same plugin process:
    Check and Diff in a preview with unknowns (``UnknownStringValue``, decoded as
    ``pulumi.output.Unknown``), then Check, Create, Read, Diff, Update and Delete with everything
    known, as pkg/resource/plugin/provider_plugin.go sends them (tests/engine/dynamic_host.py).
    The CRUD is the dynamic resource's own, against the emulator; no answer, engine log or
    stderr line holds either account key."""
    monitor, _ = keyed_stack
    (registered,) = monitor.by_type(KEY_SECRET_TYPE)
    engine = PackageEngine(package.stub, stack=CONSUMER_STACK)
    engine.start()
    name = registered.name
    preview_news = {
        k: COMPUTED if v == UNKNOWN_STRING_VALUE else v for k, v in registered.inputs.items()
    }
    checked, failures = engine.check(name, {}, preview_news, preview=True)
    vault_uri = preview_news["vault_uri"].rstrip("/")  # normalised; the unknown passes as it is
    assert (checked, failures) == ({**preview_news, "vault_uri": vault_uri}, [])

    vault_url = cloud.proc.env["EMULATOR_VAULT_URL"]
    vault = vault_url.rstrip("/")
    news = {**registered.inputs, "account_id": cloud.account_id, "vault_uri": vault_url}
    inputs, failures = engine.check(name, {}, news, preview=False)
    assert failures == [] and inputs == {**news, "vault_uri": vault}
    state = engine.create(name, inputs)

    with mock.patch.dict(os.environ, {k: cloud.proc.env[k] for k in MANAGED_IDENTITY}):
        client = SecretClient(vault_url, ManagedIdentityCredential(**cloud.tls()), **cloud.tls())
        written = client.get_secret("ai-api-key")
        key1, key2 = account_keys(cloud)
    assert written.value == key1 and written.properties.content_type == CONTENT_TYPE
    consumers = registered.inputs["consumers"]
    tags = {
        "CredentialId": "key1",
        "RotationState": "idle",
        "ProviderAddress": cloud.account_id,
        "ValidityPeriodDays": "90",
        "Consumers": ",".join(consumers),
    }
    assert written.properties.tags == tags
    outputs = {
        "account_id": cloud.account_id,
        "vault_uri": vault,
        "secret_name": "ai-api-key",
        "rotation_period_days": 90,
        "consumers": consumers,
        "secret_uri": f"{vault}/secrets/ai-api-key",
        "version": written.properties.version,
        "slot": "key1",
        "secret_tags": tags,
    }
    assert (state.id, state.outputs) == (f"{vault}/secrets/ai-api-key", outputs)

    refreshed = engine.read(name, state)
    assert (refreshed.id, refreshed.outputs) == (state.id, outputs)
    # A preview that replaces the account: its ID unknown again, the secret replaced.
    replaced = engine.diff(name, refreshed, {**inputs, "account_id": COMPUTED}, preview=True)
    assert list(replaced.replaces) == ["account_id"]

    shorter = {**inputs, "rotation_period_days": 30}
    diff = engine.diff(name, refreshed, shorter, preview=False)
    assert (diff.changes, list(diff.replaces)) == (proto.DiffResponse.DIFF_SOME, [])
    renamed = engine.diff(name, refreshed, {**inputs, "secret_name": "other"}, preview=False)
    assert list(renamed.replaces) == ["secret_name"]
    updated = engine.update(name, refreshed, shorter)
    assert updated.outputs == {
        **outputs,
        "rotation_period_days": 30,
        "secret_tags": {**tags, "ValidityPeriodDays": "30"},
    }

    engine.delete(name, updated)
    with (
        mock.patch.dict(os.environ, {k: cloud.proc.env[k] for k in MANAGED_IDENTITY}),
        pytest.raises(ResourceNotFoundError),
    ):
        client.get_secret("ai-api-key")
    seen = "\n".join(
        [
            *engine.transcript,
            *(log.message for log in package.engine.logs),
            package.stderr_path.read_text("utf-8", errors="replace"),
        ]
    )
    assert key1 not in seen and key2 not in seen


# sdk/go/common/resource/sig: how the engine marks a secret for a provider that accepts them.
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def marked(props: Mapping[str, Any], secret: set[str]) -> struct_pb2.Struct:
    """Properties as rpc.go ``MarshalProperties`` sends them with ``KeepSecrets``."""
    struct = struct_pb2.Struct()
    struct.update(
        {k: {SIG_KEY: SECRET_SIG, "value": v} if k in secret else v for k, v in props.items()}
    )
    return struct


def secret_keys(struct: struct_pb2.Struct) -> set[str]:
    props = json_format.MessageToDict(struct)
    return {k for k, v in props.items() if isinstance(v, dict) and v.get(SIG_KEY) == SECRET_SIG}


def test_a_secret_input_comes_back_secret_from_check_and_create(
    package: RunningPackage, keyed_stack: tuple[FakeResourceMonitor, Any], cloud: Emulated
) -> None:
    """The package's provider accepts secrets (Configure), so the engine sends them marked and
    re-marks nothing in the answer (pkg/resource/plugin/provider_plugin.go ``Create``:
    ``annotateSecrets`` only when the provider accepts no secrets): a program that made the
    account's ID secret gets it back secret, and nothing else turns secret."""
    monitor, _ = keyed_stack
    (registered,) = monitor.by_type(KEY_SECRET_TYPE)
    engine = PackageEngine(package.stub, stack=CONSUMER_STACK)
    name = "secret-account"
    news = {
        **registered.inputs,
        "account_id": cloud.account_id,
        "vault_uri": cloud.proc.env["EMULATOR_VAULT_URL"],
        "secret_name": name,
    }
    checked = package.stub.Check(
        proto.CheckRequest(
            **engine._resource(name), olds={}, news=marked(news, {"account_id"}), randomSeed=b"1"
        ),
        timeout=60,
    )
    assert (list(checked.failures), secret_keys(checked.inputs)) == ([], {"account_id"})
    created = package.stub.Create(
        proto.CreateRequest(**engine._resource(name), properties=checked.inputs), timeout=120
    )
    assert secret_keys(created.properties) == {"account_id"}
    outputs = json_format.MessageToDict(created.properties)
    assert outputs["account_id"]["value"] == cloud.account_id
    package.stub.Delete(
        proto.DeleteRequest(id=created.id, **engine._resource(name), properties=created.properties),
        timeout=120,
    )


def test_bad_inputs_fail_check_and_a_failed_create_is_one_line_without_a_trace(
    package: RunningPackage, cloud: Emulated
) -> None:
    """Check's failures, one per bad input, which the engine prints per property; a Create that
    Azure refuses answers the provider's one line (the engine prints the status details as the
    resource's error: provider_plugin.go ``Create``), never a traceback."""
    engine = PackageEngine(package.stub, stack=CONSUMER_STACK)
    news = {
        "account_id": cloud.account_id,
        "vault_uri": cloud.proc.env["EMULATOR_VAULT_URL"],
        "secret_name": "bad_name",
        "rotation_period_days": 400,
    }
    _, failures = engine.check("bad", {}, news, preview=False)  # numbers travel as doubles
    assert failures == [
        (
            "secret_name",
            "AccountKeySecret input secret_name='bad_name': must be 1-127 letters, digits or "
            "hyphens",
        ),
        (
            "rotation_period_days",
            "AccountKeySecret input rotation_period_days=400.0: must be a whole number of days "
            "from 1 to 365",
        ),
    ]
    missing = cloud.account_id.rsplit("/", 1)[0] + "/ai-missing"
    inputs, _ = engine.check(
        "gone", {}, {**news, "secret_name": "gone", "rotation_period_days": 30,
                     "account_id": missing}, preview=False
    )  # fmt: skip
    with pytest.raises(ProviderError) as error:
        engine.create("gone", inputs)
    assert error.value.code == grpc.StatusCode.UNKNOWN
    assert error.value.details.startswith("ARM listKeys of account ai-missing")
    assert "\n" not in error.value.details and "Traceback" not in error.value.details


def test_a_served_call_for_a_type_the_package_does_not_serve_fails_in_one_line(
    package: RunningPackage,
) -> None:
    engine = PackageEngine(package.stub, stack=CONSUMER_STACK, resource_type=f"{PACKAGE}:index:X")
    with pytest.raises(ProviderError) as error:
        engine.check("x", {}, {"a": 1}, preview=False)
    assert error.value.code == grpc.StatusCode.UNKNOWN
    assert "\n" not in error.value.details
    assert "resource type 'secure-azure-ai:index:X'" in error.value.details


# --- the examples, against the schema the package reports ----------------------------------------

EXAMPLES = ROOT / "examples"
# The npm name of a schema with no nodejs block, which `pulumi install` links as
# file:sdks/<name> (sdk/nodejs/cmd/pulumi-language-nodejs/main.go Link, getNodeJSPkgName).
NODE_PACKAGE = f"@pulumi/{PACKAGE}"


def literal(shape_: Mapping[str, Any]) -> Any:
    """The value a literal shape stands for."""
    if shape_["kind"] == "object":
        return {k: literal(v) for k, v in shape_["properties"].items()}
    if shape_["kind"] == "array":
        return [literal(v) for v in shape_["items"]]
    assert shape_["kind"] != "expression", shape_
    return shape_["value"]


def yaml_shape(value: Any) -> dict[str, Any]:
    """A Pulumi YAML value as the same shapes the TypeScript reader gives."""
    if isinstance(value, str) and "${" in value:
        return {"kind": "expression", "text": value}
    if isinstance(value, bool):
        return {"kind": "boolean", "value": value}
    if isinstance(value, int | float):
        return {"kind": "number", "value": value}
    if isinstance(value, str):
        return {"kind": "string", "value": value}
    if isinstance(value, list):
        return {"kind": "array", "items": [yaml_shape(v) for v in value]}
    return {"kind": "object", "properties": {k: yaml_shape(v) for k, v in value.items()}}


def mismatches(
    schema: Mapping[str, Any], spec: Mapping[str, Any], shape_: Mapping[str, Any], path: str
) -> list[str]:
    """Where a value's shape breaks its schema property: name, type, required fields."""
    kind = shape_["kind"]
    if kind == "expression":
        return []  # a reference or a config value: its type is the language's to check
    if "$ref" in spec:
        type_spec = schema["types"][spec["$ref"].removeprefix("#/types/")]
        return properties_mismatches(schema, type_spec, shape_, path)
    expected = spec["type"]
    if expected == "array":
        if kind != "array":
            return [f"{path}: {kind} where the schema has an array"]
        return [
            problem
            for index, item in enumerate(shape_["items"])
            for problem in mismatches(schema, spec["items"], item, f"{path}[{index}]")
        ]
    if expected == "integer":
        if kind != "number" or not float(shape_["value"]).is_integer():
            return [f"{path}: {kind} where the schema has an integer"]
        return []
    if expected in ("number", "string", "boolean"):
        return [] if kind == expected else [f"{path}: {kind} where the schema has a {expected}"]
    return [f"{path}: the schema's {expected} is not checked here"]


def properties_mismatches(
    schema: Mapping[str, Any], spec: Mapping[str, Any], shape_: Mapping[str, Any], path: str
) -> list[str]:
    if shape_["kind"] != "object":
        return [f"{path}: {shape_['kind']} where the schema has an object"]
    known = spec.get("inputProperties", spec.get("properties", {}))
    found = [
        f"{path}.{name}: not in the schema" for name in shape_["properties"] if name not in known
    ]
    found += [
        f"{path}.{name}: required by the schema"
        for name in spec.get("requiredInputs", spec.get("required", []))
        if name not in shape_["properties"]
    ]
    for name, value in shape_["properties"].items():
        if name in known:
            found += mismatches(schema, known[name], value, f"{path}.{name}")
    return found


def typescript_program(path: Path) -> dict[str, Any]:
    reader = Path(__file__).with_name("typescript_components.js")
    result = subprocess.run(
        ["node", str(reader), str(path), NODE_PACKAGE],
        cwd=ROOT,  # the repository's node_modules holds the pinned typescript
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_typescript_example_matches_the_schema(
    schema: dict[str, Any], package: RunningPackage
) -> None:
    """The program as TypeScript's parser reads it, against the schema its SDK is generated from
    (into sdks/<name>: pkg/cmd/pulumi/packages/packages.go)."""
    example = EXAMPLES / "typescript"
    project = yaml.safe_load((example / "Pulumi.yaml").read_text("utf-8"))
    assert project["packages"] == {PACKAGE: "../../components"}  # pulumi install: sdks/<name>
    dependencies = json.loads((example / "package.json").read_text("utf-8"))["dependencies"]
    assert dependencies[NODE_PACKAGE] == f"file:sdks/{PACKAGE}"
    program = typescript_program(example / "index.ts")
    assert program["aliases"] == ["secureAi"]
    (stack,) = program["constructions"]
    assert f"{PACKAGE}:index:{stack['class']}" in schema["resources"]
    spec = schema["resources"][f"{PACKAGE}:index:{stack['class']}"]
    assert properties_mismatches(schema, spec, stack["args"], "SecureAiStack") == []
    read = {r["property"] for r in program["reads"] if r["variable"] == stack["variable"]}
    assert read == {"aiEndpoint", "chatDeployment", "apps"} and read <= set(spec["properties"])
    # Its values pass the stack's own checks, through the running package.
    _, response = construct(package, literal(stack["args"]), name=literal(stack["name"]))
    assert not isinstance(response, grpc.RpcError), property_errors(response)


def test_the_yaml_example_matches_the_schema(
    schema: dict[str, Any], package: RunningPackage
) -> None:
    """Pulumi YAML checks a resource's properties against its package's schema; the values then go
    to Construct as they would in ``pulumi preview``."""
    program = yaml.safe_load((EXAMPLES / "yaml" / "Pulumi.yaml").read_text("utf-8"))
    assert program["packages"] == {PACKAGE: "../../components"}
    ((name, resource),) = program["resources"].items()
    spec = schema["resources"][resource["type"]]
    inputs = yaml_shape(resource["properties"])
    assert properties_mismatches(schema, spec, inputs, name) == []
    references = {
        reference.split(".", 1)[1]
        for value in program["outputs"].values()
        for reference in re.findall(r"\$\{([^}]+)\}", value)
        if reference.startswith(f"{name}.")
    }
    assert references == {"aiEndpoint", "virtualNetworkId", "apps"}
    assert references <= set(spec["properties"])
    # With the config's defaults for ${...}, its values pass the stack's checks in the package.
    defaults = {key: spec_["default"] for key, spec_ in program["config"].items()}
    properties = json.loads(
        re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], json.dumps(resource["properties"]))
    )
    monitor, response = construct(package, properties, name=name)
    assert not isinstance(response, grpc.RpcError), property_errors(response)
    (vnet,) = monitor.by_type("azure-native:network:VirtualNetwork")
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.70.0.0/22"]}
    # Private and keyless: the account behind its endpoint and zone, the app's traffic in the VNet.
    (account,) = monitor.by_type("azure-native:cognitiveservices:Account")
    assert account.inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert account.inputs["properties"]["disableLocalAuth"] is True
    (endpoint,) = monitor.by_type("azure-native:network:PrivateEndpoint")
    assert [c["groupIds"] for c in endpoint.inputs["privateLinkServiceConnections"]] == [
        ["account"]
    ]
    assert set(endpoint.request.propertyDependencies["privateLinkServiceConnections"].urns) == {
        account.urn
    }
    zones = [
        z.inputs["privateZoneName"] for z in monitor.by_type("azure-native:privatedns:PrivateZone")
    ]
    assert zones == ["privatelink.openai.azure.com"]
    (site,) = monitor.by_type("azure-native:web:WebApp")
    assert site.inputs["outboundVnetRouting"] == {"applicationTraffic": True}
    subnets = {s.name: s.urn for s in monitor.by_type("azure-native:network:Subnet")}
    assert set(site.request.propertyDependencies["virtualNetworkSubnetId"].urns) == {
        subnets["ai-network-app-service"]
    }
