"""``python -m emulator``: serve a seeded world over TLS behind a CONNECT proxy until stopped."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from emulator.server import EmulatorServer
from emulator.state import AzureState
from emulator.world import (
    DEFAULT_ACCOUNT,
    DEFAULT_DEPLOYMENT,
    DEFAULT_ROTATOR,
    DEFAULT_SECRET,
    DEFAULT_SITE,
    DEFAULT_VAULT,
    seed_world,
)

# Azure's naming rules for the resources the world creates.
_NAME_RULES: dict[str, tuple[str, str]] = {
    "account": (r"[a-z0-9][a-z0-9-]{1,62}", "2-64 lowercase letters, digits or '-'"),
    "vault": (
        r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
        "3-24 letters, digits or '-', starting with a letter",
    ),
    "secret": (r"[0-9A-Za-z-]{1,127}", "1-127 letters, digits or '-'"),
    "site": (r"[a-z0-9][a-z0-9-]{0,58}", "1-59 lowercase letters, digits or '-'"),
    "deployment": (r"[A-Za-z0-9._-]{1,64}", "1-64 letters, digits, '.', '_' or '-'"),
    "rotator": (r"[A-Za-z0-9][A-Za-z0-9_-]{2,127}", "3-128 letters, digits, '_' or '-'"),
}


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"emulator: {message}\n")


def _name(kind: str) -> Callable[[str], str]:
    pattern, rule = _NAME_RULES[kind]

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise argparse.ArgumentTypeError(f"{kind} name {value!r} is invalid: {rule}")
        return value

    return check


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"port {value!r} must be an integer 0-65535 (0: any)")
    return int(value)


def _github_subject(value: str) -> str:
    if not re.fullmatch(r"repo:[\w.-]+/[\w.-]+:\S+", value):
        raise argparse.ArgumentTypeError(
            f"GitHub OIDC subject {value!r} must look like repo:<owner>/<repo>:<context>"
        )
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"accept delay {value!r} must be 0-3600 seconds")
    return seconds


def _directory(value: str) -> Path:
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"cert dir {value!r} exists and is not a directory")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m emulator``."""
    parser = _OneLineParser(
        prog="python -m emulator",
        description="Serve emulated Azure endpoints over TLS on 127.0.0.1 with a CONNECT proxy.",
    )
    parser.add_argument("--port", type=_port, default=0, help="TLS port (default: any free)")
    parser.add_argument("--proxy-port", type=_port, default=0, help="proxy port (default: any)")
    parser.add_argument(
        "--cert-dir", type=_directory, help="where to write the CA and server certificate"
    )
    parser.add_argument("--account", type=_name("account"), default=DEFAULT_ACCOUNT)
    parser.add_argument("--vault", type=_name("vault"), default=DEFAULT_VAULT)
    parser.add_argument("--secret", type=_name("secret"), default=DEFAULT_SECRET)
    parser.add_argument("--site", type=_name("site"), default=DEFAULT_SITE)
    parser.add_argument("--deployment", type=_name("deployment"), default=DEFAULT_DEPLOYMENT)
    parser.add_argument("--rotator", type=_name("rotator"), default=DEFAULT_ROTATOR)
    parser.add_argument(
        "--accept-delay",
        type=_seconds,
        default=0.0,
        help="seconds before a regenerated key is accepted by the AI endpoint",
    )
    parser.add_argument(
        "--keyless", action="store_true", help="disable local auth; grant the site identity"
    )
    parser.add_argument(
        "--no-rbac", action="store_true", help="let any valid token do anything (no grants)"
    )
    parser.add_argument(
        "--github-oidc",
        metavar="SUBJECT",
        type=_github_subject,
        help="add a GitHub Actions job (id-token: write) and the app it deploys as",
    )
    parser.add_argument(
        "--format",
        choices=("shell", "json"),
        default="shell",
        help="shell: export lines; json: one JSON object on one line",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse flags, seed the world, serve until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    state = AzureState(rbac=not args.no_rbac)
    world = seed_world(
        state,
        account=args.account,
        vault=args.vault,
        secret=args.secret,
        site=args.site,
        deployment=args.deployment,
        rotator=args.rotator,
        accept_delay=args.accept_delay,
        keyless=args.keyless,
        github_subject=args.github_oidc,
    )
    server = EmulatorServer(
        state, port=args.port, proxy_port=args.proxy_port, cert_dir=args.cert_dir, world=world
    )
    try:
        server.start()
    except OSError as exc:
        ports = f"--port {args.port} / --proxy-port {args.proxy_port}"
        print(
            f"emulator: cannot listen on 127.0.0.1 ({ports}): {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if args.format == "json":
            print(json.dumps({"env": server.env}), flush=True)
        else:
            for name, value in server.env.items():
                print(f"export {name}={shlex.quote(value)}")
            print("# emulator ready; Ctrl-C stops it", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
