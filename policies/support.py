"""What every policy shares: type tokens, plain views of props, unknown values, config, adapters.

A rule is a pure function from a resource's props (plain dicts and lists, unknown values left as
Pulumi's sentinel strings) to an :class:`Outcome`. The adapters here turn rules into
``pulumi_policy`` policies, so the pack file only lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)

# "azure-native:web/v20240401:WebApp" and "azure-native:web:WebApp" name the same resource.
_TYPE_TOKEN = re.compile(r"^(?P<package>[\w.-]+):(?P<module>[\w.-]+?)(?:/[\w.-]+)?:(?P<name>\w+)$")

VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
WEB_APP = "azure-native:web:WebApp"
WEB_APP_SLOT = "azure-native:web:WebAppSlot"
WEB_APPS = frozenset({WEB_APP, WEB_APP_SLOT})
APP_SETTINGS = frozenset(
    {"azure-native:web:WebAppApplicationSettings", "azure-native:web:WebAppApplicationSettingsSlot"}
)
CONNECTION_STRINGS = frozenset(
    {"azure-native:web:WebAppConnectionStrings", "azure-native:web:WebAppConnectionStringsSlot"}
)
FTP_ALLOWED = frozenset(
    {"azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppFtpAllowedSlot"}
)
SCM_ALLOWED = frozenset(
    {"azure-native:web:WebAppScmAllowed", "azure-native:web:WebAppScmAllowedSlot"}
)
AI_ACCOUNT = "azure-native:cognitiveservices:Account"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
DYNAMIC_RESOURCES = frozenset({"pulumi-python:dynamic:Resource", "pulumi-nodejs:dynamic:Resource"})
# The component package's own key write: what a TypeScript, YAML, Go, C# or Java program that
# uses the package registers where a Python program registers the dynamic resource.
PACKAGE_KEY_SECRET = "secure-azure-ai:index:AccountKeySecret"
# What carries the account's key into Key Vault when it depends on the account.
KEY_CARRIERS = frozenset({SECRET, PACKAGE_KEY_SECRET, *DYNAMIC_RESOURCES})
# The root stack resource: in AnalyzeStack its properties are the stack outputs (the engine
# finalises them before analysing: pulumi/pulumi pkg/resource/deploy/deployment_executor.go).
ROOT_STACK = "pulumi:pulumi:Stack"

# Every policy accepts this allow-list: resources (by exact name or URN) the policy skips.
EXEMPT_RESOURCES = "exemptResources"
_EXEMPT_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "minLength": 1},
    "description": "Resources this policy skips, by exact resource name or URN.",
}


def canonical_type(token: str) -> str:
    """The type token without an API-version module suffix (``web/v20240401`` -> ``web``)."""
    match = _TYPE_TOKEN.match(token)
    if match is None:
        return token
    return f"{match['package']}:{match['module']}:{match['name']}"


def is_unknown(value: Any) -> bool:
    """True for a value not known until apply (one of Pulumi's unknown sentinels)."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def plain(value: Any) -> Any:
    """Plain dicts and lists from pulumi_policy's unknown-checking proxies, sentinels kept.

    Reading through the proxies raises at the first unknown; rules want to see every known value
    and record each unknown one themselves, so each unknown becomes its sentinel again.
    """
    if isinstance(value, Mapping):
        return {key: plain(_item(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(_item(value, index)) for index in range(len(value))]
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError as error:
        return error.unknown_type_sentinel


def format_path(parts: Iterable[str | int]) -> str:
    """``("siteConfig", "appSettings", 0, "value")`` -> ``siteConfig.appSettings[0].value``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


MISSING: Any = None


@dataclass
class Outcome:
    """What a rule found: problems (messages naming a path) and the paths it could not read."""

    problems: list[tuple[str | None, str]] = field(default_factory=list)
    unknown: list[tuple[str | int, ...]] = field(default_factory=list)

    def fail(self, message: str, urn: str | None = None) -> None:
        self.problems.append((urn, message))

    def cannot_check(self, path: Sequence[str | int]) -> None:
        self.unknown.append(tuple(path))

    def read(self, props: Any, *path: str | int) -> Any:
        """The value at ``path``: None when absent; :data:`NOT_KNOWN` (recorded) when unknown."""
        value = props
        for i, part in enumerate(path):
            if is_unknown(value):
                self.cannot_check(path[:i])
                return NOT_KNOWN
            if isinstance(part, int):
                if not isinstance(value, list) or part >= len(value):
                    return MISSING
            elif not isinstance(value, dict) or part not in value:
                return MISSING
            value = value[part]
        if is_unknown(value):
            self.cannot_check(path)
            return NOT_KNOWN
        return value

    def report(self, report_violation: ReportViolation, default_urn: str | None = None) -> None:
        """Send problems, then raise UnknownValueError so the engine shows "cannot check yet".

        Problems already found still count; the unknown part becomes an advisory diagnostic
        instead of a false pass.
        """
        for urn, message in self.problems:
            report_violation(message, urn or default_urn)
        if self.unknown:
            first = self.unknown[0]
            more = f" (and {len(self.unknown) - 1} more)" if len(self.unknown) > 1 else ""
            raise UnknownValueError(UNKNOWN_STRING_VALUE, [format_path(first) + more])


class _NotKnown:
    def __repr__(self) -> str:
        return "NOT_KNOWN"


NOT_KNOWN: Any = _NotKnown()


@dataclass(frozen=True)
class Controls:
    """The published controls a policy implements."""

    azure_policy: tuple[str, ...] = ()
    checkov: tuple[str, ...] = ()
    psrule: tuple[str, ...] = ()

    def tags(self) -> list[str]:
        """Control IDs as policy tags, shown by the CLI and Pulumi Cloud."""
        return (
            [f"azure-policy:{p}" for p in self.azure_policy]
            + list(self.checkov)
            + [f"psrule:{p}" for p in self.psrule]
        )

    def text(self) -> str:
        parts = [f"Azure Policy {p}" for p in self.azure_policy]
        parts += list(self.checkov)
        parts += [f"PSRule {p}" for p in self.psrule]
        return ", ".join(parts) if parts else "no published control (project rule)"


def describe(summary: str, controls: Controls) -> str:
    """The policy description: what it demands, then the controls it implements."""
    return f"{summary} [{controls.text()}]"


def _schema(extra: Mapping[str, Mapping[str, Any]] | None) -> PolicyConfigSchema:
    properties: dict[str, dict[str, Any]] = {EXEMPT_RESOURCES: dict(_EXEMPT_SCHEMA)}
    for key, value in (extra or {}).items():
        properties[key] = dict(value)
    return PolicyConfigSchema(properties=properties)


def config_list(config: Mapping[str, Any], key: str) -> frozenset[str]:
    """An allow-list from policy config (exact strings)."""
    return frozenset(str(v) for v in (config.get(key) or ()))


def is_exempt(config: Mapping[str, Any], name: str, urn: str) -> bool:
    exempt = config_list(config, EXEMPT_RESOURCES)
    return name in exempt or urn in exempt


@dataclass(frozen=True)
class Resource:
    """One resource as a resource rule sees it: canonical type, plain props."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]


ResourceRule = Callable[[Resource, Mapping[str, Any]], Outcome]


def _metadata(
    name: str,
    summary: str,
    remediation: str,
    controls: Controls,
    enforcement: EnforcementLevel,
    config: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """What a resource policy and a stack policy both carry besides their validation."""
    return {
        "name": name,
        "description": describe(summary, controls),
        "enforcement_level": enforcement,
        "config_schema": _schema(config),
        "remediation_steps": remediation,
        "tags": controls.tags() or None,
    }


def resource_policy(
    name: str,
    summary: str,
    *,
    types: Iterable[str] | None,
    rule: ResourceRule,
    remediation: str,
    controls: Controls = Controls(),
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceValidationPolicy:
    """A resource policy running ``rule`` on every resource of ``types`` (None: every type)."""
    wanted = frozenset(types) if types is not None else None

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource_type = canonical_type(args.resource_type)
        if wanted is not None and resource_type not in wanted:
            return
        policy_config = args.get_config() or {}
        if is_exempt(policy_config, args.name, args.urn):
            return
        resource = Resource(resource_type, args.name, args.urn, plain(args.props))
        rule(resource, policy_config).report(report_violation, args.urn)

    return ResourceValidationPolicy(
        validate=validate, **_metadata(name, summary, remediation, controls, enforcement, config)
    )


@dataclass(frozen=True)
class StackResource(Resource):
    """One resource as a stack rule sees it: a resource rule's view and its dependency URNs."""

    dependencies: frozenset[str]
    property_dependencies: Mapping[str, frozenset[str]]

    def depends_on(self, urns: Iterable[str], prop: str | None = None) -> bool:
        """True when this resource (or its property ``prop``) depends on one of ``urns``."""
        wanted = set(urns)
        if prop is not None:
            return bool(wanted & self.property_dependencies.get(prop, frozenset()))
        every = set(self.dependencies)
        for deps in self.property_dependencies.values():
            every |= deps
        return bool(wanted & every)


StackRule = Callable[[list[StackResource], Mapping[str, Any]], Outcome]


def stack_resources(args: StackValidationArgs) -> list[StackResource]:
    """The stack's resources as plain :class:`StackResource` views."""
    result = []
    for r in args.resources:
        props = plain(r.props)
        result.append(
            StackResource(
                urn=r.urn,
                type=canonical_type(r.resource_type),
                name=r.name,
                props=props,
                dependencies=frozenset(d.urn for d in r.dependencies),
                property_dependencies={
                    k: frozenset(d.urn for d in v) for k, v in r.property_dependencies.items()
                },
            )
        )
    return result


def stack_policy(
    name: str,
    summary: str,
    *,
    rule: StackRule,
    remediation: str,
    controls: Controls = Controls(),
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackValidationPolicy:
    """A stack policy running ``rule`` on all resources not exempted by config."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        policy_config = args.get_config() or {}
        resources = [
            r for r in stack_resources(args) if not is_exempt(policy_config, r.name, r.urn)
        ]
        rule(resources, policy_config).report(report_violation)

    return StackValidationPolicy(
        validate=validate, **_metadata(name, summary, remediation, controls, enforcement, config)
    )


def shown(value: Any) -> str:
    """A setting's value for a message (never used for strings that may hold a secret)."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def require_managed_identity(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """identity.type names a system- or user-assigned identity (any resource with ``identity``)."""
    out = Outcome()
    kind = out.read(resource.props, "identity", "type")
    if kind is NOT_KNOWN:
        return out
    kinds = {part.strip().lower() for part in kind.split(",")} if isinstance(kind, str) else set()
    if not kinds & {"systemassigned", "userassigned"}:
        out.fail(f"identity.type is {shown(kind)}; it must be SystemAssigned or UserAssigned")
    return out
