"""What an offline preview produces: the planned resources, the RBAC grants, the policy violations.

Inputs are kept in Pulumi's wire format (camelCase property names) exactly as the engine would send
them: a secret value is the dict ``{SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": ...}``, an asset or
archive ``{SECRET_SIG_KEY: ASSET_SIG | ARCHIVE_SIG, "path" | "text" | "uri" | "assets": ...,
"hash": ...}``, and a value not known until apply is the string ``UNKNOWN``
(sdk/go/common/resource/plugin/rpc.go; pulumi/runtime/rpc.py). Reports, policies and tests all
read this one model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pulumi.runtime import rpc

from policies.roles import role_name

# The SDK's own wire constants (the engine's are sdk/go/common/resource/sig and plugin/rpc.go).
SECRET_SIG_KEY: str = rpc._special_sig_key
SECRET_SIG_VALUE: str = rpc._special_secret_sig
UNKNOWN: str = rpc.UNKNOWN
ASSET_SIG: str = rpc._special_asset_sig
ARCHIVE_SIG: str = rpc._special_archive_sig

ROLE_ASSIGNMENT_TYPE = "azure-native:authorization:RoleAssignment"
USER_ASSIGNED_IDENTITY_TYPE = "azure-native:managedidentity:UserAssignedIdentity"


def is_secret(value: Any) -> bool:
    """True for a value wrapped in Pulumi's secret signature."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def unwrap_secrets(value: Any) -> Any:
    """The same value with every secret wrapper replaced by what it holds (as policies see it)."""
    if is_secret(value):
        return unwrap_secrets(value.get("value"))
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


@dataclass(frozen=True)
class PlannedResource:
    """One resource registration as the engine would receive it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    custom: bool = True
    id: str | None = None
    provider: str | None = None


@dataclass(frozen=True)
class Grant:
    """A role assignment in plain words: who gets which role on what."""

    principal: str
    role: str
    scope: str
    urn: str


@dataclass(frozen=True)
class Violation:
    """One policy finding. ``message`` never holds a full secret (values are masked)."""

    policy: str
    enforcement: str  # "mandatory" | "advisory"
    urn: str | None
    message: str
    remediation: str = ""


@dataclass
class Plan:
    """Everything the program would create, with its stack outputs."""

    project: str
    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    principals: dict[str, str] = field(default_factory=dict)
    """Names for principal IDs that no planned resource owns (e.g. the deploying identity)."""
    origins: dict[str, str] = field(default_factory=dict)
    """Each synthetic credential the preview handed the program, and where it came from
    ("config app:dbPassword (secure)", "invoke azure-native:storage:listStorageAccountKeys ...").
    Never rendered: used to say where a finding's value came from, and to mask each value."""

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON data (to hand a plan across processes)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        resources = [
            PlannedResource(
                **{
                    **r,
                    "dependencies": tuple(r["dependencies"]),
                    "property_dependencies": {
                        k: tuple(v) for k, v in r["property_dependencies"].items()
                    },
                }
            )
            for r in data["resources"]
        ]
        return cls(**{**data, "resources": resources})

    def synthetic_credentials(self) -> frozenset[str]:
        """Every credential value the preview made for the program (listed keys, SAS tokens,
        kubeconfigs, ``secure:`` config): reports mask each wherever it appears, whether or not
        the detection engine recognises its format."""
        return frozenset(self.origins)

    def stack_resource(self) -> PlannedResource:
        """The root ``pulumi:pulumi:Stack`` resource as AnalyzeStack receives it: its
        properties are the stack outputs (pulumi/pulumi pkg/resource/deploy/step_generator.go
        ``AnalyzeResources`` sends every registered resource, the root stack included)."""
        name = f"{self.project}-{self.stack}"
        return PlannedResource(
            urn=f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{name}",
            type="pulumi:pulumi:Stack",
            name=name,
            inputs={},
            outputs=dict(self.outputs),
            custom=False,
        )

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def grants(self) -> list[Grant]:
        """Role assignments, with each principal ID replaced by the name of what owns it."""
        owners: dict[str, str] = dict(self.principals)
        for r in self.resources:
            identity = r.outputs.get("identity")
            principal = identity.get("principalId") if isinstance(identity, dict) else None
            if r.type == USER_ASSIGNED_IDENTITY_TYPE:
                principal = r.outputs.get("principalId")
            if isinstance(principal, str) and principal != UNKNOWN:
                owners[principal] = r.name
        result = []
        for r in self.of_type(ROLE_ASSIGNMENT_TYPE):
            principal = str(r.inputs.get("principalId", UNKNOWN))
            result.append(
                Grant(
                    principal=owners.get(principal, principal),
                    role=role_name(str(r.inputs.get("roleDefinitionId", ""))),
                    scope=str(r.inputs.get("scope", "")),
                    urn=r.urn,
                )
            )
        return result
