"""The repository stays lint-clean and formatted: CI fails on drift, not just `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_no_lint_problems():
    result = ruff("check", "--no-fix", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_file_is_formatted():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout[-4000:]
