"""The offline preview on public Pulumi programs nobody here wrote: which ran, and what it found.

The programs are not part of this repository. Fetch each repository below at its commit into
``<checkouts>/<owner>+<name>`` (outside this repository), make the virtualenvs the programs
need, then run:

    python -m bench.real_programs /tmp/realprograms/checkout \\
        --venv v2=/tmp/realprograms/venv-v2/bin/python \\
        --venv v2-azuread5=/tmp/realprograms/venv-v2-azuread5/bin/python \\
        --venv py312=/tmp/realprograms/venv-py312/bin/python \\
        --venv py312-v2=/tmp/realprograms/venv-py312-v2/bin/python

``v2``: Python 3.11 with pulumi==3.272.0 pulumi-azure-native==2.92.0 and the providers the
examples pin (pulumi-random 4.x, pulumi-tls 5.3, pulumi-azuread 6.9, pulumi-docker 4.11,
pulumi-command 1.x, pulumi-kubernetes 4.28, azure-mgmt-authorization); ``v2-azuread5``: the same
with pulumi-azuread 5.x (what azure-py-aks is written for); ``py312``: Python 3.12
with pulumi-azure-native 3.29.0; ``py312-v2``: Python 3.12 with pulumi-azure-native 2.92.0.
A program without a venv runs in this interpreter (azure-native 3.x). Each gets the stack config
its README or stack file asks for (``secure:`` where the README says ``--secret``), written to a
temporary stack file. One JSON line per program. docs/policies.md ("Measured on public
programs") has the results. Not run by ``make test`` or ``make bench``: it needs fetched code.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import yaml

from bench.stacks import ROOT

SECRET = {"secure": "v1:preview-placeholder"}  # encrypted in a real stack; synthetic offline
SSH_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0preview preview@example.invalid"
LOCATION = {"azure-native:location": "westeurope"}
EXAMPLES = ("pulumi/examples", "40c09b266d44e9975e15289c42cc0c2ad8d14995")


class Program(NamedTuple):
    repo: str
    commit: str
    path: str
    venv: str | None  # which --venv runs it (None: this interpreter)
    config: dict[str, object] = {}  # project-less keys get the project's name, as the CLI does
    stack: str | None = None  # use the repository's own Pulumi.<stack>.yaml instead


def example(path: str, venv: str | None = "v2", **config: object) -> Program:
    return Program(*EXAMPLES, path, venv, config)


PROGRAMS: list[Program] = [
    example("azure-py-aci"),
    example("azure-py-aks", "v2-azuread5"),  # written for azuread 5.x (application_id)
    example("azure-py-aks-helm"),
    example("azure-py-aks-managed-identity"),
    example("azure-py-aks-multicluster", password=SECRET, sshPublicKey=SSH_KEY),
    example("azure-py-appservice", sqlPassword=SECRET),
    example("azure-py-appservice-docker"),
    example("azure-py-call-azure-sdk"),
    example("azure-py-containerapps"),
    example("azure-py-cosmosdb-logicapp"),
    example("azure-py-functions"),
    example("azure-py-loadbalancer-vm", username="webmaster", password=SECRET),
    example(
        "azure-py-minecraft-server",
        privateKey=SECRET,
        publicKey=SSH_KEY,
        admin_username="minecraft",
        admin_password=SECRET,
    ),
    example("azure-py-static-website"),
    example("azure-py-synapse", userObjectId="00000000-0000-4000-8000-0000000000aa"),
    example(
        "azure-py-virtual-data-center",
        firewall_address_space="192.168.100.0/24",
        hub_address_space="10.100.0.0/16",
        azure_bastion=True,
        forced_tunnel="10.0.100.1",
        separator="-",
        suffix="ae",
    ),
    example("azure-py-webserver", username="webmaster", password=SECRET),
    Program(
        "taiyeoguns/pulumi-azure-func-trial",
        "9ebc3c0f8de62bccc4c4b9b4166f9a4aa1c3e3e3",
        "infrastructure",
        "v2",
        stack="dev",
    ),
    Program(
        "spaceoddite/pulumi-azure-vm-component-resource-python",
        "bbb78f49a83d78486457428669b1a79161524ff8",
        ".",
        "v2",
    ),
    Program(
        "wozorio/pulumi-azure-linux-vm",
        "8bd28cfc6f66ba6d14e6517207416d3f8770eb2d",
        ".",
        None,
        stack="playground",
    ),
    Program(
        "rbbrasil/pulumi-azure-storage-account",
        "f5f9b4d55139bc8f3cdb3555d08483dbe5a25fc3",
        ".",
        "v2",
        {"name": "pulumipocsa"},
    ),
    *(
        Program(
            "petitess/pulumi-azure-py",
            "b97be50c499bab4e389051f1190d830532e200ed",
            p,
            v,
            stack="dev",
        )
        for p, v in (
            ("virtualnetwork01", "py312"),
            ("storageaccount01", "py312-v2"),
            ("frontdoor01", "py312"),
        )
    ),
    Program(
        "Nikola-Vukasinovic/py-pulumi-azure-stream-analytics",
        "07b73718cf2a2b8b05a1ad78927f911c7e8ee039",
        ".",
        "v2",
        stack="dev",
    ),
]


def stack_file(program: Path, settings: dict[str, object], folder: Path) -> Path:
    project = yaml.safe_load((program / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    config = {**LOCATION, **{k if ":" in k else f"{project}:{k}": v for k, v in settings.items()}}
    path = folder / f"Pulumi.{len(list(folder.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def preview(program: Path, stack: list[str], python: str | None) -> dict[str, object]:
    command = [sys.executable, "-m", "preflight", "preview", "--program", str(program)]
    command += [*stack, "--format", "json"]
    if python:
        command += ["--python", python]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    errors = [line for line in done.stderr.splitlines() if line.startswith("preflight: ")]
    result: dict[str, object] = {"exit": done.returncode, "seconds": round(seconds, 1)}
    if done.returncode in (0, 1):
        report = json.loads(done.stdout)
        result["resources"] = report["summary"]["resources"]
        result["violations"] = sorted(
            {
                (v["enforcement"], v["policy"], v["resource"] or "stack")
                for v in report["violations"]
            }
        )
    else:
        result["error"] = errors[-1] if errors else done.stderr.strip().splitlines()[-1:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.real_programs", description=__doc__)
    parser.add_argument("checkouts", help="folder holding <owner>+<name> checkouts")
    parser.add_argument("--venv", action="append", default=[], help="NAME=PYTHON (repeatable)")
    parser.add_argument("--only", action="append", default=[], help="only this path (repeatable)")
    args = parser.parse_args(argv)
    venvs = dict(v.split("=", 1) for v in args.venv)
    with tempfile.TemporaryDirectory() as folder:
        for entry in PROGRAMS:
            if args.only and entry.path not in args.only:
                continue
            program = Path(args.checkouts) / entry.repo.replace("/", "+") / entry.path
            line: dict[str, object] = {"repo": entry.repo, "path": entry.path}
            if not (program / "__main__.py").is_file():
                print(json.dumps({**line, "error": "not fetched"}), flush=True)
                continue
            if entry.stack is not None:
                stack = ["--stack", entry.stack]
            else:
                config = stack_file(program, entry.config, Path(folder))
                stack = ["--config", str(config), "--stack", "preview"]
            python = venvs.get(entry.venv) if entry.venv else None
            if entry.venv and python is None:
                print(json.dumps({**line, "error": f"no --venv {entry.venv}"}), flush=True)
                continue
            print(json.dumps({**line, **preview(program, stack, python)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
