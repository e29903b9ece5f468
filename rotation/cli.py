"""`python -m rotation`: status, rotate and revoke. This module parses and dispatches: the
commands are rotation/commands.py, and what the flags name is resolved by rotation/resolve.py,
which the drill and the hosted entry points share.

Exit codes: 0 done / healthy; 1 stopped or unhealthy (the message says why, nothing broken);
2 bad input (one line naming the input, the value and the rule; nothing changed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from azure.core.exceptions import AzureError, ClientAuthenticationError

from azure_edge.clients import Connection
from azure_edge.errors import EdgeError, describe
from catalog import hosted as hosted_names
from catalog import secret
from catalog.key_shapes import shown
from rotation import commands, resolve, state, status, target
from rotation.engine import RotationStopped

PROG = "rotation"
DEFAULT_DRAIN_SECONDS = 240.0
log = logging.getLogger(PROG)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


# Upper bounds keep a value from breaking an operation half-way (a date or a sleep out of range
# after a key was regenerated); the period's are the secret's contract (catalog/secret.py).
MAX_DRAIN_SECONDS = 86400.0
MAX_POLL_INTERVAL = 300.0
MAX_TIMEOUT = 86400.0
MAX_LEASE_WAIT = 3600.0


def positive(kind: type, what: str, maximum: float | None = None) -> Callable[[str], Any]:
    bound = "" if maximum is None else f" and at most {maximum:g}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not a {what}") from None
        if not value > 0 or value == float("inf") or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{shown(text)}: the rule is a {what} above 0{bound}")
        return value

    return parse


def _period(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number of days") from None
    if not secret.is_period(value):
        raise argparse.ArgumentTypeError(f"{shown(text)}: the rule is {secret.PERIOD_RULE}")
    return value


def drain(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= MAX_DRAIN_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the rule is a number of seconds >= 0 and at most {MAX_DRAIN_SECONDS:g}"
        )
    return value


def target_flags(parser: argparse.ArgumentParser) -> None:
    """The flags naming what to act on (resolve.Where)."""
    where = parser.add_argument_group("what to act on (flags win over stack outputs and tags)")
    where.add_argument("--stack-outputs", metavar="FILE", help="`pulumi stack output --json` file")
    where.add_argument("--vault-url", help="https://<vault>.vault.azure.net/")
    where.add_argument("--secret-name", help="the secret holding the account key")
    where.add_argument("--account-id", help="the AI account's resource ID")
    where.add_argument("--endpoint", help="the AI account's https endpoint (for the probe)")
    where.add_argument("--deployment", help="the chat deployment the probe calls (default: chat)")


def _lease_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("one rotation at a time (the automation's lease)")
    group.add_argument(
        "--lease-account",
        type=_checked(resolve.storage_account),
        help="storage account of the rotation automation: take the secret's lease there, as the "
        "automation does (without it, only the run tags fence concurrent runs)",
    )
    group.add_argument(
        "--lease-container",
        type=_checked(resolve.storage_child),
        default=hosted_names.LEASE_CONTAINER,
        help=f"container of the lease blobs (default {hosted_names.LEASE_CONTAINER})",
    )
    group.add_argument(
        "--lease-wait",
        type=positive(float, "number of seconds", MAX_LEASE_WAIT),
        default=300.0,
        help="how long to wait while another run holds the lease (default 300 s)",
    )


def _checked(check: Callable[[str, str], str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        try:
            return check(text, "")
        except target.InputError as exc:
            raise argparse.ArgumentTypeError(str(exc).strip()) from None

    return parse


def timeout_flags(parser: argparse.ArgumentParser) -> None:
    """The period, timeouts, drain and poll interval of an operation."""
    parser.add_argument(
        "--period-days",
        type=_period,
        help=f"validity of a new version, {secret.PERIOD_RULE} (default: the secret's "
        f"{secret.TAG_PERIOD} tag, else {secret.DEFAULT_PERIOD_DAYS})",
    )
    parser.add_argument(
        "--probe-timeout",
        type=positive(float, "number of seconds", MAX_TIMEOUT),
        default=120.0,
        help="how long a new key may take to be accepted (default 120 s)",
    )
    parser.add_argument(
        "--confirm-timeout",
        type=positive(float, "number of seconds", MAX_TIMEOUT),
        default=600.0,
        help="how long each consumer may take to report the new version (default 600 s)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=drain,
        default=DEFAULT_DRAIN_SECONDS,
        help="before a rotation regenerates the retired key, how long since consumers left it "
        "(default 240 s: above App Service's 230 s request timeout); revoke never waits",
    )
    parser.add_argument(
        "--poll-interval",
        type=positive(float, "number of seconds", MAX_POLL_INTERVAL),
        default=1.0,
        help="first pause between polls of the endpoint and the consumers, doubling up to 15 s "
        "(default 1 s)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = _Parser(prog=f"python -m {PROG}", description="Zero-downtime dual-key rotation.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each SDK step")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("status", help="active slot, versions, expiry, consumers (exit 1: act)")
    target_flags(p)
    p.add_argument(
        "--threshold-days",
        type=positive(float, "number of days"),
        default=status.DEFAULT_THRESHOLD_DAYS,
        help="exit 1 when the latest version expires sooner (default 30)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("rotate", help="regenerate the standby key, publish it, move consumers")
    target_flags(p)
    timeout_flags(p)
    _lease_flags(p)
    p.add_argument("--both", action="store_true", help="renew both keys")

    p = sub.add_parser("revoke", help="move consumers off a slot, then regenerate it at once")
    target_flags(p)
    timeout_flags(p)
    _lease_flags(p)
    p.add_argument("--slot", required=True, choices=state.SLOTS)

    return parser


def _status(args: argparse.Namespace, connection: Connection, out: Callable[[str], None]) -> int:
    report = commands.status_report(
        resolve.Where.of(args), connection, threshold_days=args.threshold_days
    )
    out(json.dumps(report, indent=2) if args.format == "json" else status.render_text(report))
    return 0 if report["ok"] else 1


def _operate(args: argparse.Namespace, connection: Connection, out: Callable[[str], None]) -> int:
    if args.command == "revoke":
        op = state.Operation("revoke", args.slot)
    else:
        op = state.Operation("both" if args.both else "rotate")
    waits = commands.Waits(
        probe_timeout=args.probe_timeout,
        confirm_timeout=args.confirm_timeout,
        poll_interval=args.poll_interval,
        drain_seconds=args.drain_seconds,
        period_days=args.period_days,
    )
    lease_at = (
        commands.LeaseAt(args.lease_account, args.lease_container, args.lease_wait)
        if args.lease_account
        else None
    )
    out(
        commands.operate(
            resolve.Where.of(args),
            connection,
            op,
            waits,
            lease_at=lease_at,
            echo=lambda line: print(f"{PROG}: {line}", file=sys.stderr, flush=True),
        )
    )
    return 0


def run_command(prog: str, verbose: bool, action: Callable[[], int]) -> int:
    """Run one command the way every rotation command line does: SDK logging quiet unless
    `verbose`, and each expected failure as one line on stderr with its exit code (2: bad input,
    nothing changed; 1: stopped, nothing broken)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format=f"{prog}: %(name)s: %(message)s",
    )
    if not verbose:
        # The SDKs log request URLs and headers at INFO; keep them quiet unless asked.
        logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        return action()
    except (target.InputError, state.StateError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except (RotationStopped, EdgeError) as exc:
        print(f"{prog}: stopped: {exc}", file=sys.stderr)
        return 1
    except ClientAuthenticationError as exc:
        print(f"{prog}: error: {describe(exc)}", file=sys.stderr)
        return 1
    except AzureError as exc:
        print(f"{prog}: stopped: {describe(exc)}", file=sys.stderr)
        return 1


def main(
    argv: Sequence[str] | None = None,
    *,
    connection: Connection | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run the command line; `connection` (default: DefaultAzureCredential) is for tests."""
    args = build_parser().parse_args(argv)

    def dispatch() -> int:
        chosen = connection or Connection.default()
        if args.command == "status":
            return _status(args, chosen, out)
        return _operate(args, chosen, out)

    return run_command(PROG, args.verbose, dispatch)
