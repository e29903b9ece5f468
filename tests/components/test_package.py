"""The component package's layout and its typed face: pins, version, descriptions, inputs
checked by the one config loader, and the same stack as the program's."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from pulumi import Output
from pulumi.output import Unknown

from components import config as stack_config
from components.package import StackArgsError, stack_config_of
from preflight.harness import HarnessError, load_stack_config, run_program
from preflight.model import Plan

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "components"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
DEPLOYMENTS = [{"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 10}]


def pins(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text("utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def project() -> dict:
    with (PACKAGE / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]


def field_descriptions(class_name: str) -> dict[str, str]:
    """Each field's docstring in components/package.py, as the SDK's schema analyzer reads it
    (pulumi/provider/experimental/analyzer.py: the string literal after each annotation)."""
    tree = ast.parse((PACKAGE / "package.py").read_text("utf-8"))
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name).body
    return {
        field.target.id: doc.value.value
        for field, doc in itertools.pairwise(body)
        if isinstance(field, ast.AnnAssign)
        and isinstance(field.target, ast.Name)
        and isinstance(doc, ast.Expr)
        and isinstance(doc.value, ast.Constant)
    }


def test_the_schema_states_the_contracts_period_and_name_rules() -> None:
    # The descriptions are literals (the analyzer reads source, it runs nothing): they state
    # the contract's facts, and this keeps them equal to it.
    from components.catalog import names, secret

    described = field_descriptions("SecureAiStackArgs")
    period = (
        f"{secret.MIN_PERIOD_DAYS}-{secret.MAX_PERIOD_DAYS} (default {secret.DEFAULT_PERIOD_DAYS})"
    )
    assert period in described["rotation_period_days"]
    assert f"{names.SECRET_NAME.rule} (default ai-api-key)" in described["secret_name"]
    assert field_descriptions("Deployment")["name"].endswith(f": {names.DEPLOYMENT_NAME.rule}.")
    assert field_descriptions("App")["name"].endswith(f": {stack_config.APP_NAME.rule}.")


def test_the_packages_pins_are_the_programs() -> None:
    # The CLI installs requirements.txt into the package's venv; pip installs the dependencies.
    assert pins(PACKAGE / "requirements.txt") == pins(ROOT / "requirements.txt")
    assert project()["dependencies"] == pins(ROOT / "requirements.txt")


def test_the_version_has_a_changelog_entry() -> None:
    headings = re.findall(r"^## (\S+)", (PACKAGE / "CHANGELOG.md").read_text("utf-8"), re.M)
    assert headings[0] == project()["version"]


def test_the_library_ships_the_package_and_its_catalog() -> None:
    with (PACKAGE / "pyproject.toml").open("rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    folders = {p.parent.relative_to(PACKAGE) for p in PACKAGE.rglob("__init__.py")}
    assert sorted(setuptools["packages"]) == sorted(
        ".".join(("components", *folder.parts)) for folder in folders
    )


# --- inputs, checked by the one loader ------------------------------------------------------------


def problems(args: dict, stack: str = "dev") -> list[tuple[str, str]]:
    with pytest.raises(StackArgsError) as error:
        stack_config_of(args, stack, SUBSCRIPTION)
    return error.value.problems


def test_the_inputs_give_the_config_the_program_loads() -> None:
    args = {
        "location": "swedencentral",
        "deployments": DEPLOYMENTS,
        "network_mode": "private",
        "subnet_prefixes": {"private_endpoints": "10.60.0.0/27", "app_service": "10.60.1.0/26"},
        "rotation_period_days": 30,
    }
    raw = {
        "azure-native:location": "swedencentral",
        "secure-azure-ai:deployments": DEPLOYMENTS,
        "secure-azure-ai:networkMode": "private",
        "secure-azure-ai:subnetPrefixes": {
            "privateEndpoints": "10.60.0.0/27",
            "appService": "10.60.1.0/26",
        },
        "secure-azure-ai:rotationPeriodDays": 30,
    }
    assert stack_config_of(args, "dev", SUBSCRIPTION) == stack_config.load(raw, "dev", SUBSCRIPTION)


def test_bad_inputs_name_the_input_and_the_rule_one_line_each() -> None:
    found = problems(
        {
            "location": "sweden central",
            "deployments": DEPLOYMENTS,
            "prefix": "averylongprefix",
            "network_mode": "private",
            "subnet_prefixes": {"app_service": "10.60.1.0/30"},
            "allowed_ip_ranges": ["203.0.113.7"],
        }
    )
    assert found == [
        ("prefix", "'averylongprefix' breaks the rule: 2-8 lower-case letters or digits, "
         "starting with a letter"),
        ("location", "'sweden central' is not an Azure region name like 'swedencentral' "
         "(did you mean 'swedencentral'?)"),
        ("allowedIpRanges", "set while networkMode is private; the rule is: a private stack "
         "takes no public callers (reach it through the virtual network)"),
        ("subnetPrefixes.appService", "'10.60.1.0/30' is too small; the rule is /28 or larger"),
    ]  # fmt: skip
    assert all("\n" not in reason for _, reason in found)


def test_a_derived_name_too_long_is_the_prefixs_problem() -> None:
    # The vault's name is <prefix>-<stack>-kv-<hash6>, at most 24 characters.
    found = problems({"location": "swedencentral", "deployments": DEPLOYMENTS}, "production-eu")
    assert [path for path, _ in found] == ["prefix"]
    assert "shorten prefix or the stack name" in found[0][1]
    assert "secure-azure-ai:" not in found[0][1]


def test_a_missing_location_names_the_input_not_a_config_command() -> None:
    assert problems({"deployments": DEPLOYMENTS}) == [
        ("location", "missing; the rule is an Azure region such as 'swedencentral'")
    ]


def test_an_unknown_value_is_refused_before_the_loader_sees_it() -> None:
    # Construct inputs are decoded with keep_unknowns (pulumi/provider/server.py): an Unknown.
    unknown = problems(
        {"location": "swedencentral", "deployments": DEPLOYMENTS, "prefix": Unknown()}
    )
    output = problems(
        {
            "location": "swedencentral",
            "deployments": DEPLOYMENTS,
            "apps": [{"name": Output.from_input("web")}],
        }
    )
    rule = "not known yet; the rule is a plain value (it shapes the stack)"
    assert (unknown, output) == ([("prefix", rule)], [("apps", rule)])


# --- the same stack as the program's --------------------------------------------------------------

LIBRARY_PROGRAM = """
import pulumi

from components.package import SecureAiStack

stack = SecureAiStack(
    "secure-ai",
    {
        "location": "swedencentral",
        "prefix": "sai",
        "auth_mode": "keyVault",
        "ai_kind": "OpenAI",
        "rotation_period_days": 90,
        "deployments": [
            {"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 10}
        ],
        "apps": [{"name": "web"}],
    },
)
pulumi.export("aiAccountId", stack.ai_account_id)
pulumi.export("secretUri", stack.secret_uri)
"""


def test_the_library_builds_exactly_the_programs_stack(tmp_path: Path) -> None:
    # Pulumi.dev.yaml's values as typed args: the same resources with the same inputs.
    (tmp_path / "__main__.py").write_text(textwrap.dedent(LIBRARY_PROGRAM), "utf-8")
    library = run_program(tmp_path, {})
    program = run_program(ROOT, load_stack_config(ROOT / "Pulumi.dev.yaml"))

    def inventory(plan: Plan) -> list[tuple[str, str, dict]]:
        return sorted(((r.type, r.name, r.inputs) for r in plan.resources), key=lambda r: r[:2])

    assert inventory(library) == inventory(program)
    assert library.outputs == {
        "aiAccountId": program.outputs["aiAccountId"],
        "secretUri": program.outputs["secretUri"],
    }


def test_the_library_refuses_bad_args_with_one_line_per_input(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text(
        "from components.package import SecureAiStack\n"
        "SecureAiStack('ai', {'location': 'swedencentral', 'deployments': [], 'prefix': 'X'})\n",
        "utf-8",
    )
    with pytest.raises(HarnessError) as error:
        run_program(tmp_path, {})
    assert str(error.value).splitlines()[1:] == [
        "input prefix: 'X' breaks the rule: 2-8 lower-case letters or digits, starting with a "
        "letter",
        "input deployments: missing; the rule is at least one model deployment "
        "{name, model, version, capacity}: the apps call the first (AZURE_AI_DEPLOYMENT)",
    ]


def test_key_modes_dynamic_providers_load_only_where_the_package_imports(tmp_path: Path) -> None:
    # Why the package serves its own resources in key mode: the engine runs a dynamic resource's
    # provider with
    # `python -u -m pulumi.dynamic` in the consuming program's directory and Python environment
    # (sdk/python/dist/pulumi-resource-pulumi-python), which unpickles `__provider`
    # (pulumi/dynamic/__main__.py). The SDK pickles these providers by reference to their module.
    plan = run_program(ROOT, load_stack_config(ROOT / "Pulumi.dev.yaml"))
    providers = {
        r.name: r.inputs["__provider"] for r in plan.of_type("pulumi-python:dynamic:Resource")
    }
    assert set(providers) == {"secure-ai-api-key", "secure-ai-rotation-code"}
    load = "import base64, sys, dill; dill.loads(base64.b64decode(sys.stdin.read()))"
    for name, provider in providers.items():
        outside = subprocess.run(
            [sys.executable, "-c", load],
            input=provider,
            cwd=tmp_path,  # a consuming program's directory: no components/ there
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "No module named 'components'" in outside.stderr, name
        inside = subprocess.run(  # this project's own directory, as for its own program
            [sys.executable, "-c", load],
            input=provider,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert inside.returncode == 0, (name, inside.stderr)


SERVED_PROGRAM = """
from components.package import SecureAiStack

SecureAiStack(
    "ai",
    {
        "location": "swedencentral",
        "deployments": [
            {"name": "chat", "model": "gpt-4o-mini", "version": "2024-07-18", "capacity": 10}
        ],
    },
    package_version="7.8.9",
)
"""


def test_served_key_mode_uses_the_packages_own_resources_with_the_same_inputs(
    tmp_path: Path,
) -> None:
    # What Construct builds (SecureAiStackProvider passes its version): the key's write and the
    # code's deployment as the package's custom resources, with the dynamic resources' inputs.
    (tmp_path / "__main__.py").write_text(textwrap.dedent(SERVED_PROGRAM), "utf-8")
    served = run_program(tmp_path, {})
    (tmp_path / "__main__.py").write_text(
        textwrap.dedent(SERVED_PROGRAM).replace('    package_version="7.8.9",\n', ""), "utf-8"
    )
    library = run_program(tmp_path, {})

    def by_name(plan: Plan, type_: str) -> dict[str, dict]:
        return {
            r.name: {k: v for k, v in r.inputs.items() if k != "__provider"}
            for r in plan.of_type(type_)
        }

    assert by_name(served, "pulumi-python:dynamic:Resource") == {}
    keys = by_name(served, "secure-azure-ai:index:AccountKeySecret")
    code = by_name(served, "secure-azure-ai:index:FunctionCodeDeployment")
    assert set(keys) == {"ai-api-key"} and set(code) == {"ai-rotation-code"}
    assert {**keys, **code} == by_name(library, "pulumi-python:dynamic:Resource")


def test_hosted_rotation_needs_its_code_beside_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A library installed into site-packages has no functions/ or rotation/ beside it.
    from components import function_package

    monkeypatch.setattr(function_package, "ROOT", tmp_path / "site-packages")
    program = tmp_path / "program"
    program.mkdir()

    def run(**extra: object) -> Plan:
        args = {"location": "swedencentral", "deployments": DEPLOYMENTS, **extra}
        (program / "__main__.py").write_text(
            f"from components.package import SecureAiStack\nSecureAiStack('ai', {args!r})\n",
            "utf-8",
        )
        return run_program(program, {})

    with pytest.raises(HarnessError) as error:
        run()
    assert (
        str(error.value)
        .splitlines()[1]
        .startswith(
            "input hostedRotation: the rotation app's code (functions/, rotation/) is not beside"
        )
    )
    plan = run(hosted_rotation=False)
    assert plan.of_type("azure-native:web:WebApp")
    assert not plan.of_type("azure-native:eventgrid:SystemTopic")


# --- self-contained ---------------------------------------------------------------------------


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_bytes(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add((node.module or "").split(".")[0])
    return names


def test_the_package_imports_only_itself_its_pins_and_the_standard_library() -> None:
    # The CLI runs the folder alone on sys.path (RunPlugin): anything else fails to import there.
    # grpc and google.protobuf come with the pulumi pin (grpcio, protobuf): the provider's wire.
    allowed = {"components", "pulumi", "pulumi_azure_native", "azure", "requests", "grpc", "google"}
    outside = {
        path.relative_to(ROOT).as_posix(): sorted(
            name
            for name in imported_top_levels(path)
            if name not in allowed and name not in sys.stdlib_module_names
        )
        for path in sorted(PACKAGE.rglob("*.py"))
        if "venv" not in path.parts
    }
    assert {path: names for path, names in outside.items() if names} == {}
