"""`python -m preflight preview|scan`: offline preview of a stack, and the repository scanner."""

from __future__ import annotations

import sys

from preflight import preview, scan
from preflight.inputs import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m preflight", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    preview.add_arguments(
        commands.add_parser("preview", help="run the program under mocks and evaluate the policies")
    )
    scan.add_arguments(commands.add_parser("scan", help="scan files for hardcoded credentials"))
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
