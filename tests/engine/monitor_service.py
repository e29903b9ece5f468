"""The engine's resource monitor, as a component provider's Construct talks to it.

For a remote component the engine calls the provider's ``Construct`` with its own resource monitor's
address (pkg/resource/plugin/provider_plugin.go ``Construct``: ``MonitorEndpoint``); the provider's
SDK then registers the component and every child there, invokes functions through it and registers
the component's outputs. What the real monitor does, and where (pkg/resource/deploy/source_eval.go):

- ``SupportsFeature``: ``supportsFeatureID``, the fixed list below.
- ``RegisterResource``: the URN is ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``,
  the type qualified by the parent's unless the parent is the stack (sdk/go/common/resource/urn.go
  ``NewURN``/``CreateURN``). In a preview a new custom resource answers no ID and the outputs its
  provider plans (deploy/step.go ``CreateStep.Apply`` with ``preview``), where whatever Azure
  computes is unknown. Without a provider's schema this monitor cannot tell computed from echoed
  values, so it plans none: every output of a new resource is unknown (the SDK reads a missing
  key as unknown in a preview), never a known ``None``.
- ``Invoke``: routed to the function's provider; here a table of answers, and anything else fails
  loudly as a provider does for an unknown function.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2, resource_pb2, resource_pb2_grpc

from tests.engine.engine_service import serving

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
# source_eval.go supportsFeatureID: every feature the engine answers true for.
ENGINE_FEATURES = frozenset(
    {
        "secrets",
        "resourceReferences",
        "outputValues",
        "aliasSpecs",
        "replacementTrigger",
        "deletedWith",
        "replaceWith",
        "transforms",
        "invokeTransforms",
        "parameterization",
        "resourceHooks",
        "errorHooks",
        "sendsOptionsToHooks",
    }
)
# source_eval.go supportedMonitorFeatures: the same, as GetDeploymentInfo lists them, plus three.
_ALWAYS = ("BYTE_STRING", "INVOKE_DEPENDS_ON", "INVOKE_PARENT")
MONITOR_FEATURES = [
    resource_pb2.ResourceMonitorFeature.Value(f"RESOURCE_MONITOR_FEATURE_{name}")
    for name in [
        *(re.sub(r"(?<!^)([A-Z])", r"_\1", feature).upper() for feature in sorted(ENGINE_FEATURES)),
        *_ALWAYS,
    ]
]


def stack_urn(project: str, stack: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{ROOT_STACK_TYPE}::{project}-{stack}"


@dataclass
class Registration:
    """One RegisterResource the monitor received, and the URN it answered."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    request: Any


@dataclass
class FakeResourceMonitor(resource_pb2_grpc.ResourceMonitorServicer):
    """Records registrations, outputs and invokes; answers as the engine does in a preview."""

    project: str
    stack: str
    invokes: Mapping[str, Mapping[str, Any]]
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoked: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def urn(self, type_: str, name: str, parent: str) -> str:
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != ROOT_STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return resource_pb2.DeploymentInfo(
            project=self.project,
            stack=self.stack,
            organization="organization",
            dryRun=True,
            supportedFeatures=MONITOR_FEATURES,
        )

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in ENGINE_FEATURES)

    def RegisterResource(self, request: Any, context: Any) -> Any:
        urn = self.urn(request.type, request.name, request.parent)
        inputs = json_format.MessageToDict(request.object)
        with self._lock:
            self.registrations.append(
                Registration(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=request.custom,
                    inputs=inputs,
                    dependencies=list(request.dependencies),
                    request=request,
                )
            )
        return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=struct_pb2.Struct())

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        with self._lock:
            self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: Any) -> Any:
        with self._lock:
            self.invoked.append(request.tok)
        if request.tok not in self.invokes:
            context.abort(grpc.StatusCode.UNKNOWN, f"unknown function {request.tok}")
        answer = json_format.ParseDict(dict(self.invokes[request.tok]), struct_pb2.Struct())
        return provider_pb2.InvokeResponse(**{"return": answer})


@contextmanager
def fake_monitor(
    project: str, stack: str, invokes: Mapping[str, Mapping[str, Any]]
) -> Iterator[tuple[FakeResourceMonitor, str]]:
    """The monitor, listening on 127.0.0.1, and its address."""
    monitor = FakeResourceMonitor(project, stack, invokes)
    # The SDK registers children concurrently: room for several requests at once.
    with serving(resource_pb2_grpc.add_ResourceMonitorServicer_to_server, monitor, 8) as address:
        yield monitor, address
