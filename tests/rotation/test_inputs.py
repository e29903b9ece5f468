"""Bad input to every command-line entry point: one line naming the input and the rule, exit 2,
nothing changed, no request sent; a value shaped like a key is never echoed."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from rotation import cli, state
from rotation.lease import SecretLease

KEY = "9f" * 16  # the shape of an Azure AI key (synthetic)

VAULT_RULE = (
    "must be https://<vault name>.vault.azure.net/ (3-24 letters, digits or single hyphens; "
    "vault.azure.cn and vault.usgovcloudapi.net too)"
)


def run(local, argv, capsys):
    lines: list[str] = []
    local.state.reset_counters()
    code = cli.main(argv, connection=local.connection, out=lines.append)
    return code, "\n".join(lines), capsys.readouterr().err


def snapshot(local):
    world = local.world
    versions = local.state.secret_versions(world.vault.name, world.secret_name)
    return local.state.keys(world.account.name), [(v.version, dict(v.tags)) for v in versions]


def test_a_key_typed_as_the_secret_name_is_refused_before_any_request(local, capsys):
    before = snapshot(local)
    code, _, err = run(
        local, ["rotate", "--vault-url", local.world.vault_url, "--secret-name", KEY], capsys
    )
    assert code == 2
    assert err == (
        "rotation: error: --secret-name <32 characters, masked: it looks like a key>: the rule "
        "is the secret's name, never a key; nothing was sent\n"
    )
    assert KEY not in err
    assert local.state.requests() == 0  # not sent to Key Vault (nor anywhere)
    assert snapshot(local) == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--vault-url", "https://[::1]/"],
            f"--vault-url 'https://[::1]/': {VAULT_RULE}",
        ),
        (
            ["--vault-url", "https://[::1"],
            f"--vault-url 'https://[::1': {VAULT_RULE}",
        ),
        (
            ["--vault-url", "https://kv-secure-demo.vault.azure.net:99999/"],
            f"--vault-url 'https://kv-secure-demo.vault.azure.net:99999/': {VAULT_RULE}",
        ),
        (
            ["--vault-url", "https://kv-secure-demo.vault.azure.net.evil.example/"],
            f"--vault-url 'https://kv-secure-demo.vault.azure.net.evil.example/': {VAULT_RULE}",
        ),
        (
            ["--endpoint", "https://ai.openai.azure.com:8443/"],
            "--endpoint 'https://ai.openai.azure.com:8443/': the rule is "
            "https://<subdomain>.openai.azure.com/ (no port or query)",
        ),
        (
            ["--deployment", KEY],
            "--deployment <32 characters, masked: it looks like a key>: the rule is 1-64 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit",
        ),
    ],
)
def test_bad_urls_and_names_are_one_line(local, capsys, flags, message):
    argv = ["rotate", "--vault-url", local.world.vault_url, "--secret-name", "ai-api-key"]
    code, _, err = run(local, [*argv, *flags], capsys)
    assert (code, err) == (2, f"rotation: error: {message}\n")
    assert local.state.requests() == 0


def _outputs_cases(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"vaultUri": "caf\xe9"}')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * 1_000_001)
    return [
        (fifo, "not a regular file; the rule is a JSON file"),
        ("/dev/zero", "not a regular file; the rule is a JSON file"),
        (latin, "not UTF-8 (byte 17); the rule is UTF-8 JSON"),
        (deep, "nested too deeply; not stack outputs"),
        (huge, "larger than 1000000 bytes; not stack outputs"),
    ]


def test_bad_stack_output_files_are_one_line_and_never_waited_on(local, capsys, tmp_path):
    for path, rule in _outputs_cases(tmp_path):
        code, _, err = run(local, ["status", "--stack-outputs", str(path)], capsys)
        assert (code, err) == (2, f"rotation: error: --stack-outputs {str(path)!r}: {rule}\n")
    assert local.state.requests() == 0


def test_a_key_inside_stack_outputs_is_not_echoed(local, capsys, tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"vaultUri": local.world.vault_url, "secretName": KEY}))
    code, _, err = run(local, ["status", "--stack-outputs", str(path)], capsys)
    assert code == 2 and KEY not in err
    assert "<32 characters, masked: it looks like a key>" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["rotate", "--lease-account", "Not_An_Account"],
            "argument --lease-account: 'Not_An_Account': the rule is 3-24 lower-case letters or "
            "digits",
        ),
    ],
)
def test_lease_flags_are_honoured_or_refused(local, capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(cli.main(argv, connection=local.connection, out=print))
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"rotation: error: {message}\n"


def test_status_exits_1_while_an_operation_is_stranded_part_way(local, capsys):
    world = local.world
    latest = local.state.latest_secret(world.vault.name, world.secret_name)
    progress = state.Progress(state.Operation("rotate"), "key1", 2)
    latest.tags = state.claimed_tags(state.progress_tags(latest.tags, progress, "key1"), "run-x")
    code, out, err = run(
        local,
        [
            "status",
            "--vault-url",
            world.vault_url,
            "--secret-name",
            world.secret_name,
            "--format",
            "json",
        ],
        capsys,
    )
    report = json.loads(out)
    assert code == 1, err
    assert (
        "operation rotate stranded at step 3/4 (publish key2), run run-x: finish it with the "
        "same command" in report["problems"]
    )


def _lease_argv(local, storage, container, wait="0.3"):
    world = local.world
    return [
        "rotate",
        "--vault-url",
        world.vault_url,
        "--secret-name",
        world.secret_name,
        "--lease-account",
        storage.account,
        "--lease-container",
        container,
        "--lease-wait",
        wait,
        "--deployment",
        world.deployment,
        "--drain-seconds",
        "0",
        "--poll-interval",
        "0.02",
        "--probe-timeout",
        "5",
        "--confirm-timeout",
        "5",
    ]


def test_the_command_line_takes_the_automations_lease(local, storage, capsys):
    container = f"leases-{uuid.uuid4().hex[:8]}"
    local.connection.containers = lambda account, name: storage.container(name)
    before = snapshot(local)
    blob = f"{local.world.vault.name}/{local.world.secret_name}"
    with SecretLease(storage.container(container), blob, duration=15):
        code, _, err = run(local, _lease_argv(local, storage, container), capsys)
    assert code == 1
    assert err == (
        f"rotation: stopped: lease {container}/{blob}: another run holds it (waited 0.3 s); one "
        "rotation at a time per secret, nothing was changed: re-run when it is done\n"
    )
    assert snapshot(local) == before
    code, out, err = run(local, _lease_argv(local, storage, container), capsys)
    assert code == 0, err
    latest = local.state.latest_secret(local.world.vault.name, local.world.secret_name)
    assert out == f"rotate: done; version {latest.version} holds key2 (4 steps)"
    assert state.TAG_RUN not in latest.tags
