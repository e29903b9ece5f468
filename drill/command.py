"""The drill command: its flags checked and turned into faults and waits, the rehearsal they
choose (local, hosted or remote), the summary printed and the exit code."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from drill import hosted
from drill.rehearsal import ACCEPT_DELAY, LOCAL_WAITS, Faults, drill_local, drill_remote
from rotation import cli
from rotation.target import InputError

# The wait flags, named as rotation.commands.Waits names its fields.
WAIT_FLAGS = ("probe_timeout", "confirm_timeout", "poll_interval", "drain_seconds")


def render_text(report: dict[str, Any]) -> str:
    """The summary for people."""
    lines = [
        f"drill ({report['mode']}): {report['rotations']} rotations under load",
        f"requests  {report['requests']}  failed {report['failed']}"
        + (f"  {report['errors']}" if report["errors"] else ""),
        f"latency   p50 {report['p50Ms']} ms  p99 {report['p99Ms']} ms  max {report['maxMs']} ms",
        f"key vault {report['kvReads']} reads by the apps "
        f"({report['kvReadsPerRotationPerProcess']} per rotation per process)",
        f"rotation  mean {report['rotationSeconds']['mean']} s  "
        f"max {report['rotationSeconds']['max']} s",
    ]
    if "deliveries" in report:
        lines.append(f"events    {report['deliveries']}")
        lines.append(f"runs      {report['runs']}")
    if report.get("faults"):
        lines.append(f"faults    {report['faults']}")
    if report.get("stopped"):
        lines.append(f"stopped   {report['stopped']}")
    return "\n".join(lines)


_TARGET_FLAGS = ("vault_url", "secret_name", "account_id", "endpoint", "deployment")
_FAULT_FLAGS = ("kv_throttle", "arm_throttle", "kv_5xx", "arm_5xx", "latency_ms", "accept_delay")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_flags(args: argparse.Namespace) -> bool:
    """Whether the drill is local; InputError for a flag this mode cannot honour."""
    local = args.local or not args.stack_outputs
    if local:
        given = [f for f in ("stack_outputs", *_TARGET_FLAGS) if getattr(args, f)]
        if given:
            raise InputError(
                f"{_flag(given[0])}: a local drill acts on the emulator's own world; the rule "
                "is --local without target flags, or --stack-outputs without --local"
            )
        return True
    given = [f for f in ("hosted", *_FAULT_FLAGS) if getattr(args, f)]
    if given:
        raise InputError(
            f"{_flag(given[0])}: only a local drill (--local) can honour it; a remote drill "
            "injects no faults and drives no hosted functions"
        )
    return False


def _rotation_waits() -> dict[str, float]:
    """The waits `python -m rotation rotate` takes by default: a remote drill rotates as it does."""
    parser = argparse.ArgumentParser()
    cli.timeout_flags(parser)
    return {name: parser.get_default(name) for name in WAIT_FLAGS}


def run(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    """`python -m drill`: exit 0 only when no request failed and no rotation stopped."""
    local = check_flags(args)
    if local:
        faults = Faults(
            kv_throttle=args.kv_throttle,
            arm_throttle=args.arm_throttle,
            kv_5xx=args.kv_5xx,
            arm_5xx=args.arm_5xx,
            latency_ms=args.latency_ms,
            accept_delay=ACCEPT_DELAY if args.accept_delay is None else args.accept_delay,
        )
        given = {n: getattr(args, n) for n in WAIT_FLAGS if getattr(args, n) is not None}
        waits = replace(LOCAL_WAITS, **given, period_days=args.period_days)
        if args.hosted:
            report = hosted.drill(args.rotations, args.clients, faults=faults, waits=waits)
        else:
            report = drill_local(args.rotations, args.clients, faults=faults, waits=waits)
    else:
        for name, value in _rotation_waits().items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        report = drill_remote(args, args.rotations, args.clients)
    out(json.dumps(report, indent=2) if args.format == "json" else render_text(report))
    ok = report["failed"] == 0 and not report.get("stopped") and report.get("ok", True)
    return 0 if ok else 1
