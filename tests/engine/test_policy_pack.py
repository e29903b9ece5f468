"""The policy pack as published, in its own process, spoken to over the Analyzer gRPC protocol.

Each test reproduces one thing the Pulumi CLI or Pulumi Cloud does (sources named in
``tests/engine/policy_host.py`` and in each test): the pack's folder is copied alone under the
name Pulumi Cloud installs it as, gets a virtualenv holding only its ``requirements.txt``, and is
started as ``venv/bin/python -u -m pulumi.policy <engine> <folder>`` with the folder as cwd.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime import proto

from policies.pack import PACK_NAME, POLICIES
from preflight.evaluate import _violation, effective_config, evaluate
from preflight.model import SECRET_SIG_KEY, SECRET_SIG_VALUE, Plan, PlannedResource
from preflight.preview import plan_stack
from tests.engine.policy_host import (
    ROOT,
    RunningPack,
    StackContext,
    analyze_request,
    analyze_stack_request,
    configure_request,
    fake_engine,
    pack_version,
    pack_virtualenv,
    published_copy,
    running_pack,
    start_pack,
)
from tests.policies.fixtures import VAULT_URN, changed, good_resources, plan_of

# Built once per requirements and reused across runs (about 12 s to build with a warm pip cache).
VENV_CACHE = Path(tempfile.gettempdir()) / "secure-azure-ai-policy-pack-venvs"
MANDATORY = proto.EnforcementLevel.Value("MANDATORY")
ADVISORY = proto.EnforcementLevel.Value("ADVISORY")


@pytest.fixture(scope="session")
def published_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pack = published_copy(PACK_NAME, tmp_path_factory.mktemp("policies"))
    venv = pack_virtualenv(pack, VENV_CACHE)
    (pack / "venv").symlink_to(venv, target_is_directory=True)
    return pack


@pytest.fixture(scope="session")
def engine() -> Iterator[tuple[object, str]]:
    with fake_engine() as running:
        yield running


@pytest.fixture(scope="session")
def analyzer(published_pack: Path, engine: tuple[object, str]) -> Iterator[RunningPack]:
    with running_pack(published_pack, engine[1], StackContext()) as running:
        yield running


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return plan_stack(ROOT, "dev")


def _configure(analyzer: RunningPack, policy_config: dict | None = None) -> None:
    analyzer.stub.Configure(configure_request(effective_config(policy_config)), timeout=30)


def _verdicts(analyzer: RunningPack, plan: Plan) -> list:
    """Analyze per resource, then AnalyzeStack once: the engine's order (step_generator.go)."""
    found = []
    for resource in plan.resources:
        response = analyzer.stub.Analyze(analyze_request(resource), timeout=30)
        found += [_violation(d, resource.urn) for d in response.diagnostics]
    response = analyzer.stub.AnalyzeStack(analyze_stack_request(plan), timeout=60)
    return found + [_violation(d, None) for d in response.diagnostics]


def _weakened_vault(**more: object) -> PlannedResource:
    def weaken(props: dict) -> None:
        props["properties"].update(
            enableRbacAuthorization=False, enablePurgeProtection=False, **more
        )

    (vault,) = [r for r in changed(good_resources(), "kv", weaken) if r.urn == VAULT_URN]
    return vault


def test_the_published_folder_cannot_see_the_repository(published_pack: Path) -> None:
    # The copy lives outside the repository and its venv holds only the pack's requirements:
    # the repository's own packages cannot be imported from there, the pack's runtime can.
    python = str(published_pack / "venv" / "bin" / "python")
    probe = "import importlib.util as u; print([bool(u.find_spec(m)) for m in %r])"
    modules = ["catalog", "components", "preflight", "jsonschema", "pulumi_policy", "pulumi"]
    result = subprocess.run(
        [python, "-c", probe % modules],
        cwd=published_pack,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == str([False, False, False, False, True, True])
    assert published_pack.name == f"pulumi-analyzer-secure-azure-ai-v{pack_version()}"
    assert not (published_pack / "__pycache__").exists()


def test_a_pack_reaching_outside_its_folder_fails_there(
    published_pack: Path, engine: tuple[object, str], tmp_path: Path
) -> None:
    # What a published pack that imports the repository does under Pulumi Cloud: pulumi.policy's
    # __main__ (pulumi/pulumi sdk/python/lib/pulumi/policy/__main__.py) reports the exception
    # and exits 1 before printing a port. Proves the copy above really is isolated.
    leaky = tmp_path / published_pack.name
    leaky.mkdir()
    for item in published_pack.iterdir():
        (leaky / item.name).symlink_to(item)
    (leaky / "__main__.py").unlink()
    (leaky / "__main__.py").write_text("import catalog.roles\n", "utf-8")
    process = start_pack(leaky, engine[1], StackContext())
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "ModuleNotFoundError: No module named 'catalog'" in stderr.decode()


def test_the_analyzer_describes_the_pack(analyzer: RunningPack) -> None:
    # GetAnalyzerInfo: the pack's name and every policy with its level; the CLI takes the version
    # from PulumiPolicy.yaml over the "0.0.1" pulumi-policy answers (analyzer_plugin.go
    # GetAnalyzerInfo; pulumi_policy/policy.py PolicyPack).
    info = analyzer.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "secure-azure-ai"
    assert info.version == "0.0.1"
    assert info.supportsConfig is True
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]
    assert {p.name: p.enforcementLevel for p in info.policies} == {
        p.name: (ADVISORY if p.enforcement_level.value == "advisory" else MANDATORY)
        for p in POLICIES
    }
    plugin = analyzer.stub.GetPluginInfo(empty_pb2.Empty(), timeout=30)
    assert plugin.version == "1.21.0"


def test_a_weakened_vault_is_refused_and_a_compliant_one_accepted(analyzer: RunningPack) -> None:
    _configure(analyzer)
    weak = analyzer.stub.Analyze(analyze_request(_weakened_vault()), timeout=30)
    assert {(d.policyName, d.enforcementLevel, d.urn) for d in weak.diagnostics} == {
        ("key-vault-uses-rbac", MANDATORY, VAULT_URN),
        ("key-vault-has-purge-protection", MANDATORY, VAULT_URN),
    }
    (good,) = [r for r in good_resources() if r.urn == VAULT_URN]
    assert list(analyzer.stub.Analyze(analyze_request(good), timeout=30).diagnostics) == []


def test_configure_sets_levels_and_settings(analyzer: RunningPack) -> None:
    # Configure carries each policy's level and settings (--policy-pack-config, analyzer_plugin.go
    # Configure); the next Analyze obeys them.
    _configure(
        analyzer,
        {
            "key-vault-uses-rbac": "disabled",
            "key-vault-has-purge-protection": "advisory",
            "key-vault-has-soft-delete": {"minimumRetentionDays": 30},
        },
    )
    vault = _weakened_vault(softDeleteRetentionInDays=30)
    try:
        configured = analyzer.stub.Analyze(analyze_request(vault), timeout=30)
    finally:
        _configure(analyzer)
    default = analyzer.stub.Analyze(analyze_request(vault), timeout=30)
    assert {(d.policyName, d.enforcementLevel) for d in configured.diagnostics} == {
        ("key-vault-has-purge-protection", ADVISORY),
    }
    assert {(d.policyName, d.enforcementLevel) for d in default.diagnostics} == {
        ("key-vault-uses-rbac", MANDATORY),
        ("key-vault-has-purge-protection", MANDATORY),
        ("key-vault-has-soft-delete", MANDATORY),
    }


def test_the_dev_stack_gets_the_same_verdicts_as_in_process(
    analyzer: RunningPack, dev_plan: Plan
) -> None:
    _configure(analyzer)
    over_grpc = _verdicts(analyzer, dev_plan)
    assert over_grpc == evaluate(dev_plan)
    assert [v for v in over_grpc if v.enforcement == "mandatory"] == []


def test_a_weakened_stack_gets_the_same_verdicts_as_in_process(analyzer: RunningPack) -> None:
    plan = plan_of([_weakened_vault() if r.urn == VAULT_URN else r for r in good_resources()])
    _configure(analyzer)
    over_grpc = _verdicts(analyzer, plan)
    assert over_grpc == evaluate(plan)
    assert {(v.policy, v.enforcement, v.urn) for v in over_grpc} == {
        ("key-vault-uses-rbac", "mandatory", VAULT_URN),
        ("key-vault-has-purge-protection", "mandatory", VAULT_URN),
    }


def test_the_pack_never_calls_the_engine(analyzer: RunningPack, engine: tuple[object, str]) -> None:
    # pulumi.policy's __main__ parses the engine address and does not connect to it (no engine
    # in pulumi.runtime.Settings), so a Python pack reports only through its diagnostics; its
    # own failures go to stderr, which the CLI shows. The fake engine records no Log call.
    analyzer.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert engine[0].logs == []


def test_a_key_in_a_stack_output_is_refused_on_the_root_stack_resource(
    analyzer: RunningPack,
) -> None:
    # The engine sends the root pulumi:pulumi:Stack resource to AnalyzeStack with the stack
    # outputs as its properties, secrets in their signature (step_generator.go AnalyzeResources,
    # after deployment_executor.go finalises the outputs); pulumi-policy unwraps them.
    key = secrets.token_hex(16)
    plan = plan_of(good_resources())
    plan.outputs = {"aiKey": {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": key}}
    _configure(analyzer)
    over_grpc = _verdicts(analyzer, plan)
    assert {(v.policy, v.enforcement, v.urn) for v in over_grpc} == {
        ("stack-outputs-hold-no-credential", "mandatory", plan.stack_resource().urn)
    }
    assert over_grpc == evaluate(plan)
    assert not any(key in v.message for v in over_grpc)
