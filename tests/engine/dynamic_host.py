"""The Pulumi engine's side of a Python dynamic provider: the plugin process, the handshake, the
requests, and properties encoded the way the engine encodes them.

What the real CLI does, and where it is defined (pulumi/pulumi):

- **Launch.** The engine runs the plugin ``pulumi-resource-pulumi-python`` with the project root as
  working directory (pkg/resource/plugin/plugin.go ``ExecPlugin``: ``cmd.Dir = pwd``) and the
  engine's gRPC address as its one argument. The plugin is a shell script
  (sdk/python/dist/pulumi-resource-pulumi-python) that makes ``PULUMI_RUNTIME_VIRTUALENV``
  absolute, puts the virtualenv's ``bin`` first on ``PATH`` and runs ``<virtualenv>/bin/python -u
  -m pulumi.dynamic <engine address>``.
- **Environment.** The CLI's own environment, plus ``PULUMI_RUNTIME_<OPTION>`` for every runtime
  option of Pulumi.yaml, ``PULUMI_PROJECT``, and ``PULUMI_CONFIG`` (pkg/resource/plugin/
  provider_plugin.go ``NewProvider``): the JSON of the stack's config keys in the provider's own
  namespace, ``pulumi-python`` (pkg/host/host.go ``Provider``), so ``{}`` for this project.
- **Port and handshake.** The engine reads the plugin's first stdout line as its port
  (plugin.go ``newPlugin``/``parsePort``), dials ``127.0.0.1:<port>`` and calls ``Handshake``;
  an ``UNIMPLEMENTED`` answer falls back to the older protocol (provider_plugin.go ``handshake``).
  Then ``GetPluginInfo`` (host.go), ``CheckConfig`` (``UNIMPLEMENTED``: the news are kept) and
  ``Configure``, whose ``acceptSecrets``/``supportsPreview`` answers decide how every later
  request is encoded (provider_plugin.go ``Configure``).
- **Encoding.** ``MarshalProperties`` (pkg/resource/plugin/rpc.go) with ``KeepSecrets`` only for
  a provider that accepts secrets (the Python host answers ``acceptSecrets=False``, so secrets go
  as their plain values) and ``KeepUnknowns`` only in a preview (``AllowUnknowns``) for Check and
  Diff; an unknown goes as ``UnknownStringValue`` (the program's SDK sends every unknown as that
  string, and the engine keeps its type). Nulls are sent, and the Python host drops them.
  Answers are unmarshalled with secrets kept, and ``annotateSecrets`` marks secret every
  top-level output whose input of the same name was secret.
- **Preview.** A provider that does not support previews gets no Create or Update in a preview:
  the engine takes the checked inputs as the planned state (provider_plugin.go ``Create``/
  ``Update``, ``req.Preview``).
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pulumi
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import mocks, proto
from pulumi.runtime.proto import provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
DYNAMIC_TYPE = "pulumi-python:dynamic:Resource"
DEFAULT_PROVIDER_TYPE = "pulumi:providers:pulumi-python"
UNKNOWN_STRING_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # rpc.go UnknownStringValue
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # resource.SecretSig
_SIG_KEY = "4dabf18193072939515e22adb298388d"  # resource.SigKey


def project() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text("utf-8"))


# --- The engine's property values ---------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A value the engine holds as secret (``resource.MakeSecret``)."""

    value: Any


class Computed:
    """A value the engine does not know yet (``resource.Computed``)."""

    def __repr__(self) -> str:
        return "<computed>"


COMPUTED = Computed()


def from_wire(value: Any) -> Any:
    """A deserialised Struct value as the engine holds it: secrets and unknowns recognised
    (rpc.go ``UnmarshalPropertyValue`` with ``KeepSecrets`` and ``KeepUnknowns``)."""
    if value == UNKNOWN_STRING_VALUE:
        return COMPUTED
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return Secret(from_wire(value["value"]))
        return {k: from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    return value


def _plain(value: Any, allow_unknowns: bool) -> Any:
    """rpc.go ``MarshalPropertyValue`` for a provider that accepts no secrets."""
    if isinstance(value, Secret):
        return _plain(value.value, allow_unknowns)
    if isinstance(value, Computed):
        if not allow_unknowns:
            raise AssertionError("the engine sends no unknown outside a preview")
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _plain(v, allow_unknowns) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, allow_unknowns) for v in value]
    return value


def to_provider(props: Mapping[str, Any], *, allow_unknowns: bool = False) -> struct_pb2.Struct:
    """A property map as the engine sends it to this provider."""
    struct = struct_pb2.Struct()
    struct.update({k: _plain(v, allow_unknowns) for k, v in props.items()})
    return struct


def from_provider(
    struct: struct_pb2.Struct, like: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """An answer's properties as the engine keeps them, re-marked secret by ``annotateSecrets``
    where the input of the same name was secret."""
    # Nulls read as absent, as the engine's PropagateNil maps do for a dynamic provider's answer.
    props = {k: from_wire(v) for k, v in _wire_dict(struct).items() if v is not None}
    for key, value in (like or {}).items():
        if key in props and _contains_secret(value) and not isinstance(props[key], Secret):
            props[key] = Secret(props[key])
    return props


def _contains_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secret(v) for v in value)
    return False


# --- What the program registers ------------------------------------------------------------------


class _RecordingMonitor(mocks.MockMonitor):
    """The resource monitor's view of the program: the exact Struct the SDK sends."""

    def __init__(self, mocked: pulumi.runtime.Mocks) -> None:
        super().__init__(mocked)
        self.registered: dict[str, struct_pb2.Struct] = {}

    def RegisterResource(self, request: Any) -> Any:
        if request.type == DYNAMIC_TYPE:
            copy = struct_pb2.Struct()
            copy.CopyFrom(request.object)
            self.registered[request.name] = copy
        return super().RegisterResource(request)


class _CloudMocks(pulumi.runtime.Mocks):
    """The cloud resources the program reads from: those in ``existing`` answer their ID and
    outputs; any other is still to be created, so in a preview its ID and computed outputs are
    unknown (an empty ID reads as unknown: pulumi/runtime/resource.py)."""

    def __init__(self, preview: bool, existing: Mapping[str, tuple[str, dict[str, Any]]]) -> None:
        self.preview, self.existing = preview, existing

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == DYNAMIC_TYPE:
            return "", {}
        if args.name in self.existing:
            return self.existing[args.name]
        assert self.preview, f"{args.name} must exist outside a preview"
        return "", {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        raise AssertionError(f"unexpected invoke {args.token}")


def registration(
    program: Callable[[], None],
    *,
    preview: bool,
    existing: Mapping[str, tuple[str, dict[str, Any]]],
    stack: str = "dev",
) -> dict[str, dict[str, Any]]:
    """Run ``program`` under the SDK and return each dynamic resource's inputs as the engine holds
    them after ``RegisterResource`` (the ``__provider`` serialised by the SDK itself)."""
    monitor = _RecordingMonitor(_CloudMocks(preview, existing))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project()["name"], stack=stack, preview=preview, monitor=monitor
    )
    pulumi.runtime.test(program)()
    return {
        name: {k: from_wire(v) for k, v in _wire_dict(struct).items()}
        for name, struct in monitor.registered.items()
    }


def _wire_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain JSON values, signatures and sentinels left as they are."""
    return json_format.MessageToDict(struct)


# --- The plugin process --------------------------------------------------------------------------


@dataclass
class ProviderProcess:
    """``python -m pulumi.dynamic`` running as the engine runs it."""

    process: subprocess.Popen
    port: int
    engine_address: str
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", errors="replace")


def plugin_environment(base: Mapping[str, str], venv: Path) -> dict[str, str]:
    """The plugin's environment: the CLI's, the runtime options, project and provider config,
    and what the plugin script changes (absolute virtualenv, its bin first, no PYTHONHOME)."""
    runtime = project()["runtime"]
    env = dict(base)
    for option, value in (runtime.get("options") or {}).items():
        env[f"PULUMI_RUNTIME_{option.upper()}"] = str(value)
    env["PULUMI_PROJECT"] = project()["name"]
    env["PULUMI_CONFIG"] = json.dumps({})  # no pulumi-python:* config in this stack
    env["PULUMI_RUNTIME_VIRTUALENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), base.get("PATH", "/usr/bin:/bin")])
    env.pop("PYTHONHOME", None)
    return env


@contextmanager
def running_provider(
    base_env: Mapping[str, str], engine_address: str, stderr_path: Path, timeout: float = 60
) -> Iterator[ProviderProcess]:
    venv = ROOT / project()["runtime"]["options"]["virtualenv"]
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [str(venv / "bin" / "python"), "-u", "-m", "pulumi.dynamic", engine_address],
            cwd=ROOT,
            env=plugin_environment(base_env, venv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        line = process.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            process.kill()
            process.wait()
            raise AssertionError(f"no port from the provider: {stderr_path.read_text()}")
        yield ProviderProcess(process, int(line), engine_address, stderr_path)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        process.stdout.close()


# --- The engine's requests -----------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call that failed, with the details the engine would print."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


@dataclass
class State:
    """One resource as the engine's state holds it."""

    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass
class Engine:
    """The calls the engine makes to the dynamic provider, and a transcript of every answer."""

    stub: provider_pb2_grpc.ResourceProviderStub
    stack: str = "dev"
    transcript: list[str] = field(default_factory=list)

    def urn(self, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{project()['name']}::{DYNAMIC_TYPE}::{name}"

    def _resource(self, name: str) -> dict[str, str]:
        """The fields naming the resource in every request."""
        return {"urn": self.urn(name), "name": name, "type": DYNAMIC_TYPE}

    def _call(self, method: str, request: Any) -> Any:
        try:
            response = getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as error:
            self.transcript.append(f"{method} error {error.code()}: {error.details()}")
            raise ProviderError(error.code(), error.details() or "") from None
        self.transcript.append(f"{method}: {response}")
        return response

    def start(self) -> dict[str, Any]:
        """Handshake, plugin info, provider config: what the engine does before any resource."""
        found: dict[str, Any] = {}
        try:
            self._call("Handshake", proto.ProviderHandshakeRequest(engine_address="x"))
        except ProviderError as error:
            found["Handshake"] = error.code
        found["GetPluginInfo"] = self._call("GetPluginInfo", empty_pb2.Empty()).version
        default = f"urn:pulumi:{self.stack}::{project()['name']}::{DEFAULT_PROVIDER_TYPE}::default"
        try:
            self._call(
                "CheckConfig",
                proto.CheckRequest(
                    urn=default, name="default", type=DEFAULT_PROVIDER_TYPE, olds={}, news={}
                ),
            )
        except ProviderError as error:
            found["CheckConfig"] = error.code
        found["Configure"] = self._call(
            "Configure",
            proto.ConfigureRequest(
                variables={},
                args=struct_pb2.Struct(),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                urn=default,
                name="default",
                type=DEFAULT_PROVIDER_TYPE,
                id="00000000-0000-0000-0000-000000000000",
            ),
        )
        return found

    def check(
        self, name: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, preview: bool
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        response = self._call(
            "Check",
            proto.CheckRequest(
                **self._resource(name),
                olds=to_provider(olds, allow_unknowns=preview),
                news=to_provider(news, allow_unknowns=preview),
                randomSeed=secrets.token_bytes(32),
            ),
        )
        failures = [(f.property, f.reason) for f in response.failures]
        return from_provider(response.inputs, news), failures

    def diff(self, name: str, old: State, news: Mapping[str, Any], *, preview: bool) -> Any:
        return self._call(
            "Diff",
            proto.DiffRequest(
                id=old.id,
                **self._resource(name),
                old_inputs=to_provider(old.inputs, allow_unknowns=preview),
                olds=to_provider(old.outputs, allow_unknowns=preview),
                news=to_provider(news, allow_unknowns=preview),
            ),
        )

    def create(self, name: str, inputs: Mapping[str, Any]) -> State:
        response = self._call(
            "Create",
            proto.CreateRequest(
                **self._resource(name),
                properties=to_provider(inputs),
                timeout=0,
                preview=False,
            ),
        )
        assert response.id, "the engine refuses an empty ID from create"
        return State(response.id, dict(inputs), from_provider(response.properties, inputs))

    def read(self, name: str, old: State) -> State:
        response = self._call(
            "Read",
            proto.ReadRequest(
                id=old.id,
                **self._resource(name),
                properties=to_provider(old.outputs),
                inputs=to_provider(old.inputs),
            ),
        )
        inputs = from_provider(response.inputs, old.inputs) if response.inputs else old.inputs
        return State(response.id, inputs, from_provider(response.properties, old.inputs))

    def update(self, name: str, old: State, news: Mapping[str, Any]) -> State:
        response = self._call(
            "Update",
            proto.UpdateRequest(
                id=old.id,
                **self._resource(name),
                olds=to_provider(old.outputs),
                news=to_provider(news),
                old_inputs=to_provider(old.inputs),
                timeout=0,
                preview=False,
            ),
        )
        return State(old.id, dict(news), from_provider(response.properties, news))

    def delete(self, name: str, old: State) -> None:
        self._call(
            "Delete",
            proto.DeleteRequest(
                id=old.id,
                **self._resource(name),
                properties=to_provider(old.outputs),
                old_inputs=to_provider(old.inputs),
                timeout=0,
            ),
        )
