"""`python -m rotation` in this process against the emulator: exit codes, output, bad input."""

from __future__ import annotations

import json

import pytest

from emulator.topology import REFERENCE_SITE, SDK_SITE
from rotation import cli

VAULT_RULE = (
    "must be https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
    "vault.azure.cn and vault.usgovcloudapi.net too)"
)


def run(local, argv, capsys):
    lines: list[str] = []
    code = cli.main(argv, connection=local.connection, out=lines.append)
    err = capsys.readouterr().err
    return code, "\n".join(lines), err


@pytest.fixture
def outputs(local, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(local.stack_outputs()))
    return str(path)


def snapshot(local):
    world = local.world
    versions = local.state.secret_versions(world.vault.name, world.secret_name)
    return (
        local.state.keys(world.account.name),
        [(v.version, dict(v.tags), v.exp) for v in versions],
        local.state.site(REFERENCE_SITE).refresh_count,
    )


FAST = [
    "--probe-timeout",
    "5",
    "--confirm-timeout",
    "5",
    "--poll-interval",
    "0.02",
    "--drain-seconds",
    "0",
]


def test_rotate_then_status_is_healthy_and_reports_every_consumer(local, outputs, capsys):
    code, out, err = run(local, ["rotate", "--stack-outputs", outputs, *FAST], capsys)
    assert code == 0, err
    latest = local.state.latest_secret(local.world.vault.name, local.world.secret_name)
    assert out == f"rotate: done; version {latest.version} holds key2 (4 steps)"
    assert "rotation: step 2/4 regenerate key2: done" in err
    for value in local.state.keys(local.world.account.name).values():
        assert value not in err and value not in out  # never a key in the output

    code, out, err = run(local, ["status", "--stack-outputs", outputs, "--format", "json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True and report["problems"] == []
    assert (report["version"], report["activeSlot"], report["standbySlot"], report["state"]) == (
        latest.version,
        "key2",
        "key1",
        "idle",
    )
    assert [(c["name"], c["kind"], c["confirmed"], c["version"]) for c in report["consumers"]] == [
        (REFERENCE_SITE, "site", True, latest.version),
        (SDK_SITE, "site", True, latest.version),
        (SDK_SITE, "health", True, latest.version),
    ]
    assert report["versions"][0]["slot"] == "key2"
    assert sorted(str(v["slot"]) for v in report["versions"][1:]) == ["None", "key1"]
    assert 89.9 < report["daysToExpiry"] <= 90


def test_status_exits_1_near_expiry_and_when_a_consumer_is_behind(local, outputs, capsys):
    assert run(local, ["rotate", "--stack-outputs", outputs, *FAST], capsys)[0] == 0
    code, out, _ = run(
        local, ["status", "--stack-outputs", outputs, "--threshold-days", "95"], capsys
    )
    assert code == 1
    assert out.splitlines()[-1].startswith("status    version ")
    assert out.splitlines()[-1].endswith("(threshold 95)")

    # A new version nobody has picked up yet: the site still serves the previous one.
    world = local.world
    local.state.set_secret(
        world.vault.name,
        world.secret_name,
        local.state.keys(world.account.name)["key2"],
        tags=dict(local.state.latest_secret(world.vault.name, world.secret_name).tags),
        exp=2_000_000_000,
    )
    code, out, _ = run(local, ["status", "--stack-outputs", outputs, "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    site = next(c for c in report["consumers"] if c["kind"] == "site")
    assert site["confirmed"] is False
    assert site["detail"].startswith("AZURE_AI_API_KEY: Resolved on ")


def test_status_without_expiry_is_a_problem(local, outputs, capsys):
    code, out, _ = run(local, ["status", "--stack-outputs", outputs, "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    assert report["problems"][0] == f"version {report['version']} has no expiry"


def test_revoke_and_both_through_the_command_line(local, outputs, capsys):
    before = local.state.keys(local.world.account.name)
    code, out, err = run(
        local, ["revoke", "--slot", "key1", "--stack-outputs", outputs, *FAST], capsys
    )
    assert code == 0, err
    assert out.endswith("holds key2 (3 steps)")
    assert local.state.keys(local.world.account.name)["key1"] != before["key1"]
    code, out, err = run(local, ["rotate", "--both", "--stack-outputs", outputs, *FAST], capsys)
    assert code == 0, err
    # both renews the standby, switches back: it ends on the slot it started from.
    assert out.startswith("both: done") and out.endswith("holds key2 (6 steps)")
    assert local.state.keys(local.world.account.name)["key2"] != before["key2"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["revoke", "--slot", "key3"],
            "rotation: error: argument --slot: invalid choice: 'key3' (choose from 'key1', 'key2')",
        ),
        (
            ["rotate", "--vault-url", "http://kv1.vault.azure.net", "--secret-name", "s"],
            f"rotation: error: --vault-url 'http://kv1.vault.azure.net': {VAULT_RULE}",
        ),
        (
            ["rotate", "--vault-url", "https://kv1.vault.azure.net", "--secret-name", "a_b"],
            "rotation: error: --secret-name 'a_b': the rule is 1-127 letters, digits or hyphens",
        ),
        (
            ["rotate", "--secret-name", "s"],
            "rotation: error: vault URL: none given; the rule is --vault-url or --stack-outputs "
            "with 'vaultUri'",
        ),
        (
            ["rotate", "--stack-outputs", "/nonexistent/outputs.json"],
            "rotation: error: --stack-outputs '/nonexistent/outputs.json': cannot be read "
            "(No such file or directory)",
        ),
        (
            ["rotate", "--period-days", "0"],
            "rotation: error: argument --period-days: '0': the rule is a whole number of days "
            "from 1 to 365",
        ),
        (
            ["status", "--format", "yaml"],
            "rotation: error: argument --format: invalid choice: 'yaml' (choose from 'text', "
            "'json')",
        ),
    ],
)
def test_bad_flags_are_one_line_and_change_nothing(local, argv, message, capsys):
    before = snapshot(local)
    with pytest.raises(SystemExit) as exited:
        code = cli.main(argv, connection=local.connection, out=print)
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err == message + "\n"
    assert snapshot(local) == before


def _account_flags(local, **override):
    flags = {
        "--vault-url": local.world.vault_url,
        "--secret-name": local.world.secret_name,
        "--account-id": local.world.account.id,
        "--endpoint": local.world.endpoint,
        "--deployment": local.world.deployment,
    }
    flags.update(override)
    return [part for pair in flags.items() for part in pair]


@pytest.mark.parametrize(
    ("override", "code", "message"),
    [
        (
            {
                "--account-id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/"
                "storageAccounts/a"
            },
            2,
            "rotation: error: --account-id '/subscriptions/x/resourceGroups/rg/providers/"
            "Microsoft.Storage/storageAccounts/a': must be /subscriptions/<subscription GUID>/"
            "resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>",
        ),
        (
            # The rotator's role covers only its secret: Key Vault answers 403 for any other.
            {"--secret-name": "no-such-secret"},
            1,
            "rotation: stopped: Key Vault https://kv-secure-demo.vault.azure.net (read secret "
            "no-such-secret) failed: HTTP 403 Forbidden",
        ),
        (
            {"--vault-url": "https://kv-unknown.vault.azure.net/"},
            1,
            "rotation: stopped: Key Vault https://kv-unknown.vault.azure.net (read secret "
            "ai-api-key) failed: HTTP 404 VaultNotFound",
        ),
    ],
)
def test_bad_targets_are_one_line_and_change_nothing(local, override, code, message, capsys):
    before = snapshot(local)
    got, _, err = run(local, ["rotate", *_account_flags(local, **override), *FAST], capsys)
    assert (got, err) == (code, message + "\n")
    assert snapshot(local) == before


def test_unknown_account_is_one_line_and_changes_nothing(local, outputs, capsys):
    before = snapshot(local)
    missing = local.world.account.id.rsplit("/", 1)[0] + "/ai-missing"
    group = local.world.account.id.split("/")[4]
    code, _, err = run(
        local, ["rotate", "--stack-outputs", outputs, "--account-id", missing, *FAST], capsys
    )
    assert code == 1
    assert err == (
        f"rotation: stopped: ARM listKeys of account ai-missing (resource group {group}) failed: "
        "HTTP 403 AuthorizationFailed; the rule is an existing account and an identity with "
        "Microsoft.CognitiveServices/accounts/listKeys/action on it\n"
    )
    assert snapshot(local) == before


def test_missing_slot_tag_is_one_line_and_changes_nothing(local, outputs, capsys):
    world = local.world
    local.state.set_secret(
        world.vault.name, world.secret_name, local.state.keys(world.account.name)["key1"], tags={}
    )
    before = snapshot(local)
    code, _, err = run(local, ["rotate", "--stack-outputs", outputs, *FAST], capsys)
    assert code == 2
    assert err == (
        "rotation: error: secret 'ai-api-key': tag 'CredentialId' is missing; the rule is: the "
        "latest version names the slot its key comes from (key1 or key2)\n"
    )
    assert snapshot(local) == before


def test_consumers_from_the_secret_tag_when_outputs_name_none(local, capsys):
    flags = _account_flags(local)
    _, out, _ = run(local, ["status", *flags, "--format", "json"], capsys)
    report = json.loads(out)
    assert [(c["name"], c["kind"], c["target"]) for c in report["consumers"]] == [
        (REFERENCE_SITE, "site", local.state.site(REFERENCE_SITE).id),
        (SDK_SITE, "site", local.state.site(SDK_SITE).id),
    ]


def test_sites_reporting_no_version_are_confirmed_only_by_a_refresh(
    local, outputs, capsys, monkeypatch
):
    from emulator.services.app_service import ArmSites

    reference_json = ArmSites._reference_json

    def without_version(self, site, status):
        body = reference_json(self, site, status)
        body["properties"]["activeVersion"] = None  # as App Service may answer
        return body

    monkeypatch.setattr(ArmSites, "_reference_json", without_version)
    _, out, _ = run(local, ["status", "--stack-outputs", outputs, "--format", "json"], capsys)
    site = json.loads(out)["consumers"][0]
    assert (site["confirmed"], site["detail"]) == (
        False,
        "AZURE_AI_API_KEY: Resolved, version not reported",
    )
    refreshes = local.state.site(REFERENCE_SITE).refresh_count
    code, _, err = run(local, ["rotate", "--stack-outputs", outputs, *FAST], capsys)
    assert code == 0, err
    # Both confirms refreshed: the status alone could not prove the version.
    assert local.state.site(REFERENCE_SITE).refresh_count == refreshes + 2
    code, out, _ = run(local, ["status", "--stack-outputs", outputs, "--format", "json"], capsys)
    site = json.loads(out)["consumers"][0]
    assert (code, site["confirmed"], site["detail"]) == (0, True, "AZURE_AI_API_KEY: Resolved")


def test_a_missing_chat_deployment_stops_before_any_change(local, outputs, capsys):
    before = snapshot(local)
    code, _, err = run(
        local, ["rotate", "--stack-outputs", outputs, "--deployment", "nope", *FAST], capsys
    )
    assert code == 1
    assert err == (
        f"rotation: stopped: the AI endpoint answered 404 for {local.world.endpoint.rstrip('/')}"
        "/openai/deployments/nope/chat/completions; the rule is an existing chat deployment "
        "(--deployment or stack output 'chatDeployment'); nothing was published\n"
    )
    assert snapshot(local) == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--period-days", "3000000"],
            "rotation: error: argument --period-days: '3000000': the rule is a whole number of "
            "days from 1 to 365",
        ),
        (
            ["--drain-seconds", "1e300"],
            "rotation: error: argument --drain-seconds: '1e300': the rule is a number of seconds "
            ">= 0 and at most 86400",
        ),
        (
            ["--confirm-timeout", "100", "--poll-interval", "1e308"],
            "rotation: error: argument --poll-interval: '1e308': the rule is a number of seconds "
            "above 0 and at most 300",
        ),
    ],
)
def test_out_of_range_flags_are_refused_before_anything_changes(
    local, outputs, flags, message, capsys
):
    # Accepted, these broke mid-operation with a traceback (a date or a sleep out of range)
    # after the standby key had already been regenerated.
    before = snapshot(local)
    argv = ["rotate", "--stack-outputs", outputs, *FAST, *flags]
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(cli.main(argv, connection=local.connection, out=print))
    assert exited.value.code == 2
    assert capsys.readouterr().err == message + "\n"
    assert snapshot(local) == before
