"""The offline preview on public Pulumi programs nobody here wrote: which ran, and what it found.

The programs are not part of this repository: fetch them first, outside it, at the commits below,
then run the preview on each (docs/policies.md, "Measured on public programs", has the results):

    git clone https://github.com/pulumi/examples /tmp/realprograms/examples
    git -C /tmp/realprograms/examples checkout 40c09b266d44e9975e15289c42cc0c2ad8d14995
    python -m venv /tmp/realprograms/venv-v2
    /tmp/realprograms/venv-v2/bin/pip install pulumi==3.272.0 pulumi-azure-native==2.92.0 \\
        "pulumi-random>=4.2,<5" "pulumi-tls>=5.3,<5.4" "pulumi-azuread>=6.9,<6.10" \\
        "pulumi-docker>=4.11,<4.12" "pulumi-command>=1,<2" "pulumi-kubernetes>=4.28,<4.29"
    python -m bench.real_programs /tmp/realprograms/examples \\
        --python /tmp/realprograms/venv-v2/bin/python

Each program gets the stack config its README asks for (``secure:`` where it says ``--secret``),
written to a temporary stack file. Not run by ``make test`` or ``make bench``: it needs the fetched
code and a second virtualenv (the programs pin azure-native 2.x and other providers).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.stacks import ROOT

EXAMPLES = ("pulumi/examples", "40c09b266d44e9975e15289c42cc0c2ad8d14995")
SECRET = {"secure": "v1:preview-placeholder"}  # encrypted in a real stack; synthetic offline
SSH_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0preview preview@example.invalid"
LOCATION = {"azure-native:location": "westeurope"}

# folder in pulumi/examples -> the stack config its README sets (project-less keys get the
# project's name prefixed, as `pulumi config set` does).
PROGRAMS: dict[str, dict[str, object]] = {
    "azure-py-aci": {},
    "azure-py-aks": {},
    "azure-py-aks-helm": {},
    "azure-py-aks-managed-identity": {},
    "azure-py-aks-multicluster": {"password": SECRET, "sshPublicKey": SSH_KEY},
    "azure-py-appservice": {"sqlPassword": SECRET},
    "azure-py-appservice-docker": {},
    "azure-py-call-azure-sdk": {},
    "azure-py-containerapps": {},
    "azure-py-cosmosdb-logicapp": {},
    "azure-py-functions": {},
    "azure-py-loadbalancer-vm": {"username": "webmaster", "password": SECRET},
    "azure-py-minecraft-server": {
        "privateKey": SECRET,
        "publicKey": SSH_KEY,
        "admin_username": "minecraft",
        "admin_password": SECRET,
    },
    "azure-py-static-website": {},
    "azure-py-synapse": {"userObjectId": "00000000-0000-4000-8000-0000000000aa"},
    "azure-py-virtual-data-center": {
        "firewall_address_space": "192.168.100.0/24",
        "hub_address_space": "10.100.0.0/16",
        "azure_bastion": True,
        "forced_tunnel": "10.0.100.1",
        "separator": "-",
        "suffix": "ae",
        "location": "australiaeast",
    },
    "azure-py-webserver": {"username": "webmaster", "password": SECRET},
}


def stack_file(program: Path, settings: dict[str, object], folder: Path) -> Path:
    project = yaml.safe_load((program / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    config = {**LOCATION, **{k if ":" in k else f"{project}:{k}": v for k, v in settings.items()}}
    path = folder / f"Pulumi.{program.name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def preview(program: Path, config: Path, python: str | None) -> dict[str, object]:
    command = [sys.executable, "-m", "preflight", "preview", "--program", str(program)]
    command += ["--config", str(config), "--stack", "preview", "--format", "json"]
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
    parser.add_argument("examples", help="a checkout of pulumi/examples at the commit above")
    parser.add_argument("--python", help="the Python of a virtualenv with the programs' packages")
    parser.add_argument("names", nargs="*", help="only these folders")
    args = parser.parse_args(argv)
    root = Path(args.examples)
    with tempfile.TemporaryDirectory() as folder:
        for name in args.names or PROGRAMS:
            program = root / name
            if not (program / "__main__.py").is_file():
                print(json.dumps({"program": name, "error": "not found"}))
                continue
            config = stack_file(program, PROGRAMS[name], Path(folder))
            print(
                json.dumps({"program": name, **preview(program, config, args.python)}), flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
