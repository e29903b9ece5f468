"""`python -m rotation`: status, rotate, revoke and drill.

Exit codes: 0 done / healthy; 1 stopped or unhealthy (the message says why, nothing broken);
2 bad input (one line naming the input, the value and the rule; nothing changed).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from azure.core.exceptions import AzureError, ClientAuthenticationError

from catalog import hosted as hosted_names
from catalog.key_shapes import shown
from rotation import state, status, target
from rotation.azure import RotationStopped, Vault, Waiter, describe_error
from rotation.clients import Connection
from rotation.engine import Engine
from rotation.lease import DEFAULT_LEASE_SECONDS, SecretLease, lease_blob_name

PROG = "rotation"
DEFAULT_DRAIN_SECONDS = 240.0
log = logging.getLogger(PROG)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


# Upper bounds keep a value from breaking an operation half-way (a date or a sleep out of range
# after a key was regenerated): the period is the secret tag's rule (rotation/engine.py).
MAX_PERIOD_DAYS = 3650
MAX_DRAIN_SECONDS = 86400.0
MAX_POLL_INTERVAL = 300.0
MAX_TIMEOUT = 86400.0
MAX_LEASE_WAIT = 3600.0
# The drill's load: enough to find contention on two cores, far from exhausting threads.
MAX_CLIENTS = 256
MAX_ROTATIONS = 100
MAX_FAULT_COUNT = 100000
MAX_LATENCY_MS = 5000.0
MAX_ACCEPT_DELAY = 60.0


def _positive(kind: type, what: str, maximum: float | None = None) -> Callable[[str], Any]:
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


def _drain(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= MAX_DRAIN_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the rule is a number of seconds >= 0 and at most {MAX_DRAIN_SECONDS:g}"
        )
    return value


def _common(parser: argparse.ArgumentParser) -> None:
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
        type=_storage_account,
        help="storage account of the rotation automation: take the secret's lease there, as the "
        "automation does (without it, only the run tags fence concurrent runs)",
    )
    group.add_argument(
        "--lease-container",
        type=_storage_container,
        default=hosted_names.LEASE_CONTAINER,
        help=f"container of the lease blobs (default {hosted_names.LEASE_CONTAINER})",
    )
    group.add_argument(
        "--lease-wait",
        type=_positive(float, "number of seconds", MAX_LEASE_WAIT),
        default=300.0,
        help="how long to wait while another run holds the lease (default 300 s)",
    )


def _storage_account(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9]{3,24}", text):
        raise argparse.ArgumentTypeError(
            f"{shown(text)}: the rule is a storage account name, 3-24 lowercase letters or digits"
        )
    return text


def _storage_container(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", text):
        raise argparse.ArgumentTypeError(
            f"{shown(text)}: the rule is 3-63 lowercase letters, digits or single hyphens"
        )
    return text


def _timeouts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--period-days",
        type=_positive(int, "whole number of days", MAX_PERIOD_DAYS),
        help="validity of a new version (default: the secret's rotationPeriodDays tag, else 90)",
    )
    parser.add_argument(
        "--probe-timeout",
        type=_positive(float, "number of seconds", MAX_TIMEOUT),
        default=120.0,
        help="how long a new key may take to be accepted (default 120 s)",
    )
    parser.add_argument(
        "--confirm-timeout",
        type=_positive(float, "number of seconds", MAX_TIMEOUT),
        default=600.0,
        help="how long each consumer may take to report the new version (default 600 s)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=_drain,
        default=DEFAULT_DRAIN_SECONDS,
        help="before a rotation regenerates the retired key, how long since consumers left it "
        "(default 240 s: above App Service's 230 s request timeout); revoke never waits",
    )
    parser.add_argument(
        "--poll-interval",
        type=_positive(float, "number of seconds", MAX_POLL_INTERVAL),
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
    _common(p)
    p.add_argument(
        "--threshold-days",
        type=_positive(float, "number of days"),
        default=status.DEFAULT_THRESHOLD_DAYS,
        help="exit 1 when the latest version expires sooner (default 30)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("rotate", help="regenerate the standby key, publish it, move consumers")
    _common(p)
    _timeouts(p)
    _lease_flags(p)
    p.add_argument("--both", action="store_true", help="renew both keys")

    p = sub.add_parser("revoke", help="move consumers off a slot, then regenerate it at once")
    _common(p)
    _timeouts(p)
    _lease_flags(p)
    p.add_argument("--slot", required=True, choices=state.SLOTS)

    p = sub.add_parser("drill", help="rotations under concurrent load; prints a summary")
    _common(p)
    _timeouts(p)
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
        type=_positive(int, "whole number", MAX_ROTATIONS),
        default=3,
        help=f"rotations to run (default 3, at most {MAX_ROTATIONS})",
    )
    p.add_argument(
        "--clients",
        type=_positive(int, "whole number", MAX_CLIENTS),
        default=8,
        help=f"concurrent client threads (default 8, at most {MAX_CLIENTS})",
    )
    faults = p.add_argument_group("faults (local drills only)")
    whole = _positive(int, "whole number", MAX_FAULT_COUNT)
    for flag, kind, metavar, text in (
        ("--kv-throttle", whole, "N", "Key Vault answers 429 (Retry-After) past N requests/s"),
        ("--arm-throttle", whole, "N", "ARM answers 429 (Retry-After) past N requests/s"),
        ("--kv-5xx", whole, "K", "every K-th Key Vault request answers 503"),
        ("--arm-5xx", whole, "K", "every K-th ARM request answers 503"),
        (
            "--latency-ms",
            _positive(float, "number of milliseconds", MAX_LATENCY_MS),
            "MS",
            "added to every Key Vault and ARM request",
        ),
        (
            "--accept-delay",
            _positive(float, "number of seconds", MAX_ACCEPT_DELAY),
            "S",
            "a regenerated key is accepted only this much later (default 0.05 s)",
        ),
    ):
        faults.add_argument(flag, type=kind, metavar=metavar, help=text)
    p.add_argument("--format", choices=("text", "json"), default="text")
    # Resolved by rotation/drill.py: a local drill's waits fit the emulator, a remote one's Azure.
    p.set_defaults(probe_timeout=None, confirm_timeout=None, poll_interval=None, drain_seconds=None)
    return parser


def _locate(args: argparse.Namespace) -> tuple[str, str, target.StackOutputs]:
    """Vault URL and secret name from flags or stack outputs, all checked before any call."""
    outputs = (
        target.read_stack_outputs(args.stack_outputs)
        if args.stack_outputs
        else target.StackOutputs()
    )
    if args.vault_url:
        vault = target.vault_url(args.vault_url)
    elif outputs.vault_url:
        vault = outputs.vault_url
    else:
        raise target.InputError(
            "vault URL: none given; the rule is --vault-url or --stack-outputs with 'vaultUri'"
        )
    if args.secret_name:
        name = target.secret_name(args.secret_name)
    elif outputs.secret_name:
        name = outputs.secret_name
    else:
        raise target.InputError(
            "secret name: none given; the rule is --secret-name or --stack-outputs with "
            "'secretName'"
        )
    for flag, check in (
        ("account_id", target.account_ref),
        ("endpoint", target.endpoint_url),
        ("deployment", target.deployment_name),
    ):
        if getattr(args, flag):
            check(getattr(args, flag))
    return vault, name, outputs


def prepare(args: argparse.Namespace, connection: Connection) -> tuple[target.Target, Vault, Any]:
    """Locate and read the secret, check its tags, resolve the target; nothing is changed."""
    vault_url, name, outputs = _locate(args)
    vault = Vault(connection.secret_client(vault_url), name)
    latest = vault.latest()
    state.parse_state(latest.tags, name)
    resolved = target.resolve_target(
        vault=vault_url,
        secret=name,
        tags=latest.tags,
        outputs=outputs,
        account_id=args.account_id,
        endpoint=args.endpoint,
        deployment=args.deployment,
    )
    return resolved, vault, latest


def _status(args: argparse.Namespace, connection: Connection, out: Callable[[str], None]) -> int:
    resolved, vault, latest = prepare(args, connection)
    consumers = connection.consumers(resolved, vault, Waiter())
    current = state.parse_state(latest.tags, resolved.secret_name)
    vouched = current.progress is None and state.TAG_ROTATED_AT in latest.tags
    observations = [
        consumers.observe(c, latest.version, vouched=vouched) for c in resolved.consumers
    ]
    report = status.evaluate(
        resolved.secret_name,
        resolved.vault_url,
        latest,
        vault.versions(),
        observations,
        now=datetime.now(UTC),
        threshold_days=args.threshold_days,
    )
    out(json.dumps(report, indent=2) if args.format == "json" else status.render_text(report))
    return 0 if report["ok"] else 1


def _operate(
    args: argparse.Namespace,
    connection: Connection,
    out: Callable[[str], None],
) -> int:
    resolved, vault, seen = prepare(args, connection)
    if args.command == "revoke":
        op = state.Operation("revoke", args.slot)
    else:
        op = state.Operation("both" if args.both else "rotate")
    if not args.lease_account:
        return _run_engine(args, connection, resolved, vault, op, out)
    blob = lease_blob_name(target.vault_name_of(resolved.vault_url), resolved.secret_name)
    lease = SecretLease(
        connection.lease_container(args.lease_account, args.lease_container),
        blob,
        duration=DEFAULT_LEASE_SECONDS,
        wait=args.lease_wait,
    )
    with lease:
        if op.kind != "revoke":
            latest = vault.latest()
            if latest.version != seen.version and state.TAG_OP not in latest.tags:
                # Another run rotated while this one waited: rotating again would only
                # regenerate a key consumers have just moved onto.
                out(
                    f"{op.tag}: another run published version {latest.version} while this one "
                    f"waited for the lease (was {seen.version}); nothing more done"
                )
                return 0
        return _run_engine(args, connection, resolved, vault, op, out, lease)


def _run_engine(
    args: argparse.Namespace,
    connection: Connection,
    resolved: target.Target,
    vault: Vault,
    op: state.Operation,
    out: Callable[[str], None],
    lease: SecretLease | None = None,
) -> int:
    edges = connection.edges(
        resolved,
        vault,
        probe_waiter=Waiter(timeout=args.probe_timeout, interval=args.poll_interval, cap=5.0),
        confirm_waiter=Waiter(timeout=args.confirm_timeout, interval=args.poll_interval, cap=15.0),
    )
    engine = Engine(
        edges,
        resolved.consumers,
        period_override=args.period_days,
        drain_seconds=args.drain_seconds,
        echo=lambda line: print(f"{PROG}: {line}", file=sys.stderr, flush=True),
        run_id=lease.run_id if lease else None,
        guard=lease.check if lease else lambda: None,
    )
    outcome = engine.run(op)
    out(
        f"{op.tag}: done; version {outcome.version} holds {outcome.slot} "
        f"({len(outcome.resumed) + len(outcome.steps)} steps)"
    )
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    connection: Connection | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run the command line; `connection` (default: DefaultAzureCredential) is for tests."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"{PROG}: %(name)s: %(message)s",
    )
    if not args.verbose:
        # The SDKs log request URLs and headers at INFO; keep them quiet unless asked.
        logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        if args.command == "drill":
            from rotation import drill

            return drill.main(args, out=out)
        connection = connection or Connection.default()
        if args.command == "status":
            return _status(args, connection, out)
        return _operate(args, connection, out)
    except (target.InputError, state.StateError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except RotationStopped as exc:
        print(f"{PROG}: stopped: {exc}", file=sys.stderr)
        return 1
    except ClientAuthenticationError as exc:
        print(f"{PROG}: error: no Azure credential ({describe_error(exc)})", file=sys.stderr)
        return 1
    except AzureError as exc:
        print(f"{PROG}: stopped: {describe_error(exc)}", file=sys.stderr)
        return 1
