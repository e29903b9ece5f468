"""The pack's entry point for the Pulumi CLI: `pulumi preview --policy-pack <this folder>`.

The CLI's Python host runs ``<folder>/venv/bin/python -u -m pulumi.policy <engine> <folder>``
with the folder as working directory, and ``pulumi.policy`` executes this file with
``runpy.run_path``. The folder is ``policies/`` in the repository, but a published pack is
installed as ``~/.pulumi/policies/<org>/pulumi-analyzer-secure-azure-ai-v<version>``. Every module
of the pack imports its siblings as ``policies.*``, so this file registers its own folder as the
``policies`` package, whatever the folder is called, and nothing outside the folder is imported.
Constructing ``PolicyPack`` starts the analyzer's gRPC server and never returns: nothing else
imports this module (tests and the offline preview import ``policies.pack``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pulumi_policy import PolicyPack


def _register_folder_as_package(name: str = "policies") -> None:
    folder = Path(__file__).resolve().parent
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"policy pack folder {str(folder)!r}: no __init__.py to load")
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)


_register_folder_as_package()

from policies.pack import DEFAULT_ENFORCEMENT, PACK_DESCRIPTION, PACK_NAME, POLICIES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=DEFAULT_ENFORCEMENT,
    description=PACK_DESCRIPTION,
    provider="azure",
)
