"""`python -m preflight preview`: the planned stack, its grants and the policy verdict, offline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from preflight.harness import HarnessError, load_stack_config, project_name, run_program
from preflight.model import Plan, Violation

FORMATS = ("text", "markdown", "json")
STACK_NAME_RULE = "letters, digits, '-', '_' or '.'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack name (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--program", default=".", help="Pulumi program directory (default: .)")
    parser.add_argument(
        "--config", help="stack config file (default: <program>/Pulumi.<stack>.yaml)"
    )
    parser.add_argument("--format", default="text", help="text, markdown or json (default: text)")
    parser.add_argument(
        "--policy-config", help="JSON file of policy settings (enforcement levels, allow-lists)"
    )
    parser.set_defaults(run=run)


def plan_stack(program: Path | str, stack: str, config_file: Path | str | None = None) -> Plan:
    """Evaluate one stack of a program offline: the shared entry point of CLI, tests and bench."""
    config = load_stack_config(config_file or Path(program) / f"Pulumi.{stack}.yaml")
    return run_program(program, config, project=project_name(program), stack=stack)


def _read_policy_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"--policy-config {path!r}: not found") from None
    except ValueError as error:
        raise HarnessError(f"--policy-config {path!r}: not valid JSON ({error.msg})") from None
    if not isinstance(document, dict):
        raise HarnessError(f"--policy-config {path!r}: the rule is a JSON object")
    return document


def _check_flags(args: argparse.Namespace) -> None:
    if args.format not in FORMATS:
        raise HarnessError(f"--format {args.format!r}: the rule is one of {', '.join(FORMATS)}")
    if not args.stack or not all(c.isalnum() or c in "-_." for c in args.stack):
        raise HarnessError(f"--stack {args.stack!r}: the rule is {STACK_NAME_RULE}")
    if not Path(args.program).is_dir():
        raise HarnessError(f"--program {args.program!r}: not a directory")


def run(args: argparse.Namespace) -> int:
    """Exit 0 on a valid stack with no mandatory violation, 1 on violations, 2 on bad input."""
    from preflight.evaluate import PolicyConfigError, effective_config, evaluate
    from preflight.render import render

    try:
        _check_flags(args)
        policy_config = _read_policy_config(args.policy_config)
        effective_config(policy_config)  # bad policy settings stop us before the program runs
        plan = plan_stack(args.program, args.stack, args.config)
    except (HarnessError, PolicyConfigError) as error:
        for line in str(error).splitlines():
            print(f"preflight: {line}", file=sys.stderr)
        return 2
    violations: list[Violation] = evaluate(plan, policy_config=policy_config)
    sys.stdout.write(render(plan, violations, args.format))
    return 1 if any(v.enforcement == "mandatory" for v in violations) else 0
