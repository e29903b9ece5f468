"""Run a Pulumi program under mocks and record every registration: the one mocks harness.

Used by `python -m preflight preview` and by the tests alike. The engine is replaced by
``pulumi.runtime.set_mocks`` with a monitor that records each RegisterResource request in wire
format (secrets keep their signature, unknowns their sentinel, assets and archives theirs), so
what policies and reports see is what the real engine would send them.

Outputs follow what azure-native answers a preview (``Create`` with ``preview=true``,
pulumi-azure-native ``provider/pkg/convert/previewOutputs.go``): every output property of the
resource's SDK type is present, the inputs projected onto it, and everything else (what Azure
computes) is unknown. Over that, the values that are derivable are synthesised the way Azure shapes
them (names, the ARM IDs of top-level resources, endpoints, principal IDs, user-assigned identity
maps), deterministically, so reports are stable. Dynamic resources run no provider here: their
outputs stay unknown, as in a real first preview.

Invokes answer like the provider would, offline: ``getClientConfig`` a fixed identity; an invoke
that returns credentials (``list*Keys``, ``*Credentials``, ``getSharedKeys``...) synthetic keys
in the service's format, plain as azure-native returns them; any other ``_output`` invoke is
wholly unknown, the way the engine answers one it cannot serve in a preview, and a plain one gets
its result type's shape with unknown strings. ``secure:`` config values become synthetic values
marked secret. Every synthetic credential is remembered with where it came from
(``Plan.origins``), so findings can say so.

``python -m preflight.harness REQUEST RESULT`` runs the same harness in another interpreter (a
program's own virtualenv): the request and the plan travel as JSON files.
"""

from __future__ import annotations

import asyncio
import base64
import collections.abc
import contextvars
import functools
import hashlib
import importlib
import inspect
import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
import threading
import traceback
import typing
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi import _types
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.proto import resource_pb2

from preflight.inputs import InputError, load_yaml_file
from preflight.model import (
    ARCHIVE_SIG,
    ASSET_SIG,
    SECRET_SIG_KEY,
    UNKNOWN,
    Plan,
    PlannedResource,
    is_secret,
)

# Identity the mocks answer getClientConfig with: recognisably fake, valid GUIDs.
PREVIEW_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
PREVIEW_TENANT = "00000000-0000-4000-8000-000000000002"
PREVIEW_DEPLOYER = "00000000-0000-4000-8000-000000000003"
PREVIEW_CLIENT = "00000000-0000-4000-8000-000000000004"
_NAMESPACE = uuid.UUID("5a0c4c86-51d4-4f7e-9d8b-1f7a3c2d9e10")
_ENGINE_VARIABLES = ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_CONFIG")
_ROOT = Path(__file__).resolve().parent.parent


class HarnessError(Exception):
    """The program or its inputs could not be evaluated; the message is one line per problem."""


class ProgramFailed(Exception):
    """The program itself raised: ``summary`` is one line, ``details`` the full traceback."""

    def __init__(self, summary: str, details: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = details


# --- stack configuration ------------------------------------------------------------------------


class StackConfig(dict):
    """A stack's config as the engine hands it to programs, and which keys are secret."""

    def __init__(self, values: Mapping[str, str], secret_keys: frozenset[str] = frozenset()):
        super().__init__(values)
        self.secret_keys = secret_keys


def synthetic_config_secret(key: str) -> str:
    """The stand-in for an encrypted ``secure:`` value: 32 base62 characters, fixed per key."""
    return _base62(f"config/{key}", 32)


def load_stack_config(path: Path | str) -> StackConfig:
    """A stack file's config as the engine hands it to programs: strings, JSON for structures.

    Values marked ``secure:`` are encrypted and cannot be read here; each becomes a synthetic value
    (``synthetic_config_secret``) that the program receives marked secret, as the engine would.
    """
    file = Path(path)
    try:  # a directory, a FIFO, a loop, non-UTF-8, deep or alias-bombed YAML: one line each
        document = load_yaml_file(file, "config file") or {}
    except InputError as error:
        raise HarnessError(str(error)) from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise HarnessError(f"config file {str(file)!r}: the rule is a mapping with a 'config' map")
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[str(key)] = synthetic_config_secret(str(key))
            secret_keys.add(str(key))
        elif isinstance(value, bool):
            config[str(key)] = "true" if value else "false"
        elif isinstance(value, dict | list):
            config[str(key)] = json.dumps(value)
        else:
            config[str(key)] = "" if value is None else str(value)
    return StackConfig(config, frozenset(secret_keys))


def project_name(program_dir: Path | str) -> str:
    """The `name` in the program's Pulumi.yaml."""
    file = Path(program_dir) / "Pulumi.yaml"
    try:
        document = load_yaml_file(file, "program file") or {}
    except InputError:
        raise HarnessError(f"program {str(program_dir)!r}: no readable Pulumi.yaml") from None
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str) or not name:
        raise HarnessError(f"program file {str(file)!r}: the rule is a 'name' string")
    return name


# --- deterministic synthetic values -------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _bytes(seed: str, n: int) -> bytes:
    return hashlib.shake_256(f"preflight-synthetic/{seed}".encode()).digest(n)


def _base62(seed: str, n: int) -> str:
    return "".join(_BASE62[b % 62] for b in _bytes(seed, n))


def _base64(seed: str, raw_bytes: int) -> str:
    return base64.b64encode(_bytes(seed, raw_bytes)).decode()


def _rg_scope(inputs: Mapping[str, Any]) -> str:
    group = inputs.get("resourceGroupName") or "preview-rg"
    return f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/{group}"


# --- outputs shaped by the SDK's types (what azure-native answers a preview) ---------------------


def _is_unknown(value: Any) -> bool:
    return isinstance(value, pulumi.output.Unknown) or (isinstance(value, str) and value == UNKNOWN)


def resource_class(type_token: str) -> type | None:
    """The SDK class registered for a resource type token (generated SDKs register each module)."""
    parts = type_token.split(":")
    if len(parts) != 3:
        return None
    module = rpc.get_resource_module(parts[0], parts[1], "")
    info = getattr(module, "mod_info", None)
    if not isinstance(info, dict) or type_token not in info.get("classes", {}):
        return None
    return getattr(importlib.import_module(info["fqn"]), info["classes"][type_token], None)


def _shape(value: Any, typ: Any, fill: bool = True) -> Any:
    """``value`` projected onto the output type ``typ``; what does not fit is unknown.

    The same rule as azure-native's previewOutputValue: scalars of the right kind pass, lists and
    maps are projected item by item, objects property by property (missing ones unknown, or left
    out when not ``fill``); any mismatch (a list where the output is a map, as for user-assigned
    identities) is unknown.
    """
    if is_secret(value):
        return rpc.wrap_rpc_secret(_shape(value["value"], typ, fill))
    if _is_unknown(value):
        return UNKNOWN
    typ = _types.unwrap_type(typ) if typ is not None else None
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if typ is None or typ is Any:
        return value
    if typ is bool:
        return value if isinstance(value, bool) else UNKNOWN
    if typ in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return value if ok else UNKNOWN
    if typ is str:
        return value if isinstance(value, str) else UNKNOWN
    if origin in (list, collections.abc.Sequence):
        if not isinstance(value, list):
            return UNKNOWN
        return [_shape(v, args[0] if args else None, fill) for v in value]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return UNKNOWN
        return {k: _shape(v, args[1] if len(args) == 2 else None, fill) for k, v in value.items()}
    if isinstance(typ, type) and _types.is_output_type(typ):
        if not isinstance(value, dict):
            return UNKNOWN
        return _shape_object(value, _types.output_type_types(typ), fill)
    if isinstance(typ, type) and issubclass(typ, pulumi.Asset | pulumi.Archive):
        return value if isinstance(value, pulumi.Asset | pulumi.Archive) else UNKNOWN
    return value


def _shape_object(
    inputs: Mapping[str, Any], types: Mapping[str, Any], fill: bool = True
) -> dict[str, Any]:
    return {
        name: _shape(inputs[name], typ, fill) if name in inputs else UNKNOWN
        for name, typ in types.items()
        if fill or name in inputs
    }


@functools.cache
def _output_types(type_token: str) -> dict[str, Any]:
    cls = resource_class(type_token)
    if cls is None:
        return {}
    return {k: v for k, v in _types.resource_types(cls).items() if k not in ("id", "urn")}


def preview_outputs(type_token: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a provider previews as a new resource's outputs; None for a type no SDK declares."""
    if resource_class(type_token) is None:
        return None
    return _shape_object(inputs, _output_types(type_token))


@functools.cache
def _name_input(type_token: str) -> str | None:
    """The input that names an Azure resource, the one azure-native autonames when it is left
    out: ``<type>Name`` for the type's name or a suffix of it (``accountName`` for a
    StorageAccount, ``containerName`` for a BlobContainer), else ``resourceName`` or ``name``."""
    cls = resource_class(type_token)
    init = getattr(cls, "_internal_init", None)
    if init is None:
        return None
    parameters = set(inspect.signature(init).parameters) - {"resource_name", "opts"}
    # _internal_init takes the logical name as `resource_name`; an input of that name is
    # `resource_name_` there (Python names clash), as in ManagedCluster.
    parameters |= {"resource_name"} if "resource_name_" in parameters else set()
    words = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*", cls.__name__)]
    candidates = ["_".join(words[i:]) + "_name" for i in range(len(words))]
    for candidate in [*candidates, "resource_name", "name"]:
        if candidate in parameters:
            first, *rest = candidate.split("_")
            return first + "".join(part.title() for part in rest)
    return None


def _top_level_id(type_token: str, name_key: str, name: str, inputs: Mapping[str, Any]) -> str:
    """``.../providers/Microsoft.<module>/<types>/<name>`` for a resource in a resource group
    that names no parent (no other ``*Name`` input given); "" (unknown) otherwise."""
    group = inputs.get("resourceGroupName")
    if not isinstance(group, str) or group == UNKNOWN:
        return ""
    parents = [k for k in inputs if k.endswith("Name") and k not in (name_key, "resourceGroupName")]
    if parents:
        return ""
    module, type_name = type_token.split(":")[1].split("/")[0], type_token.split(":")[2]
    plural = type_name[:1].lower() + type_name[1:]
    if plural.endswith("y") and plural[-2:-1] not in "aeiou":
        plural = plural[:-1] + "ies"
    else:
        plural += "es" if plural.endswith(("s", "x", "ch", "sh")) else "s"
    return f"{_rg_scope(inputs)}/providers/Microsoft.{module.title()}/{plural}/{name}"


def _overlay(base: Any, known: Any) -> Any:
    """``known`` (synthesised) values written over ``base`` (previewed) ones, key by key."""
    if isinstance(base, dict) and isinstance(known, dict) and not is_secret(base):
        return {**base, **{k: _overlay(base.get(k), v) for k, v in known.items()}}
    return known


# --- invokes ------------------------------------------------------------------------------------

# Invokes that hand back credentials: Azure's POST list* actions that return keys, secrets,
# credentials, connection strings or tokens, and the few GETs that do (Log Analytics shared keys).
# Matched on the function name, so every one in the installed SDK is covered, not a hand list.
_CREDENTIAL_INVOKE = re.compile(
    r"^(list\w*(Keys?|Credentials?|Secrets?|ConnectionStrings?|SasTokens?|Token|SAS)"
    r"|get\w*(SharedKeys|AccessToken|AuthToken|AccessKey|ApiKey|DefaultKey|SsoToken|ClientToken)"
    r")$"
)
_NOT_SECRET_LEAF = re.compile(
    r"(name|type|permissions?|time|date|expir\w*|uri|url|endpoint|host\w*|id|version|status"
    r"|kind|scope|location|format|usage|state)s?$",
    re.IGNORECASE,
)


def is_credential_invoke(token: str) -> bool:
    """True for an invoke whose result carries credentials (by its function name)."""
    return bool(_CREDENTIAL_INVOKE.match(token.rsplit(":", 1)[-1]))


def invoke_result_type(token: str) -> type | None:
    """The SDK's result class of an invoke: ``<Function>Result`` in the token's module."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    package, module, function = parts
    name = "pulumi_" + package.replace("-", "_")
    if not module.startswith("index"):
        name += "." + module.replace("/", ".")
    try:
        found = importlib.import_module(name)
    except ImportError:
        return None
    result = getattr(found, function[:1].upper() + function[1:] + "Result", None)
    return result if isinstance(result, type) and _types.is_output_type(result) else None


def _service_key(module: str, seed: str) -> str:
    """A synthetic key in the format of the service that issues it."""
    service = module.split("/")[0]
    if service == "cognitiveservices":
        return _bytes(seed, 16).hex()  # 32 hex characters
    if service in ("storage", "cosmosdb", "documentdb", "operationalinsights", "batch"):
        return _base64(seed, 64)  # 86 base64 characters + "=="
    if service == "web":
        return _base62(seed, 60)  # publishing passwords
    if service == "containerregistry":
        return _base62(seed, 52)
    return _base64(seed, 32)  # SharedAccessKey and most other service keys: 43 + "="


def _sas_token(key: str) -> str:
    """A shared access signature as Azure Storage issues one (signed fields, then ``sig``)."""
    signature = key.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return f"sv=2022-11-02&sr=c&sp=r&st=2026-01-01&se=2030-01-01&spr=https&sig={signature}"


def _connection_string(module: str, key: str) -> str:
    service = module.split("/")[0]
    if service == "storage":
        return (
            "DefaultEndpointsProtocol=https;AccountName=preview;"
            f"AccountKey={key};EndpointSuffix=core.windows.net"
        )
    if service in ("cosmosdb", "documentdb"):
        return f"AccountEndpoint=https://preview.documents.azure.com:443/;AccountKey={key};"
    return (
        "Endpoint=sb://preview.servicebus.windows.net/;"
        f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key}"
    )


class AzureShapedMocks(pulumi.runtime.Mocks):
    """Answers registrations with Azure-shaped, deterministic outputs, and invokes offline."""

    def __init__(self) -> None:
        self.origins: dict[str, str] = {}  # synthetic credential -> where the program got it

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        previewed = preview_outputs(args.typ, inputs)
        resource_id, known = self._synthesised(args.typ, args.name, inputs)
        if previewed is None:
            return resource_id, {**inputs, **known}
        types = _output_types(args.typ)
        for key, value in known.items():
            if isinstance(value, dict) and isinstance(inputs.get(key), dict):
                # A synthesised object stands for what Azure returns after create: the inputs
                # projected and the derived members, nothing unknown beside them (one unknown
                # member would make the whole object unknown to the program).
                value = _overlay(_shape(inputs[key], types.get(key), fill=False), value)
            previewed[key] = value
        return resource_id, previewed

    def _synthesised(self, typ: str, name: str, inputs: dict) -> tuple[str, dict[str, Any]]:
        """The resource's ID and the outputs Azure computes that can be derived offline."""
        outputs: dict[str, Any] = {}
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
            parts = (name_key, "resourceGroupName", *re.findall(r"{(\w+)}", path))
            if not all(isinstance(inputs.get(k, ""), str) for k in parts):
                return "", outputs  # built from values not known yet: so is the ID
            resource_id = f"{_rg_scope(inputs)}/providers/{path.format(**inputs)}/{resource_name}"
            outputs["name"] = resource_name
            _azure_outputs(typ, resource_id, inputs, outputs)
            return resource_id, outputs
        if typ.startswith("pulumi:providers:"):
            return f"{name}-id", outputs
        # Any other Azure resource: its name is its name input, or the logical name where
        # azure-native would autoname it; a top-level one's ID follows from it (ARM IDs are
        # case-insensitive, so the module stands for the namespace). Anything else gets its ID
        # on create: unknown in a preview.
        name_key = _name_input(typ) if typ.startswith("azure-native:") else None
        if name_key is None or not isinstance(inputs.get(name_key, name), str):
            return "", outputs
        outputs["name"] = inputs.get(name_key) or name
        resource_id = _top_level_id(typ, name_key, outputs["name"], inputs)
        identity = _identity_outputs(inputs.get("identity"), resource_id) if resource_id else None
        if identity is not None:
            outputs["identity"] = identity
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": PREVIEW_CLIENT,
                "objectId": PREVIEW_DEPLOYER,
                "subscriptionId": PREVIEW_SUBSCRIPTION,
                "tenantId": PREVIEW_TENANT,
            }
        result = invoke_result_type(args.token)
        types = _types.output_type_types(result) if result is not None else {}
        if is_credential_invoke(args.token):
            return self._credentials(args, types)
        # What the provider would read from Azure is not known offline (the output form is
        # answered wholly unknown before this, see answers_unknown): plain values in its shape.
        shaped = {name: _unknown_shape(typ) for name, typ in types.items()}
        return {name: value for name, value in shaped.items() if value is not None}

    def answers_unknown(self, token: str) -> bool:
        """True for an ``_output`` invoke whose result is not known offline: answered the way the
        engine answers an invoke it cannot serve in a preview, ``unknown: true`` (the result is
        wholly unknown; pulumi/runtime/invoke.py), so no result class sees an unknown member."""
        return not (
            token == "azure-native:authorization:getClientConfig"
            or is_credential_invoke(token)
            or _PLAIN_INVOKE.get()
        )

    def _credentials(self, args: pulumi.runtime.MockCallArgs, types: Mapping[str, Any]) -> dict:
        seed = f"{args.token}/{json.dumps(_plain(args.args), sort_keys=True, default=str)}"
        return {name: self._credential(args.token, seed, (name,), t) for name, t in types.items()}

    def _credential(self, token: str, seed: str, path: tuple, typ: Any) -> Any:
        """A synthetic value of ``typ`` at ``path`` of a credential invoke's result; each key made
        is remembered with the invoke and the path it came from."""
        typ = _types.unwrap_type(typ)
        origin, type_args = typing.get_origin(typ), typing.get_args(typ)
        seed, name, module = f"{seed}/{_dotted(path)}", str(path[-1]), token.split(":")[1]
        if origin in (list, collections.abc.Sequence):
            item = type_args[0] if type_args else str
            return [self._credential(token, seed, (*path, i), item) for i in range(2)]
        if isinstance(typ, type) and _types.is_output_type(typ):
            fields = _types.output_type_types(typ)
            return {k: self._credential(token, seed, (*path, k), t) for k, t in fields.items()}
        if typ is bool:
            return True
        if typ in (int, float):
            return 0
        if isinstance(path[-1], int):
            name = str(path[-2])
        lowered = name.lower()
        if lowered == "value" and module.startswith("containerservice"):
            user_token = _base62(seed, 64)
            kubeconfig = _kubeconfig(user_token)  # kubeconfigs[].value: a base64 kubeconfig
            self.origins[user_token] = self.origins[kubeconfig] = (
                f"invoke {token} ({_dotted(path)})"
            )
            return kubeconfig
        if not _is_credential_leaf(name):
            return _plain_leaf(name, path)
        key = _service_key(module, seed)
        self.origins[key] = f"invoke {token} ({_dotted(path)})"
        if lowered.endswith("sastoken"):
            sas = _sas_token(key)
            self.origins[sas] = self.origins[sas.rsplit("sig=", 1)[1]] = self.origins[key]
            return sas
        return _connection_string(module, key) if "connectionstring" in lowered else key


def _is_credential_leaf(name: str) -> bool:
    return bool(name) and not _NOT_SECRET_LEAF.search(name) and not name.lower().endswith("names")


def _plain_leaf(name: str, path: tuple) -> str:
    """A non-secret string of a credential result (key names, dates, URIs), plausible and fixed."""
    lowered = name.lower()
    index = next((p for p in reversed(path) if isinstance(p, int)), 0)
    if lowered.endswith(("time", "date")) or "expir" in lowered:
        return "2026-01-01T00:00:00Z"
    if lowered.endswith(("uri", "url", "endpoint")):
        return "https://preview.invalid/"
    if lowered.endswith("permissions"):
        return "FULL"
    if lowered.endswith("keyname"):
        return f"key{index + 1}"
    return f"preview-{name}"


def _kubeconfig(token: str) -> str:
    text = (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: preview\n  cluster:\n"
        "    server: https://preview.invalid:443\ncontexts:\n- name: preview\n  context:\n"
        "    cluster: preview\n    user: preview\ncurrent-context: preview\nusers:\n"
        f"- name: preview\n  user:\n    token: {token}\n"
    )
    return base64.b64encode(text.encode()).decode()


def _unknown_shape(typ: Any) -> Any:
    """A plain invoke's answer when Azure's is not known: the result type's shape.

    A plain (not ``_output``) invoke hands the program plain values that the SDK's result classes
    type-check, and no plain value can be unknown: strings are Pulumi's unknown sentinel (still
    unknown wherever the program passes them to a resource), lists and maps are empty, numbers
    and booleans are left out, objects keep their properties (so attribute access works).
    """
    typ = _types.unwrap_type(typ)
    origin = typing.get_origin(typ)
    if isinstance(typ, type) and _types.is_output_type(typ):
        fields = {k: _unknown_shape(t) for k, t in _types.output_type_types(typ).items()}
        return {k: v for k, v in fields.items() if v is not None}
    if origin in (list, collections.abc.Sequence):
        return []
    if origin in (dict, collections.abc.Mapping):
        return {}
    if typ in (bool, int, float):
        return None
    return UNKNOWN


_PLAIN_INVOKE: contextvars.ContextVar[bool] = contextvars.ContextVar("plain_invoke", default=False)


@contextmanager
def _plain_invokes_known() -> Iterator[None]:
    """Mark plain invokes (``pulumi.runtime.invoke``, what ``get_x()`` calls; ``get_x_output()``
    calls ``invoke_output``) so the mocks answer them with plain values, and keep the unknown
    sentinel a string there (the SDK would turn it into an object no result class accepts)."""
    original = pulumi.runtime.invoke

    def invoke(tok, props, opts=None, typ=None, package_ref=None):
        marker = _PLAIN_INVOKE.set(True)
        try:
            result = original(tok, props, opts, None, package_ref)
        finally:
            _PLAIN_INVOKE.reset(marker)
        value = _sentinel_unknowns(result.value)
        if typ is not None and value is not None:
            value = rpc.translate_output_properties(value, lambda prop: prop, typ)
        return type(result)(value, result.is_secret, result.is_known, result.dependencies)

    pulumi.runtime.invoke = invoke
    try:
        yield
    finally:
        pulumi.runtime.invoke = original


def _plain(value: Any) -> Any:
    if is_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


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
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    ),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers",
        "containerName",
    ),
    "azure-native:storage:Queue": (
        "Microsoft.Storage/storageAccounts/{accountName}/queueServices/default/queues",
        "queueName",
    ),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    # azure-native 2.x names the module `insights`
    "azure-native:insights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:eventgrid:SystemTopic": ("Microsoft.EventGrid/systemTopics", "systemTopicName"),
    "azure-native:eventgrid:SystemTopicEventSubscription": (
        "Microsoft.EventGrid/systemTopics/{systemTopicName}/eventSubscriptions",
        "eventSubscriptionName",
    ),
}


def _azure_outputs(typ: str, resource_id: str, inputs: dict, outputs: dict) -> None:
    """What Azure computes for the resource types the preview knows, derived from the ID."""
    identity = _identity_outputs(inputs.get("identity"), resource_id)
    if identity is not None:
        outputs["identity"] = identity
    if typ == "azure-native:managedidentity:UserAssignedIdentity":
        outputs["principalId"] = _guid("principal", resource_id)
        outputs["clientId"] = _guid("client", resource_id)
        outputs["tenantId"] = PREVIEW_TENANT
    elif typ == "azure-native:cognitiveservices:Account":
        properties = inputs.get("properties") or {}
        subdomain = properties.get("customSubDomainName") or inputs.get("accountName")
        domain = (
            "openai.azure.com" if inputs.get("kind") == "OpenAI" else "cognitiveservices.azure.com"
        )
        outputs["properties"] = {"endpoint": f"https://{subdomain}.{domain}/"}
    elif typ == "azure-native:keyvault:Vault":
        outputs["properties"] = {"vaultUri": f"https://{inputs.get('vaultName')}.vault.azure.net/"}
    elif typ == "azure-native:web:WebApp":
        outputs["defaultHostName"] = f"{outputs['name']}.azurewebsites.net"
        outputs["hostNames"] = [outputs["defaultHostName"]]
        outputs["enabledHostNames"] = [
            outputs["defaultHostName"],
            f"{outputs['name']}.scm.azurewebsites.net",
        ]
        outputs["outboundIpAddresses"] = "203.0.113.10,203.0.113.11"
    elif typ == "azure-native:keyvault:Secret":
        vault, secret = inputs.get("vaultName"), outputs["name"]
        outputs["properties"] = {"secretUri": f"https://{vault}.vault.azure.net/secrets/{secret}"}
    elif typ == "azure-native:operationalinsights:Workspace":
        outputs["customerId"] = _guid("workspace", resource_id)
    elif typ == "azure-native:storage:StorageAccount":
        # Every endpoint Azure returns for a StorageV2 account (the routing-preference ones only
        # come with a routing preference); the static website's zone (z6) is illustrative.
        outputs["primaryEndpoints"] = {
            kind: f"https://{outputs['name']}.{kind}.core.windows.net/"
            for kind in ("blob", "dfs", "queue", "table", "file")
        } | {"web": f"https://{outputs['name']}.z6.web.core.windows.net/"}
    elif typ in ("azure-native:applicationinsights:Component", "azure-native:insights:Component"):
        # Microsoft: the instrumentation key and the connection string are not secrets.
        key = _guid("instrumentation", resource_id)
        outputs["instrumentationKey"] = key
        outputs["connectionString"] = (
            f"InstrumentationKey={key};"
            f"IngestionEndpoint=https://{inputs.get('location')}-0.in.applicationinsights.azure.com/"
        )


def _identity_outputs(identity: Any, resource_id: str) -> dict[str, Any] | None:
    """A managed identity as Azure returns it: principal and tenant for a system-assigned one,
    user-assigned identities as a map of resource ID to {principalId, clientId} (the input is a
    list of IDs). None when it cannot be derived (an identity ID not known yet): then it stays
    unknown, as the provider previews it."""
    if not isinstance(identity, dict) or not isinstance(identity.get("type"), str):
        return None
    kinds = {k.strip() for k in identity["type"].split(",")}
    result: dict[str, Any] = {}
    if "SystemAssigned" in kinds:
        result["principalId"] = _guid("principal", resource_id)
        result["tenantId"] = PREVIEW_TENANT
    if "UserAssigned" in kinds:
        assigned = identity.get("userAssignedIdentities")
        ids = list(assigned) if isinstance(assigned, list | dict) else []
        if not ids or not all(isinstance(i, str) and i != UNKNOWN for i in ids):
            return None
        result["userAssignedIdentities"] = {
            i: {"principalId": _guid("principal", i), "clientId": _guid("client", i)} for i in ids
        }
    return result


# --- the recording monitor ----------------------------------------------------------------------


class _AsTheSdkSeesIt(pulumi.runtime.Mocks):
    """Hands the SDK each state in its smallest equivalent form, and keeps the full one.

    In a preview the SDK makes a missing output property unknown, and an object or list with an
    unknown member is unknown as a whole (pulumi/runtime/rpc.py resolve_properties,
    contains_unknowns): so the program sees the same values if such an object is sent as one
    unknown. Serializing hundreds of unknown members per site is most of a large preview's
    time; the policies still receive every member (``full``).
    """

    def __init__(self, inner: pulumi.runtime.Mocks) -> None:
        self.inner = inner
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        resource_id, state = self.inner.new_resource(args)
        self.local.full = state
        collapsed = {k: _collapsed(v) for k, v in state.items()}
        return resource_id, {k: v for k, v in collapsed.items() if not _is_unknown(v)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        return self.inner.call(args)


def _collapsed(value: Any) -> Any:
    if is_secret(value):
        return rpc.wrap_rpc_secret(_collapsed(value["value"]))
    unknown = _is_unknown(value) or rpc.contains_unknowns(_sentinel_objects(value))
    return UNKNOWN if unknown else value


def _sentinel_objects(value: Any) -> Any:
    """The value with the UNKNOWN sentinel string as the SDK's Unknown object (what it checks)."""
    if isinstance(value, str) and value == UNKNOWN:
        return pulumi.output.UNKNOWN
    if isinstance(value, dict):
        return {k: _sentinel_objects(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sentinel_objects(v) for v in value]
    return value


class _NotPlain(Exception):
    """A state value only the SDK's serializer knows (e.g. a resource reference)."""


def _wire(value: Any) -> Any:
    """A mock's state in wire format without the SDK's (async, per-value) serializer."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    for kind, signature in ((pulumi.Asset, ASSET_SIG), (pulumi.Archive, ARCHIVE_SIG)):
        if isinstance(value, kind):
            for field in ("path", "text", "uri"):
                if isinstance(getattr(value, field, None), str):
                    return {SECRET_SIG_KEY: signature, field: getattr(value, field)}
            if isinstance(getattr(value, "assets", None), dict):
                return {SECRET_SIG_KEY: signature, "assets": _wire(value.assets)}
    raise _NotPlain(type(value).__name__)


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps each registration request as the engine would receive it."""

    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(_AsTheSdkSeesIt(mock))
        self.recorded: list[PlannedResource] = []
        self.problems: list[str] = []  # registrations the engine would reject
        self.thread_loops: list[asyncio.AbstractEventLoop] = []

    def _thread_loop(self) -> None:
        """The SDK runs monitor calls in executor threads and gives each an event loop it never
        closes; made here instead, so the harness closes them (an unclosed loop collected at
        interpreter exit prints "Invalid file descriptor: -1")."""
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.thread_loops.append(loop)

    def _full_state(self, response) -> dict[str, Any]:
        try:
            return _wire(self.mocks.local.full)
        except _NotPlain:
            return json_format.MessageToDict(response.object)

    def Invoke(self, request):
        self._thread_loop()
        answers_unknown = getattr(self.mocks, "answers_unknown", None)
        if answers_unknown is not None and answers_unknown(request.tok):
            return resource_pb2.ResourceInvokeResponse(unknown=True)
        return super().Invoke(request)

    def ReadResource(self, request):
        self._thread_loop()
        return super().ReadResource(request)

    def RegisterResource(self, request):
        self._thread_loop()
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources[response.urn]
            self.recorded.append(
                PlannedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    inputs=_engine_view(
                        json_format.MessageToDict(request.object), request.name, self.problems
                    ),
                    outputs=_engine_view(self._full_state(response), request.name, self.problems),
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
    """Values as the engine records them: a value not known at preview is the UNKNOWN sentinel."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _sentinel_unknowns(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sentinel_unknowns(v) for v in value]
    return value


def _engine_view(value: Any, resource: str, problems: list[str] | None = None) -> Any:
    """A wire-format value as the engine keeps it: whole numbers as ints (protobuf carries every
    number as a double), and each asset and archive with the ``hash`` the engine adds on
    registration (sdk/go/common/resource/plugin/rpc.go, ComputeAssetHashes). An asset file that
    cannot be read is added to ``problems``: the engine rejects that registration."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_engine_view(v, resource, problems) for v in value]
    if not isinstance(value, dict):
        return value
    viewed = {k: _engine_view(v, resource, problems) for k, v in value.items()}
    signature = value.get(SECRET_SIG_KEY)
    if signature in (ASSET_SIG, ARCHIVE_SIG) and "hash" not in viewed:
        try:
            digest = _asset_hash(viewed, resource)
        except AssetMissing as error:
            if problems is None:
                raise
            problems.append(str(error))
            digest = None
        if digest is not None:
            viewed["hash"] = digest
    return viewed


def _asset_hash(asset: Mapping[str, Any], resource: str) -> str | None:
    """SHA-256 of the content, as the engine computes it (asset.go / archive.go EnsureHash).

    Text and files hash their bytes; an archive file hashes its bytes. The engine hashes a folder
    as a tar stream of its own making and fetches remote URIs to hash them: neither can be
    reproduced offline, so those carry no hash here (pulumi-policy drops hashes anyway).
    """
    if isinstance(asset.get("text"), str):
        return hashlib.sha256(asset["text"].encode()).hexdigest()
    path = asset.get("path")
    if not isinstance(path, str):
        return None
    file = Path(path)
    if asset.get(SECRET_SIG_KEY) == ARCHIVE_SIG and file.is_dir():
        return None
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as error:
        raise AssetMissing(
            f"resource {resource!r}: failed to compute asset hash for {path!r}: "
            f"{error.strerror.lower() if error.strerror else error}"
        ) from None


class AssetMissing(Exception):
    """An asset or archive whose file cannot be read: the engine rejects the registration."""


# --- running a program --------------------------------------------------------------------------


@contextmanager
def _program_environment(program_dir: Path) -> Iterator[None]:
    """The program's folder first on sys.path, no engine variables, cwd at the program, and the
    program's own prints on stderr (the report owns stdout)."""
    saved_env = {k: os.environ.pop(k) for k in _ENGINE_VARIABLES if k in os.environ}
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        os.environ.update(saved_env)


@contextmanager
def _own_event_loop(monitor: RecordingMonitor) -> Iterator[None]:
    """A fresh event loop for the run, closed with every loop the run made, then the caller's
    loop back in place."""
    try:
        previous: asyncio.AbstractEventLoop | None = asyncio.get_event_loop()
    except RuntimeError:
        previous = None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        for thread_loop in monitor.thread_loops:
            thread_loop.close()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(
            previous if previous is not None and not previous.is_closed() else None
        )


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


def _program_failure(error: BaseException, program_dir: Path) -> ProgramFailed:
    """One line naming the exception and the program's own file and line where it was raised."""
    cause = error
    frames = traceback.extract_tb(cause.__traceback__)
    inside = [f for f in frames if Path(f.filename).resolve().is_relative_to(program_dir)]
    frame = (inside or frames or [None])[-1]
    where = ""
    if frame is not None:
        where = f" at {frame.filename}:{frame.lineno}"
    message = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {message[0]}" if message else type(cause).__name__
    details = "".join(traceback.format_exception(cause))
    return ProgramFailed(f"the program failed: {text}{where}", details)


def run_program(
    program_dir: Path | str,
    config: Mapping[str, Any],
    *,
    project: str = "secure-azure-ai",
    stack: str = "dev",
    secret_keys: frozenset[str] | None = None,
) -> Plan:
    """Run `program_dir/__main__.py` under mocks with `config`; return what it would create.

    Config keys are full names ("secure-azure-ai:apps"); non-string values are passed as JSON,
    the way the engine passes structured config; ``secret_keys`` (default: the StackConfig's) are
    the ones the program receives marked secret. Raises HarnessError when the program stops with a
    pulumi.RunError (e.g. invalid or missing configuration): its message, one line per problem;
    ProgramFailed when it raises anything else.
    """
    directory = Path(program_dir).resolve()
    if not (directory / "__main__.py").is_file():
        raise HarnessError(f"program {str(program_dir)!r}: no __main__.py there")
    if secret_keys is None:
        secret_keys = getattr(config, "secret_keys", frozenset())
    mock = AzureShapedMocks()
    for key in secret_keys:
        if isinstance(config.get(key), str):
            mock.origins[config[key]] = f"config {key} (secure)"
    monitor = RecordingMonitor(mock)
    captured: dict[str, Any] = {}

    with _program_environment(directory), _own_event_loop(monitor), _plain_invokes_known():
        settings.ROOT.set(None)
        pulumi.runtime.set_mocks(
            monitor.mocks, project=project, stack=stack, preview=True, monitor=monitor
        )
        pulumi.runtime.set_all_config(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
            sorted(secret_keys),
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
        except Exception as error:  # the program's own failure, reported in one line
            raise _program_failure(error, directory) from None
        finally:
            settings.ROOT.set(None)
    if monitor.problems:
        raise ProgramFailed(
            f"the program failed: {monitor.problems[0]}", "\n".join(monitor.problems)
        )
    return Plan(
        project=project,
        stack=stack,
        resources=monitor.recorded,
        outputs=_engine_view(captured, "stack"),
        principals={PREVIEW_DEPLOYER: "deploying identity"},
        origins=dict(mock.origins),
    )


# --- the same harness in another interpreter (--python) -----------------------------------------


def run_program_with(
    python: Path | str,
    program_dir: Path | str,
    config: Mapping[str, Any],
    *,
    project: str,
    stack: str,
) -> Plan:
    """Run the harness under another Python (the program's own virtualenv) and read its plan.

    That interpreter needs only the program's own dependencies (pulumi and its providers): this
    repository is put on its path, the request and the plan travel as JSON files, and what the
    program prints goes to stderr.
    """
    request = {
        "program": str(Path(program_dir).resolve()),
        "config": dict(config),
        "secretKeys": sorted(getattr(config, "secret_keys", frozenset())),
        "project": project,
        "stack": stack,
    }
    with tempfile.TemporaryDirectory(prefix="preflight-") as folder:
        request_file, result_file = Path(folder) / "request.json", Path(folder) / "plan.json"
        request_file.write_text(json.dumps(request), encoding="utf-8")
        environment = {k: v for k, v in os.environ.items() if k not in _ENGINE_VARIABLES}
        environment["PYTHONPATH"] = str(_ROOT)
        environment.pop("PYTHONHOME", None)
        try:
            completed = subprocess.run(
                [str(python), "-m", "preflight.harness", str(request_file), str(result_file)],
                env=environment,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as error:
            raise HarnessError(
                f"--python {str(python)!r}: cannot run it ({error.strerror})"
            ) from None
        if result_file.is_file():
            sys.stderr.write(completed.stdout + completed.stderr)  # the program's own prints
        else:  # the harness never started there: the reason is the last line it printed
            last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise HarnessError(
                f"--python {str(python)!r}: the harness did not run there ({last}); the rule is "
                "a Python 3.10+ with the program's pulumi packages installed"
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
    if "plan" in result:
        return Plan.from_dict(result["plan"])
    if result.get("failed") == "input":
        raise HarnessError(result["message"])
    raise ProgramFailed(result["message"], result.get("details", ""))


def _child_main(request_file: str, result_file: str) -> int:
    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    try:
        plan = run_program(
            request["program"],
            request["config"],
            project=request["project"],
            stack=request["stack"],
            secret_keys=frozenset(request["secretKeys"]),
        )
        result: dict[str, Any] = {"plan": plan.to_dict()}
    except HarnessError as error:
        result = {"failed": "input", "message": str(error)}
    except ProgramFailed as error:
        result = {"failed": "program", "message": error.summary, "details": error.details}
    Path(result_file).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(*sys.argv[1:3]))
