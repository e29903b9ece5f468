"""`python -m drill`: rotations under concurrent load, locally (the emulator, optionally with the
hosted functions and faults) or against the deployment the stack outputs name.

Exit codes: 0 no request failed and no rotation stopped; 1 a request failed, a rotation stopped
or the hosted rehearsal saw other than one rotation per due version; 2 bad input (one line naming
the input, the value and the rule; nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from drill import command
from rotation import cli

PROG = "drill"
# The drill's load: enough to find contention on two cores, far from exhausting threads.
MAX_CLIENTS = 256
MAX_ROTATIONS = 100
MAX_FAULT_COUNT = 100000
MAX_LATENCY_MS = 5000.0
MAX_ACCEPT_DELAY = 60.0


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = _Parser(
        prog=f"python -m {PROG}", description="Rotations under concurrent load; prints a summary."
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log each SDK step")
    cli.target_flags(p)
    cli.timeout_flags(p)
    p.add_argument(
        "--local",
        action="store_true",
        help="against the in-memory emulator (the default without --stack-outputs)",
    )
    p.add_argument(
        "--hosted",
        action="store_true",
        help="drive the hosted functions (events, queue runs, timer ticks, a racing CLI run, "
        "crashes) with Azurite for the lease and the queue; needs --local",
    )
    p.add_argument(
        "--rotations",
        type=cli.positive(int, "whole number", MAX_ROTATIONS),
        default=3,
        help=f"rotations to run (default 3, at most {MAX_ROTATIONS})",
    )
    p.add_argument(
        "--clients",
        type=cli.positive(int, "whole number", MAX_CLIENTS),
        default=8,
        help=f"concurrent client threads (default 8, at most {MAX_CLIENTS})",
    )
    faults = p.add_argument_group("faults (local drills only)")
    whole = cli.positive(int, "whole number", MAX_FAULT_COUNT)
    for flag, kind, metavar, text in (
        ("--kv-throttle", whole, "N", "Key Vault answers 429 (Retry-After) past N requests/s"),
        ("--arm-throttle", whole, "N", "ARM answers 429 (Retry-After) past N requests/s"),
        ("--kv-5xx", whole, "K", "every K-th Key Vault request answers 503"),
        ("--arm-5xx", whole, "K", "every K-th ARM request answers 503"),
        (
            "--latency-ms",
            cli.positive(float, "number of milliseconds", MAX_LATENCY_MS),
            "MS",
            "added to every Key Vault and ARM request",
        ),
        (
            "--accept-delay",
            cli.positive(float, "number of seconds", MAX_ACCEPT_DELAY),
            "S",
            "a regenerated key is accepted only this much later (default 0.05 s)",
        ),
    ):
        faults.add_argument(flag, type=kind, metavar=metavar, help=text)
    p.add_argument("--format", choices=("text", "json"), default="text")
    # Resolved by drill/command.py: a local drill's waits fit the emulator, a remote one's are
    # rotate's defaults.
    p.set_defaults(probe_timeout=None, confirm_timeout=None, poll_interval=None, drain_seconds=None)
    return p


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    """Run the command line (exit codes and error lines as rotation's: rotation.cli.run_command)."""
    args = build_parser().parse_args(argv)
    return cli.run_command(PROG, args.verbose, lambda: command.run(args, out=out))


if __name__ == "__main__":
    sys.exit(main())
