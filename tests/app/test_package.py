"""The app ships alone: the package docs/app.md deploys holds `app/` only, so the app imports
nothing of the repository outside its folder (its contract files are copies in app/catalog/,
kept equal by tests/test_copies.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def test_the_app_imports_from_its_own_folder_alone(tmp_path: Path) -> None:
    shutil.copytree(APP, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    probe = (
        "import importlib.util as u, sys\n"
        "import app.ai_client, app.key_client, app.settings, app.web, app.workers\n"
        "ours = sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
        "{'catalog', 'components', 'policies', 'rotation', 'preflight', 'emulator'})\n"
        "print(ours, bool(u.find_spec('catalog')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{probe}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[] False"), result.stderr
