"""The workflows and local actions of .github/, loaded once for the workflow tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / ".github"
WORKFLOW_FILES = sorted((GITHUB / "workflows").glob("*.yml"))
ACTION_FILES = sorted((GITHUB / "actions").glob("*/action.yml"))
BIN = Path(sys.executable).parent


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1): put it back under its name.
    document = yaml.safe_load(path.read_text("utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


WORKFLOWS = {p.name: load(p) for p in WORKFLOW_FILES}
ACTIONS = {f"./.github/actions/{p.parent.name}": load(p) for p in ACTION_FILES}


def step_uses(steps: list[dict[str, Any]]) -> list[str]:
    """Every action a list of steps uses, local composite actions expanded."""
    found = []
    for step in steps:
        ref = step.get("uses")
        if not ref:
            continue
        found.append(ref)
        if ref in ACTIONS:
            found += step_uses(ACTIONS[ref]["runs"].get("steps", []))
    return found


def action_name(ref: str) -> str:
    return ref.split("@", 1)[0]
