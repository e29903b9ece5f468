"""`python -m preflight preview`: the planned stack, its grants and the policy verdict, offline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from policies.detection import redact
from preflight.harness import (
    HarnessError,
    ProgramFailed,
    load_stack_config,
    project_name,
    run_program,
    run_program_with,
)
from preflight.inputs import InputError, load_json_file
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
    parser.add_argument(
        "--python",
        help="run the program with this Python (its own virtualenv, e.g. .venv/bin/python) "
        "instead of this one",
    )
    parser.add_argument(
        "--debug", action="store_true", help="on a program failure, print its full traceback"
    )
    parser.set_defaults(run=run)


def plan_stack(
    program: Path | str,
    stack: str,
    config_file: Path | str | None = None,
    python: Path | str | None = None,
) -> Plan:
    """Evaluate one stack of a program offline: the shared entry point of CLI, tests and bench.

    With ``python``, the program runs in that interpreter (its own virtualenv) and the plan comes
    back to this process, where the policies are evaluated.
    """
    config = load_stack_config(config_file or Path(program) / f"Pulumi.{stack}.yaml")
    project = project_name(program)
    if python is not None:
        return run_program_with(python, program, config, project=project, stack=stack)
    return run_program(program, config, project=project, stack=stack)


def _read_policy_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:  # a directory, a FIFO, a loop, non-UTF-8, deep nesting: one line each
        document = load_json_file(path, "--policy-config")
    except InputError as error:
        raise HarnessError(str(error)) from None
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
    if args.python is not None and not os.access(args.python, os.X_OK):
        raise HarnessError(f"--python {args.python!r}: not an executable file")


EXIT_PASS, EXIT_VIOLATIONS, EXIT_BAD_INPUT, EXIT_PROGRAM_FAILED = 0, 1, 2, 3


def run(args: argparse.Namespace) -> int:
    """Exit 0 on a valid stack with no mandatory violation, 1 on violations, 2 on bad input,
    3 when the program itself fails (one line; the traceback with --debug)."""
    from preflight.evaluate import PolicyConfigError, effective_config, evaluate
    from preflight.render import render

    try:
        _check_flags(args)
        policy_config = _read_policy_config(args.policy_config)
        effective_config(policy_config)  # bad policy settings stop us before the program runs
        plan = plan_stack(args.program, args.stack, args.config, args.python)
    except (HarnessError, PolicyConfigError) as error:
        for line in str(error).splitlines():
            print(f"preflight: {redact(line)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ProgramFailed as failure:
        if args.debug:
            sys.stderr.write(redact(failure.details))
        print(f"preflight: {redact(failure.summary)}", file=sys.stderr)
        return EXIT_PROGRAM_FAILED
    violations: list[Violation] = evaluate(plan, policy_config=policy_config)
    sys.stdout.write(render(plan, violations, args.format))
    mandatory = any(v.enforcement == "mandatory" for v in violations)
    return EXIT_VIOLATIONS if mandatory else EXIT_PASS
