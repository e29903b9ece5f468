"""The pack ships alone: its folder imports nothing of the repository, and carries one role table.

`pulumi policy publish` uploads the pack's folder and nothing else; Pulumi Cloud installs it as
``~/.pulumi/policies/<org>/pulumi-analyzer-<name>-v<version>`` next to a virtualenv made from its
``requirements.txt`` (pulumi/pulumi: pkg/cmd/pulumi/policy/policy_publish.go packs the folder;
sdk/python/cmd/pulumi-language-python/main.go RunPlugin runs it with the folder as cwd).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policies"


def _requirement_names(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0])
    return names


def _closure(names: list[str]) -> set[str]:
    """Every distribution the requirements pull in (as installed here), by normalised name."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        for requirement in importlib.metadata.requires(name) or ():
            if "extra ==" not in requirement:
                todo += _requirement_names(requirement)
    return seen


def _importable_top_levels() -> set[str]:
    wanted = _closure(_requirement_names((PACK / "requirements.txt").read_text("utf-8")))
    return {
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if {re.sub(r"[-_.]+", "-", d).lower() for d in dists} & wanted
    }


def _pack_modules() -> list[Path]:
    return sorted(p for p in PACK.rglob("*.py") if "venv" not in p.relative_to(PACK).parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_import_in_the_pack_is_the_pack_the_stdlib_or_its_requirements() -> None:
    allowed = {"policies"} | set(sys.stdlib_module_names) | _importable_top_levels()
    outside = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _pack_modules()
        for name in _imports(path) - allowed
    }
    assert outside == set()


def test_the_requirements_closure_is_what_the_pack_needs() -> None:
    # Guards the check above against a closure that silently allows everything.
    top_levels = _importable_top_levels()
    assert {"pulumi", "pulumi_policy", "grpc", "google", "yaml"} <= top_levels
    assert not {"catalog", "components", "preflight", "jsonschema", "azure"} & top_levels


def test_no_module_of_the_pack_shadows_another_module() -> None:
    # The CLI runs the pack with its folder first on sys.path (cwd, and runpy.run_path of the
    # folder): a `policies/secrets.py` would hide the standard library's `secrets` everywhere.
    shadowing = {
        path.name
        for path in PACK.iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").is_file())
        and path.stem in set(sys.stdlib_module_names) | _importable_top_levels()
    }
    assert shadowing == set()


def test_the_manifest_is_ready_for_publishing() -> None:
    manifest = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text("utf-8"))
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(manifest["version"]))
    assert manifest["description"].strip()
    assert manifest["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "venv"},
    }
    assert "Apache License" in (PACK / "LICENSE").read_text("utf-8")
    changelog = (PACK / "CHANGELOG.md").read_text("utf-8")
    assert f"## {manifest['version']}" in changelog


def test_every_other_role_table_is_a_verbatim_copy_of_the_packs() -> None:
    # The components may not import the pack (and ship alone too); they read the same table
    # from their copy. One source, checked copies.
    source = (PACK / "roles.py").read_text("utf-8")
    copies = [ROOT / "components" / "catalog" / "roles.py"]
    assert not (ROOT / "catalog" / "roles.py").exists(), "preflight and tests import the pack's"
    for copy in copies:
        relative = copy.relative_to(ROOT)
        assert copy.read_text("utf-8") == source, (
            f"{relative} differs: cp policies/roles.py {relative}"
        )
