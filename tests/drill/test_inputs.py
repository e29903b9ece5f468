"""Bad input to `python -m drill`: one line naming the flag and the rule, exit 2, before any
world is built or any request is sent."""

from __future__ import annotations

import pytest

from drill.__main__ import main


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
