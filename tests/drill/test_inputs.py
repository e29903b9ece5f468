"""Bad input to `python -m drill`: one line naming the flag and the rule, exit 2, before any
world is built or any request is sent."""

from __future__ import annotations

import pytest

from drill.__main__ import main
from rotation.commands import Waits


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--clients", "100000"],
            "argument --clients: '100000': the rule is a whole number above 0 and at most 256",
        ),
        (
            ["--rotations", "1000"],
            "argument --rotations: '1000': the rule is a whole number above 0 and at most 100",
        ),
        (
            ["--local", "--vault-url", "https://kv-secure-demo.vault.azure.net/"],
            "--vault-url: a local drill acts on the emulator's own world; the rule is --local "
            "without target flags, or --stack-outputs without --local",
        ),
        (
            ["--stack-outputs", "/nonexistent.json", "--kv-5xx", "3"],
            "--kv-5xx: only a local drill (--local) can honour it; a remote drill injects no "
            "faults and drives no hosted functions",
        ),
        (
            ["--stack-outputs", "/nonexistent.json", "--hosted"],
            "--hosted: only a local drill (--local) can honour it; a remote drill injects no "
            "faults and drives no hosted functions",
        ),
    ],
)
def test_drill_flags_are_honoured_or_refused(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(argv, out=print))
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"drill: error: {message}\n"


def test_a_remote_drill_waits_as_rotate_does_and_a_local_one_as_the_emulator_allows(monkeypatch):
    """Wait flags left out: a remote drill takes `python -m rotation rotate`'s defaults (it acts
    on Azure), a local one the emulator's short waits; flags given win in both."""
    from drill import command

    seen: dict[str, object] = {}
    report = {"failed": 0, "stopped": None}

    def remote(args, rotations, clients):
        seen["remote"] = {name: getattr(args, name) for name in command.WAIT_FLAGS}
        return report

    def local(rotations, clients, *, faults, waits):
        seen["local"] = waits
        return report

    monkeypatch.setattr(command, "drill_remote", remote)
    monkeypatch.setattr(command, "drill_local", local)
    monkeypatch.setattr(command, "render_text", lambda report: "")
    assert main(["--stack-outputs", "outputs.json", "--poll-interval", "2"], out=print) == 0
    assert seen["remote"] == {
        "probe_timeout": 120.0,
        "confirm_timeout": 600.0,
        "poll_interval": 2.0,
        "drain_seconds": 240.0,
    }
    assert main(["--local", "--drain-seconds", "0", "--period-days", "30"], out=print) == 0
    assert seen["local"] == Waits(
        probe_timeout=10.0,
        confirm_timeout=10.0,
        poll_interval=0.02,
        drain_seconds=0.0,
        period_days=30,
    )
