"""Evaluate the whole policy pack on a recorded plan, through the code path the engine calls.

The Pulumi engine talks to a policy pack over gRPC: ``Configure``, then ``Analyze`` per resource
and ``AnalyzeStack`` once. Here the same servicer (``pulumi_policy.policy._PolicyAnalyzerServicer``,
private but pinned in policies/requirements.txt) is called in-process with the same protobuf
requests, so policies see exactly what they would see under ``pulumi preview --policy-pack``:
secrets unwrapped, unknown values as sentinels that raise ``UnknownValueError`` when read. If a
future pulumi-policy drops that class, the public ``validate(args, report)`` API is used instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as policy_sdk
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies import secret_marks
from policies.detection import mask
from policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME, POLICIES
from preflight.model import Plan, PlannedResource, Violation, unwrap_secrets

PACK_DIR = Path(__file__).resolve().parent.parent / "policies"
LEVELS = tuple(level.value for level in EnforcementLevel)
_UNKNOWN_MESSAGE = re.compile(r"value at \.(?P<path>.*) can't be known during preview$")


class PolicyConfigError(ValueError):
    """Policy config that does not match a policy's schema (one line: input, value, rule)."""


@cache
def pack_version() -> str:
    """The pack version, from policies/PulumiPolicy.yaml (what the CLI reports too)."""
    manifest = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    return str(manifest["version"])


def effective_config(
    policy_config: Mapping[str, Any] | None, policies: list[Policy] = POLICIES
) -> dict[str, tuple[EnforcementLevel, dict[str, Any]]]:
    """Each policy's enforcement level and settings, after checking the config against schemas."""
    config = dict(policy_config or {})
    by_name = {p.name: p for p in policies}
    unknown = sorted(set(config) - set(by_name) - {"all"})
    if unknown:
        raise PolicyConfigError(
            f"policy config {unknown[0]!r}: no such policy in pack {PACK_NAME!r} "
            f"(choose from all, {', '.join(sorted(by_name))})"
        )
    every = config.get("all")
    if isinstance(every, Mapping) and set(every) - {"enforcementLevel"}:
        raise PolicyConfigError(
            f"policy config all: {sorted(set(every) - {'enforcementLevel'})!r}: 'all' takes only "
            "an enforcement level; give settings to a named policy"
        )
    default_level = _level("all", every, None)
    result = {}
    for name, policy in by_name.items():
        entry = config.get(name)
        settings = dict(entry) if isinstance(entry, Mapping) else {}
        level = _level(name, entry, None) or default_level
        if level is None:
            level = policy.enforcement_level or DEFAULT_ENFORCEMENT
        settings.pop("enforcementLevel", None)
        _check_settings(policy, settings)
        result[name] = (level, settings)
    return result


def _level(name: str, entry: Any, fallback: EnforcementLevel | None) -> EnforcementLevel | None:
    if entry is None:
        return fallback
    value = entry.get("enforcementLevel") if isinstance(entry, Mapping) else entry
    if value is None:
        return fallback
    if value not in LEVELS:
        raise PolicyConfigError(
            f"policy config {name}.enforcementLevel: {value!r} is not one of {', '.join(LEVELS)}"
        )
    return EnforcementLevel(value)


def _check_settings(policy: Policy, settings: dict[str, Any]) -> None:
    schema = {
        "type": "object",
        "properties": policy.config_schema.properties if policy.config_schema else {},
        "additionalProperties": False,
    }
    errors = jsonschema.Draft7Validator(schema).iter_errors(settings)
    error = jsonschema.exceptions.best_match(errors)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path)
        value = error.instance if where else settings
        rule = error.message.splitlines()[0]
        if error.validator == "additionalProperties":
            value = sorted(set(settings) - set(schema["properties"]))
            allowed = ", ".join(["enforcementLevel", *sorted(schema["properties"])])
            rule = f"unknown setting (allowed: {allowed})"
        raise PolicyConfigError(
            f"policy config {policy.name}{'.' + where if where else ''}: {value!r}: {rule}"
        )


def evaluate(plan: Plan, *, policy_config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Every violation the pack reports on ``plan``, in engine order (resources, then stack)."""
    config = effective_config(policy_config)
    servicer_class = getattr(policy_sdk, "_PolicyAnalyzerServicer", None)
    if servicer_class is None:
        violations = _evaluate_public(plan, config)
    else:
        violations = _evaluate_servicer(servicer_class, plan, config)
    violations += _marked_secrets(plan, config, violations)
    return [_with_origin(v, plan.origins) for v in violations]


def _marked_secrets(plan: Plan, config: dict, found: list[Violation]) -> list[Violation]:
    """Offline only: values the program marked secret where no secret may sit.

    The engine hides the secret marker from policies; the recorded inputs keep it, so the
    offline preview adds these findings under the policy that owns each place, at its level and
    with its allow-lists (policies/secret_marks.py). A place that policy already reported is
    not reported twice.
    """
    root = plan.stack_resource()
    targets = [(r.urn, r.name, secret_marks.in_resource(r.type, r.inputs)) for r in plan.resources]
    targets.append((root.urn, root.name, secret_marks.in_outputs(plan.outputs)))
    extra = []
    for urn, name, marks in targets:
        for mark in marks:
            level, settings = config[mark.policy]
            exempt = set(settings.get("exemptResources") or ())
            allowed = set(settings.get("allowedSettingNames") or ()) | set(
                settings.get("allowedPaths") or ()
            )
            if level == EnforcementLevel.DISABLED or {name, urn} & exempt:
                continue
            if mark.setting in allowed or mark.path in allowed:
                continue
            if any(
                v.policy == mark.policy and v.urn == urn and v.message.startswith(mark.path + " ")
                for v in found
            ):
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY
            extra.append(_make_violation(mark.policy, level.value, urn, mark.message(), ""))
    return extra


# Where a credential came from decides the fix: a literal is removed from the code; a secret
# from config or a key from an invoke is kept out of the resource.
_ORIGIN_REMEDIATION = {
    "config": (
        "The value is a secret from the stack's config: encrypted in the stack, but this "
        "resource stores it in plain text. Put it in Key Vault and pass a Key Vault reference, "
        "or give the consumer a managed identity and an RBAC role instead."
    ),
    "invoke": (
        "The value is a key the program reads from Azure (an invoke) and copies here: give the "
        "consumer a managed identity and an RBAC role instead of the key, or keep the key in "
        "Key Vault and pass a Key Vault reference."
    ),
}


def _with_origin(violation: Violation, origins: Mapping[str, str]) -> Violation:
    """A finding on a value the preview synthesised says where the program got it (the pack
    sees the value alone: under the real engine a secret reaches policies unwrapped)."""
    found = sorted({where for value, where in origins.items() if mask(value) in violation.message})
    if not found:
        return violation
    kinds = [k for k in _ORIGIN_REMEDIATION if any(w.startswith(k) for w in found)]
    return replace(
        violation,
        message=f"{violation.message} (the value comes from {'; '.join(found)})",
        remediation=" ".join([*(_ORIGIN_REMEDIATION[k] for k in kinds), violation.remediation]),
    )


# --- the engine's path: the analyzer servicer and its protobuf requests -----------------------


def _evaluate_servicer(servicer_class: type, plan: Plan, config: dict) -> list[Violation]:
    servicer = servicer_class(PACK_NAME, pack_version(), POLICIES, DEFAULT_ENFORCEMENT)
    servicer.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={
                name: proto.PolicyConfig(
                    enforcementLevel=proto.EnforcementLevel.Value(level.name),
                    properties=_struct(settings),
                )
                for name, (level, settings) in config.items()
            }
        ),
        None,
    )
    violations: list[Violation] = []
    for resource in plan.resources:
        request = proto.AnalyzeRequest(
            type=resource.type,
            properties=_struct(unwrap_secrets(resource.inputs)),
            urn=resource.urn,
            name=resource.name,
            options=proto.AnalyzerResourceOptions(parent=resource.parent or ""),
        )
        response = servicer.Analyze(request, None)
        violations += [_violation(d, resource.urn) for d in response.diagnostics]
    everything = [*plan.resources, plan.stack_resource()]
    stack = proto.AnalyzeStackRequest(resources=[_analyzer_resource(r) for r in everything])
    response = servicer.AnalyzeStack(stack, None)
    return violations + [_violation(d, None) for d in response.diagnostics]


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _stack_props(resource: PlannedResource) -> dict[str, Any]:
    """What a stack policy sees: the outputs over the inputs (the engine sends the new state)."""
    return unwrap_secrets(_merge(resource.inputs, resource.outputs))


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if value is not None else base.get(key)
        return merged
    return over


def _analyzer_resource(resource: PlannedResource) -> Any:
    return proto.AnalyzerResource(
        type=resource.type,
        properties=_struct(_stack_props(resource)),
        urn=resource.urn,
        name=resource.name,
        options=proto.AnalyzerResourceOptions(parent=resource.parent or ""),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
        propertyDependencies={
            key: proto.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in resource.property_dependencies.items()
        },
    )


def _violation(diagnostic: Any, request_urn: str | None) -> Violation:
    level = proto.EnforcementLevel.Name(diagnostic.enforcementLevel).lower()
    return _make_violation(
        diagnostic.policyName,
        level,
        diagnostic.urn or request_urn,
        diagnostic.message,
        diagnostic.description,
    )


def _make_violation(
    policy_name: str, level: str, urn: str | None, message: str, description: str
) -> Violation:
    text = message.removeprefix(description).lstrip("\n") or description
    unknown = _UNKNOWN_MESSAGE.search(text)
    if unknown:
        text = (
            f"cannot check yet: {unknown['path']} is not known until apply; "
            "the policy runs again when it is"
        )
    remediation = next((p.remediation_steps or "" for p in POLICIES if p.name == policy_name), "")
    return Violation(
        policy=policy_name, enforcement=level, urn=urn, message=text, remediation=remediation
    )


# --- fallback: the public validate(args, report) API ------------------------------------------


def _evaluate_public(plan: Plan, config: dict) -> list[Violation]:
    violations: list[Violation] = []
    active = [
        (p, *config[p.name]) for p in POLICIES if config[p.name][0] != EnforcementLevel.DISABLED
    ]
    for resource in plan.resources:
        for policy, level, settings in active:
            if not isinstance(policy, ResourceValidationPolicy):
                continue
            props = _proxied(unwrap_secrets(resource.inputs))
            args = ResourceValidationArgs(
                resource.type,
                props,
                resource.urn,
                resource.name,
                _options(resource),
                None,
                settings,
            )
            violations += _run(policy, level, args, resource.urn)
    resources = _policy_resources(plan)
    for policy, level, settings in active:
        if isinstance(policy, StackValidationPolicy):
            violations += _run(policy, level, StackValidationArgs(resources, settings), None)
    return violations


def _proxied(props: dict[str, Any]) -> Any:
    # The engine's path deserializes a Struct (numbers become floats); keep that the same here.
    return unknown_checking_proxy(deserialize_properties(json.loads(json.dumps(props))))


def _options(resource: PlannedResource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.parent
    )


def _policy_resources(plan: Plan) -> list[PolicyResource]:
    everything = [*plan.resources, plan.stack_resource()]
    built = {
        r.urn: PolicyResource(
            r.type, _proxied(_stack_props(r)), r.urn, r.name, _options(r), None, None, [], {}
        )
        for r in everything
    }
    for r in everything:
        resource = built[r.urn]
        resource.parent = built.get(r.parent) if r.parent else None
        resource.dependencies = [built[u] for u in r.dependencies if u in built]
        resource.property_dependencies = {
            k: [built[u] for u in urns if u in built] for k, urns in r.property_dependencies.items()
        }
    return list(built.values())


def _run(policy: Policy, level: EnforcementLevel, args: Any, urn: str | None) -> list[Violation]:
    if level == EnforcementLevel.REMEDIATE:
        level = EnforcementLevel.MANDATORY
    found: list[Violation] = []

    def report(message: str, violation_urn: str | None = None) -> None:
        found.append(
            _make_violation(
                policy.name,
                level.value,
                violation_urn or urn,
                f"{policy.description}\n{message}",
                policy.description,
            )
        )

    try:
        policy.validate(args, report)
    except UnknownValueError as error:
        found.append(
            _make_violation(
                policy.name, EnforcementLevel.ADVISORY.value, urn, error.message, policy.description
            )
        )
    return found
