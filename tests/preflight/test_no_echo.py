"""No report and no error message prints a credential in clear, whatever field it was typed into.

Keys are generated at run time. The program's config is the dev stack's with keys typed into
fields that are not meant to hold one (the secret's name, the resource group's name, a model
deployment's name): the program accepts them (they are valid names), so they reach resource names,
ARM IDs, URNs, grants, policy messages and stack outputs. And what the preview itself made up as a
credential (a listed key or password, a kubeconfig, a ``secure:`` value) is masked wherever the
program puts it, even in a shape the detection engine cannot recognise alone.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from pathlib import Path

import pytest
import yaml

from bench.corpus import publish_profile, publishing_password
from policies.detection import find_secrets, mask
from preflight import scan
from preflight.__main__ import main
from preflight.evaluate import evaluate
from preflight.model import (
    ROLE_ASSIGNMENT_TYPE,
    Plan,
    PlannedResource,
    Violation,
)
from preflight.preview import plan_stack
from preflight.render import FORMATS, SECRET_TYPE, render

REPO = Path(__file__).resolve().parents[2]
FIELDS = ("secretName", "resourceGroupName", "deployment")


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    return {field: secrets.token_hex(16) for field in FIELDS}


@pytest.fixture(scope="module")
def misconfigured(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, str]) -> Path:
    """The dev stack file with a key in each of FIELDS."""
    document = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["secure-azure-ai:secretName"] = keys["secretName"]
    config["secure-azure-ai:resourceGroupName"] = keys["resourceGroupName"]
    config["secure-azure-ai:deployments"][0]["name"] = keys["deployment"]
    path = tmp_path_factory.mktemp("stack") / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def reports(misconfigured: Path) -> dict[str, str]:
    plan = plan_stack(REPO, "dev", misconfigured)
    violations = evaluate(plan)
    return {fmt: render(plan, violations, fmt) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", FIELDS)
def test_a_key_typed_into_a_name_field_is_masked_in_every_format(
    reports: dict[str, str], keys: dict[str, str], fmt: str, field: str
) -> None:
    text = reports[fmt]
    key = keys[field]
    assert key not in text
    # It is still there to see, masked: where the field is shown, and in what is named after it.
    assert mask(key) in text


def test_each_key_was_shown_in_many_places_before_masking(
    reports: dict[str, str], keys: dict[str, str]
) -> None:
    """The masks stand where the keys stood: many places, not one."""
    counts = {field: reports["markdown"].count(mask(key)) for field, key in keys.items()}
    assert all(count >= 3 for count in counts.values()), counts


def _urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:dev::secure-azure-ai::{type_token}::{name}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_field_of_a_hand_built_report_is_masked(fmt: str) -> None:
    """Keys in a resource name, a URN, a secret name, an ARM scope, a principal, a violation
    message and a stack output's name and value."""
    name, secret_name, group, principal, message, output, value = (
        secrets.token_hex(16) for _ in range(7)
    )
    scope = (
        f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{group}"
        f"/providers/Microsoft.KeyVault/vaults/kv1/secrets/{secret_name}"
    )
    secret = PlannedResource(
        urn=_urn(SECRET_TYPE, name),
        type=SECRET_TYPE,
        name=name,
        inputs={"secretName": secret_name, "properties": {"contentType": "text/plain"}},
        outputs={},
    )
    grant = PlannedResource(
        urn=_urn(ROLE_ASSIGNMENT_TYPE, "grant"),
        type=ROLE_ASSIGNMENT_TYPE,
        name="grant",
        inputs={
            "principalId": principal,
            "roleDefinitionId": "4633458b-17de-408a-b874-0445c86b69e6",
            "scope": scope,
        },
        outputs={},
    )
    plan = Plan("secure-azure-ai", "dev", [secret, grant], outputs={output: value})
    violation = Violation("some-policy", "mandatory", secret.urn, f"the value {message} is bad")
    text = render(plan, [violation], fmt)
    for key in (name, secret_name, group, principal, message, output, value):
        assert key not in text
        assert mask(key) in text


def test_an_error_message_masks_a_key_given_as_a_config_value(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = secrets.token_hex(16)
    stack = (REPO / "Pulumi.dev.yaml").read_text()
    config = tmp_path / "Pulumi.dev.yaml"
    config.write_text(re.sub(r"(secure-azure-ai:prefix:) \w+", rf"\1 {key}", stack))
    code = main(["preview", "--program", str(REPO), "--config", str(config)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert key not in err
    # The config loader itself masks a key typed where a name belongs (so `pulumi up` does too).
    masked = "<32 characters, masked: it looks like a key>"
    assert f"config secure-azure-ai:prefix: {masked} breaks the rule" in err


def test_a_scan_error_masks_a_key_given_as_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    key = secrets.token_hex(16)
    code = main(["scan", f"{key}.env"])
    assert (code, capsys.readouterr()) == (
        2,
        ("", f"preflight scan: PATH '{mask(key)}.env': does not exist\n"),
    )


# --- what the preview made up is masked, whatever the engine thinks of it -----------------------

LEAKING_PROGRAM = """\
import pulumi
from pulumi_azure_native import containerservice, resources, web

config = pulumi.Config()
token = config.require("ownerToken")  # secure, read as plain: pulumi/config.py marks nothing
resources.ResourceGroup("rg", tags={"owner": token})
creds = web.list_web_app_publishing_credentials_output(name="app", resource_group_name="rg")
kube = containerservice.list_managed_cluster_user_credentials_output(
    resource_name="aks", resource_group_name="rg"
)
pulumi.export("deploy", creds.publishing_password)
user, password = creds.publishing_user_name, creds.publishing_password
pulumi.export("note", pulumi.Output.format("user {0}, {1}", user, password))
pulumi.export("kube", kube.kubeconfigs[0].value)
pulumi.export("owner", token)
"""


@pytest.fixture(scope="module")
def leaked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, str]]:
    """A program that exports, under neutral names, what a credential invoke returned (a publishing
    password, a kubeconfig) and a ``secure:`` config value it read as plain; its reports by format
    and the synthetic values it exported, by output."""
    folder = tmp_path_factory.mktemp("leaking")
    (folder / "Pulumi.yaml").write_text("name: t\nruntime: python\n")
    (folder / "Pulumi.dev.yaml").write_text("config:\n  t:ownerToken:\n    secure: v1:AAAA\n")
    (folder / "__main__.py").write_text(LEAKING_PROGRAM)
    plan = plan_stack(folder, "dev")
    values = {name: plan.outputs[name] for name in ("deploy", "kube", "owner", "note")}
    assert {values["deploy"], values["kube"], values["owner"]} <= plan.synthetic_credentials()
    return {fmt: render(plan, evaluate(plan), fmt) for fmt in FORMATS}, values


def test_the_synthetic_values_are_ones_the_engine_cannot_recognise_alone(
    leaked: tuple[dict[str, str], dict[str, str]],
) -> None:
    """So what masks them below is the preview's own record, not detection: a 60-character
    publishing password (listWebAppPublishingCredentials' publishingPassword), a base64
    kubeconfig (listManagedClusterUserCredentials' kubeconfigs[].value) and a 32-character
    stand-in for a ``secure:`` value, each alone and under a neutral name."""
    _, values = leaked
    assert len(values["deploy"]) == 60
    for name in ("deploy", "kube", "owner"):
        assert find_secrets(values[name], setting_name=name) == [], name


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("output", ("deploy", "kube", "owner"))
def test_every_synthetic_credential_is_masked_in_every_format(
    leaked: tuple[dict[str, str], dict[str, str]], fmt: str, output: str
) -> None:
    reports, values = leaked
    assert values[output] not in reports[fmt]
    assert mask(values[output]) in reports[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_synthetic_credential_inside_a_longer_value_is_masked(
    leaked: tuple[dict[str, str], dict[str, str]], fmt: str
) -> None:
    reports, values = leaked
    password = values["deploy"]
    assert values["note"].endswith(f", {password}")
    assert values["note"].replace(password, mask(password)) in reports[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_value_under_a_credential_like_output_name_is_masked(fmt: str) -> None:
    """A publishing password the program was given in clear (not made up by the preview),
    exported as ``publishingPassword``: the output's name says what the value is."""
    password = publishing_password(random.Random(secrets.randbits(32)))
    plan = Plan("secure-azure-ai", "dev", [], outputs={"publishingPassword": password})
    text = render(plan, [], fmt)
    assert password not in text
    assert mask(password) in text


@pytest.mark.parametrize("fmt", scan.FORMATS)
def test_a_scanned_publish_profile_never_prints_its_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    """A publish profile (.PublishSettings: userPWD is the site's publishing password, 60 base62
    characters) committed by mistake: every scanner format reports it masked."""
    password = publishing_password(random.Random(secrets.randbits(32)))
    (tmp_path / "app.PublishSettings").write_text(publish_profile("app1", password) + "\n")
    code = scan.main(["--format", fmt, str(tmp_path / "app.PublishSettings")])
    out, err = capsys.readouterr()
    assert code == 1
    assert password not in out + err
    shown = out if fmt == "text" else json.dumps(json.loads(out), ensure_ascii=False)
    assert shown.count(mask(password)) >= 2  # the Web Deploy and the FTP profile
    if fmt == "sarif":
        (run,) = json.loads(out)["runs"]
        assert {r["ruleId"] for r in run["results"]} == {"app-service-publishing-password"}
