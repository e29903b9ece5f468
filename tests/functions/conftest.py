"""The Functions app as the Python worker loads it: `function_app.py` from the package root."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_FILE = ROOT / "functions" / "function_app.py"


@pytest.fixture(scope="session")
def function_app() -> ModuleType:
    """`function_app` imported by file, as the worker does (the package root is on sys.path:
    function_app.py sits beside rotation/ and catalog/ in the deployed zip)."""
    spec = importlib.util.spec_from_file_location("function_app", APP_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("function_app", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def indexed(function_app: ModuleType) -> dict[str, list[dict]]:
    """Each function's raw bindings, as the worker reports them to the host at indexing. The
    library allows one `get_functions()` per app (a second call reports every name as a
    duplicate), as the worker makes one: taken once here."""
    return {
        fn.get_function_name(): sorted(
            (json.loads(raw) for raw in fn.get_raw_bindings()), key=lambda b: b["name"]
        )
        for fn in function_app.app.get_functions()
    }
