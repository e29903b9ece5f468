"""The deployment package: what it holds, that it is byte-for-byte reproducible, and that it runs
on its own (the Functions host imports function_app.py from the package root, nothing else)."""

from __future__ import annotations

import importlib.metadata
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.function_package import (
    FIXED_TIMESTAMP,
    MODULE_FOLDERS,
    build_package,
    imports_of,
    package_files,
    package_sha256,
)
from tests.policies.test_pack_layout import _closure

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "functions" / "requirements.txt"


@pytest.fixture(scope="module")
def package() -> bytes:
    return build_package(package_files())


def _requirements(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _azure_distribution(module: str) -> str:
    """The distribution of a module in the `azure` namespace: its dotted prefix, dashed."""
    parts = module.split(".")
    for depth in range(len(parts), 1, -1):
        name = "-".join(parts[:depth])
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return name
    return module


def test_the_app_files_sit_at_the_root_and_the_modules_beside_them(package):
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert names == sorted(names)
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(names)
    assert {
        "rotation/hosted.py",
        "rotation/lease.py",
        "rotation/resolve.py",
        "catalog/hosted.py",
        "catalog/secret.py",
        "azure_edge/clients.py",
        "azure_edge/vault.py",
        "azure_edge/sites.py",
    } <= set(names)
    assert all(
        name in {"function_app.py", "host.json", "requirements.txt"}
        or name.split("/", 1)[0] in MODULE_FOLDERS
        for name in names
    ), names
    # What the handlers never import stays out: the CLI, the status report, caches.
    assert not {"rotation/cli.py", "rotation/status.py", "rotation/__main__.py"} & set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_every_project_module_a_packaged_file_imports_is_packaged(package):
    archive = zipfile.ZipFile(io.BytesIO(package))
    names = set(archive.namelist())
    for name, path in package_files():
        if not name.endswith(".py"):
            continue
        for module in imports_of(path):
            parts = module.split(".")
            if parts[0] not in MODULE_FOLDERS:
                continue
            as_file = "/".join(parts) + ".py"
            as_package = "/".join(parts) + "/__init__.py"
            is_module = (ROOT / as_file).is_file() or (ROOT / as_package).is_file()
            assert not is_module or {as_file, as_package} & names, (name, module)


def test_the_same_sources_give_the_same_bytes_with_fixed_time_and_mode(package):
    assert build_package(package_files()) == package
    for info in zipfile.ZipFile(io.BytesIO(package)).infolist():
        assert info.date_time == FIXED_TIMESTAMP, info.filename
        assert info.external_attr == 0o644 << 16, info.filename
        assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename


def test_the_digest_moves_with_a_packaged_file_and_only_then(tmp_path):
    for folder in ("functions", *MODULE_FOLDERS):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__py*"))
    before = package_sha256(build_package(package_files(tmp_path)))
    cli = tmp_path / "rotation" / "cli.py"
    cli.write_text(cli.read_text("utf-8") + "\n# not in the package\n", "utf-8")
    assert package_sha256(build_package(package_files(tmp_path))) == before
    hosted = tmp_path / "rotation" / "hosted.py"
    hosted.write_text(hosted.read_text("utf-8") + "\n# packaged\n", "utf-8")
    assert package_sha256(build_package(package_files(tmp_path))) != before


def test_requirements_provide_every_third_party_import_at_the_tested_versions():
    pins = _requirements(REQUIREMENTS.read_text("utf-8"))
    constraints = _requirements(
        "\n".join(
            line
            for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines()
            if "==" in line
        )
    )
    assert {name: constraints.get(name) for name in pins} == pins
    provided = _closure(list(pins))
    distributions = importlib.metadata.packages_distributions()
    local = {"function_app", *MODULE_FOLDERS}
    missing = set()
    for _, path in package_files():
        if path.suffix != ".py":
            continue
        for module in imports_of(path):
            top = module.split(".")[0]
            if not top or top in local or top in sys.stdlib_module_names or top == "__future__":
                continue
            owners = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(top, [])}
            if top == "azure":  # a namespace package: azure.storage.blob is azure-storage-blob
                owners = {_azure_distribution(module)}
            if not owners & provided:
                missing.add(module)
    assert missing == set()


def test_the_package_imports_and_indexes_on_its_own(package, tmp_path):
    """Extracted alone (no repository on sys.path), function_app imports and lists its three
    functions, as the worker does at indexing."""
    zipfile.ZipFile(io.BytesIO(package)).extractall(tmp_path)
    script = (
        "import json, sys, function_app\n"
        "assert not any(p.endswith('/work/main') for p in sys.path if p)\n"
        "print(json.dumps(sorted(f.get_function_name() for f in function_app.app.get_functions())))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, '.')\n{script}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [
        "daily_check",
        "on_secret_near_expiry",
        "run_rotation",
    ]
