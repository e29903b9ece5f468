"""The component package's entry point: the Pulumi CLI runs this folder as a provider plugin.

For a source plugin the Python language host runs ``<folder>/venv/bin/python <folder> <engine
address>`` (sdk/python/cmd/pulumi-language-python/main.go ``RunPlugin``) in the consumer's
project directory, so this file is ``__main__`` and the folder alone is on ``sys.path``. A package
added from git is its repository cloned under
``~/.pulumi/plugins/resource-<repository>_components-v<version>``, run from its ``components/``.
Every module here imports its siblings as ``components.*``, so this file registers its own folder
as the ``components`` package, whatever the folder is called, and imports nothing from outside it.
The provider prints its port and serves GetSchema, Construct and the CRUD of the resources it
serves itself (components/package.py) until the engine stops it.
"""

import importlib.util
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def _register_folder_as_package(name: str = "components") -> None:
    spec = importlib.util.spec_from_file_location(
        name, FOLDER / "__init__.py", submodule_search_locations=[str(FOLDER)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"component package folder {str(FOLDER)!r}: no __init__.py to load")
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)


if __name__ == "__main__":
    _register_folder_as_package()

    from components.package import SecureAiStackProvider, package_version, serve

    serve(SecureAiStackProvider(package_version()), sys.argv[1:])
