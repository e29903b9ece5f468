"""The Pulumi engine's side of the policy pack: publish layout, virtualenv, process and requests.

What the real CLI does, and where it is defined (pulumi/pulumi):

- ``pulumi policy publish`` tars the pack's folder alone, honouring ``.gitignore`` files
  (pkg/backend/httpstate/policypack.go ``Publish``: ``archive.TGZ(pwd, "package", true)``), and
  Pulumi Cloud's install unpacks it as
  ``~/.pulumi/policies/<org>/pulumi-analyzer-<name>-v<version>``
  (sdk/go/common/workspace/plugins.go ``GetPolicyPath``).
- The Python host starts ``<folder>/<virtualenv>/bin/python -u -m pulumi.policy <engine address>
  <folder>`` with the folder as working directory, and sets ``PULUMI_PROJECT``, ``PULUMI_STACK``,
  ``PULUMI_DRY_RUN``, ``PULUMI_ORGANIZATION`` and ``PULUMI_CONFIG`` from the stack
  (sdk/python/cmd/pulumi-language-python/main.go ``RunPlugin``); the analyzer prints its port on
  its first stdout line (pulumi-policy sdk/python/lib/pulumi_policy/policy.py ``PolicyPack``).
- Requests: properties marshalled with ``KeepUnknowns``, ``KeepSecrets`` and
  ``SkipInternalKeys`` (top-level ``__`` keys such as a dynamic resource's ``__provider`` are not
  sent); ``Analyze`` gets a resource's inputs, ``AnalyzeStack`` every resource's outputs with its
  parent and (non-empty) property dependencies (pkg/resource/plugin/analyzer_plugin.go
  ``Analyze``/``AnalyzeStack``, pkg/resource/deploy/step_generator.go ``AnalyzeResources``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import selectors
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from preflight.evaluate import _merge
from preflight.model import Plan, PlannedResource
from tests.engine.engine_service import FakeEngine, fake_engine  # noqa: F401 (re-exported)

ROOT = Path(__file__).resolve().parents[2]
PACK_SOURCE = ROOT / "policies"


def pack_version(pack: Path = PACK_SOURCE) -> str:
    return str(yaml.safe_load((pack / "PulumiPolicy.yaml").read_text("utf-8"))["version"])


def published_copy(pack_name: str, destination: Path) -> Path:
    """The pack's folder alone, as Pulumi Cloud installs it, minus what its .gitignore excludes."""
    patterns = [
        line.strip().rstrip("/")
        for line in (PACK_SOURCE / ".gitignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    target = destination / f"pulumi-analyzer-{pack_name}-v{pack_version()}"
    shutil.copytree(PACK_SOURCE, target, ignore=shutil.ignore_patterns(*patterns))
    return target


def pack_virtualenv(pack: Path, cache: Path) -> Path:
    """A virtualenv holding only the pack's requirements.txt, built by `make policy-venv`.

    Built once per requirements (and constraints, and interpreter) under ``cache``, then reused;
    a lock keeps two test runs from building the same one at once.
    """
    digest = hashlib.sha256(
        (pack / "requirements.txt").read_bytes()
        + (ROOT / "constraints.txt").read_bytes()
        + sys.version.encode()
    ).hexdigest()[:16]
    venv = cache / f"venv-{digest}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".installed").is_file():
            subprocess.run(
                [
                    "make",
                    "--no-print-directory",
                    "-s",
                    "policy-venv",
                    f"PYTHON={sys.executable}",
                    f"POLICY_PACK={pack}",
                    f"POLICY_VENV={venv}",
                ],
                cwd=ROOT,
                check=True,
                timeout=600,
            )
    return venv


@dataclass
class StackContext:
    """What the host puts in the analyzer's environment from the stack (RunPlugin)."""

    project: str = "secure-azure-ai"
    stack: str = "dev"
    organization: str = "organization"
    dry_run: bool = True
    config: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        return {
            "PULUMI_ORGANIZATION": self.organization,
            "PULUMI_PROJECT": self.project,
            "PULUMI_STACK": self.stack,
            "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            "PULUMI_CONFIG": json.dumps(self.config),
        }


@dataclass
class RunningPack:
    process: subprocess.Popen
    stub: analyzer_pb2_grpc.AnalyzerStub

    def stderr(self) -> str:
        self.process.terminate()
        return self.process.communicate(timeout=30)[1].decode(errors="replace")


def _first_line(process: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the pack printed no port within {timeout} s")
    return process.stdout.readline().decode().strip()


def start_pack(pack: Path, engine_address: str, stack: StackContext) -> subprocess.Popen:
    """The analyzer process exactly as RunPlugin starts it (no PYTHONPATH, folder as cwd)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        **stack.environment(),
    }
    return subprocess.Popen(
        [
            str(pack / "venv" / "bin" / "python"),
            "-u",
            "-m",
            "pulumi.policy",
            engine_address,
            str(pack),
        ],
        cwd=pack,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@contextmanager
def running_pack(pack: Path, engine_address: str, stack: StackContext) -> Iterator[RunningPack]:
    process = start_pack(pack, engine_address, stack)
    try:
        line = _first_line(process, timeout=60)
        if not line.isdigit():
            process.kill()
            raise AssertionError(f"no port from the pack: {process.communicate()[1].decode()}")
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            yield RunningPack(process, analyzer_pb2_grpc.AnalyzerStub(channel))
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# --- requests, encoded as the engine encodes them ------------------------------------------------


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    # SkipInternalKeys: only top-level "__" keys are dropped (rpc.go MarshalProperties).
    kept = {key: value for key, value in props.items() if not key.startswith("__")}
    return json_format.ParseDict(kept, struct_pb2.Struct())


def _options(resource: PlannedResource) -> Any:
    return proto.AnalyzerResourceOptions(parent=resource.parent or "")


def configure_request(config: Mapping[str, tuple[Any, Mapping[str, Any]]]) -> Any:
    """ConfigureAnalyzerRequest from resolved (level, settings) per policy (analyzer_plugin.go)."""
    return proto.ConfigureAnalyzerRequest(
        policyConfig={
            name: proto.PolicyConfig(
                enforcementLevel=proto.EnforcementLevel.Value(level.name),
                properties=json_format.ParseDict(dict(settings), struct_pb2.Struct()),
            )
            for name, (level, settings) in config.items()
        }
    )


def analyze_request(resource: PlannedResource) -> Any:
    """Analyze: the resource's inputs, secrets kept in their signature, unknowns as the sentinel."""
    return proto.AnalyzeRequest(
        urn=resource.urn,
        type=resource.type,
        name=resource.name,
        properties=_struct(resource.inputs),
        options=_options(resource),
    )


def analyze_stack_request(plan: Plan) -> Any:
    """AnalyzeStack: every resource's state (outputs over inputs, as a preview records them), the
    root stack resource included, its properties the stack outputs."""
    return proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                urn=r.urn,
                type=r.type,
                name=r.name,
                properties=_struct(_merge(r.inputs, r.outputs)),
                options=_options(r),
                parent=r.parent or "",
                dependencies=list(r.dependencies),
                propertyDependencies={
                    key: proto.AnalyzerPropertyDependencies(urns=list(urns))
                    for key, urns in r.property_dependencies.items()
                    if urns
                },
            )
            for r in [*plan.resources, plan.stack_resource()]
        ]
    )
