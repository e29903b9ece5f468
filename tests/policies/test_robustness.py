"""Whatever shape the inputs take, the pack answers with findings, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.evaluate import evaluate
from preflight.model import UNKNOWN
from tests.policies.fixtures import good_resources, plan_of, resource

TYPES = [
    "azure-native:keyvault:Vault",
    "azure-native:keyvault:Secret",
    "azure-native:web:WebApp",
    "azure-native:web:WebAppSlot",
    "azure-native:web:WebAppApplicationSettings",
    "azure-native:web:WebAppConnectionStrings",
    "azure-native:web:WebAppFtpAllowed",
    "azure-native:cognitiveservices:Account",
    "azure-native:authorization:RoleAssignment",
    "pulumi-python:dynamic:Resource",
]
KEYS = st.sampled_from(
    [
        "properties",
        "siteConfig",
        "appSettings",
        "connectionStrings",
        "name",
        "value",
        "identity",
        "type",
        "scope",
        "roleDefinitionId",
        "principalId",
        "allow",
        "accessPolicies",
        "attributes",
        "expires",
        "networkAcls",
        "slot",
        "keyVaultReferenceIdentity",
        "__provider",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 100), st.sampled_from([UNKNOWN, "", "1.2", "a b"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(type_token=st.sampled_from(TYPES), inputs=st.dictionaries(KEYS, VALUES, max_size=5))
def test_any_input_shape_yields_violations_not_exceptions(type_token: str, inputs: dict) -> None:
    odd = resource(type_token, "odd", inputs)
    violations = evaluate(plan_of([*good_resources(), odd]))
    assert all(v.enforcement in ("mandatory", "advisory") for v in violations)


ODD_VALUES = [5, True, "x", "", [3], {"a": 1}, None, UNKNOWN]
# Every property path a policy reads, per resource fixture name.
PATHS = {
    "kv": [
        ("properties",),
        ("properties", "enableRbacAuthorization"),
        ("properties", "accessPolicies"),
        ("properties", "enableSoftDelete"),
        ("properties", "softDeleteRetentionInDays"),
        ("properties", "enablePurgeProtection"),
        ("properties", "enabledForDeployment"),
    ],
    "ai-key": [("properties",), ("properties", "attributes"), ("properties", "contentType")],
    "site": [
        ("identity",),
        ("identity", "type"),
        ("httpsOnly",),
        ("name",),
        ("keyVaultReferenceIdentity",),
        ("siteConfig",),
        ("siteConfig", "minTlsVersion"),
        ("siteConfig", "ftpsState"),
        ("siteConfig", "remoteDebuggingEnabled"),
        ("siteConfig", "appSettings"),
        ("siteConfig", "connectionStrings"),
    ],
    "settings": [("properties",), ("name",)],
    "ftp": [("allow",), ("name",)],
    "account": [
        ("properties",),
        ("properties", "customSubDomainName"),
        ("properties", "disableLocalAuth"),
        ("properties", "publicNetworkAccess"),
        ("properties", "networkAcls"),
    ],
    "app-secrets-user": [("principalId",), ("principalType",), ("roleDefinitionId",), ("scope",)],
}


def _set(path, value):
    def edit(props):
        target = props
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def test_every_read_property_with_any_odd_value_yields_violations_not_exceptions() -> None:
    from tests.policies.fixtures import changed

    for name, paths in PATHS.items():
        for path in paths:
            for value in ODD_VALUES:
                resources = changed(good_resources(), name, _set(path, value))
                violations = evaluate(plan_of(resources))
                assert all(v.enforcement in ("mandatory", "advisory") for v in violations)
