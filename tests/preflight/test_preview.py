"""`python -m preflight preview`: exit codes, flags, and one-line errors for bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from preflight.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["preview", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dev_stack_passes_offline(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = run(capsys, "--stack", "dev")
    assert (code, err) == (0, "")
    assert out.rstrip().splitlines()[-1] == "Verdict: PASS (mandatory violations: 0, advisory: 3)"


def test_bad_config_exits_2_with_one_line_per_problem_and_no_report(capsys, tmp_path):
    config = tmp_path / "Pulumi.broken.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            config:
              azure-native:location: mars
              secure-azure-ai:rotationPeriodDays: 400
              secure-azure-ai:appz: [{name: web}]
            """
        )
    )
    code, out, err = run(capsys, "--program", str(ROOT), "--config", str(config), "--stack", "x")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "preflight: invalid stack configuration:",
        "preflight: config secure-azure-ai:appz: unknown key; did you mean secure-azure-ai:apps?",
        "preflight: config secure-azure-ai:rotationPeriodDays: 400 is out of range; the rule is "
        "1 to 365 days",
        "preflight: config azure-native:location: 'mars' is not an Azure region name like "
        "'swedencentral'",
        "preflight: config secure-azure-ai:deployments: missing; the rule is at least one model "
        "deployment {name, model, version, capacity}: the apps call the first "
        "(AZURE_AI_DEPLOYMENT)",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--format", "html"],
            "preflight: --format 'html': the rule is one of text, markdown, json",
        ),
        (
            ["--stack", "dev stack"],
            "preflight: --stack 'dev stack': the rule is letters, digits, '-', '_' or '.'",
        ),
        (["--program", "/nonexistent"], "preflight: --program '/nonexistent': not a directory"),
        (["--stack", "nosuch"], f"preflight: config file '{ROOT}/Pulumi.nosuch.yaml': not found"),
        (
            ["--policy-config", "/nonexistent.json"],
            "preflight: --policy-config '/nonexistent.json': not found",
        ),
    ],
)
def test_bad_flags_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, "--program", str(ROOT), *argv)
    assert (code, out, err) == (2, "", message + "\n")


def test_bad_policy_settings_stop_before_the_program_runs(capsys, tmp_path):
    settings = tmp_path / "policy.json"
    settings.write_text('{"key-vault-has-soft-delete": {"minimumRetentionDays": 3}}')
    code, out, err = run(capsys, "--program", str(ROOT), "--policy-config", str(settings))
    assert (code, out) == (2, "")
    assert err == (
        "preflight: policy config key-vault-has-soft-delete.minimumRetentionDays: 3: "
        "3 is less than the minimum of 7\n"
    )


def test_unreadable_yaml_is_named_with_its_line(capsys, tmp_path):
    config = tmp_path / "Pulumi.bad.yaml"
    config.write_text("config:\n  a: [1,\n")
    code, _, err = run(capsys, "--program", str(ROOT), "--config", str(config))
    assert code == 2
    assert err == f"preflight: config file '{config}': line 3 is not valid YAML\n"


def test_another_program_directory_is_evaluated(capsys, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: tiny\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  tiny:greeting: hello\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\nfrom pulumi_azure_native import resources\n"
        "resources.ResourceGroup('group', location='swedencentral')\n"
        "pulumi.export('greeting', pulumi.Config().require('greeting'))\n"
    )
    code, out, err = run(capsys, "--program", str(tmp_path), "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["project"], report["verdict"], report["outputs"]) == (
        "tiny",
        "pass",
        {"greeting": "hello"},
    )
    assert [(r["type"], r["name"], r["properties"]) for r in report["resources"]] == [
        ("azure-native:resources:ResourceGroup", "group", {"location": "swedencentral"})
    ]
