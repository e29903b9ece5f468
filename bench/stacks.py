"""Generated stack configurations for benchmarks: the dev stack scaled to N apps."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def scaled_config(apps: int) -> dict[str, str]:
    """The dev stack's config with `apps` web apps (raw, as the engine hands it over)."""
    from preflight.harness import load_stack_config

    config = load_stack_config(ROOT / "Pulumi.dev.yaml")
    config["secure-azure-ai:apps"] = json.dumps([{"name": f"app{i:03d}"} for i in range(apps)])
    return config


def shipped_stack(stack: str) -> Path:
    """A stack file that ships with the project (``Pulumi.<stack>.yaml``)."""
    return ROOT / f"Pulumi.{stack}.yaml"


def hundred_app_config() -> dict[str, str]:
    """The 100-app stack the preview and policy benchmarks use."""
    return scaled_config(100)


def write_stack_file(apps: int, directory: Path) -> Path:
    """A Pulumi.<stack>.yaml for `apps` apps, for benchmarks that run the CLI."""
    config = {
        key: json.loads(value) if value.startswith(("[", "{")) else value
        for key, value in scaled_config(apps).items()
    }
    path = directory / f"Pulumi.bench{apps}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=True), encoding="utf-8")
    return path
