"""Every copy of a shared source, byte for byte: the plugins that ship alone (the component
package, the policy pack, the sample app) carry copies of the files they import, since a
published plugin holds only its own folder.

Each row names a copy folder, the files copied into it and their one source, and the files the
folder holds of its own; the folder holds exactly those. A stale copy fails with the `cp` command
that refreshes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class CopyFolder:
    folder: str
    """The copy folder, relative to the repository's root."""
    copies: dict[str, str]
    """File name in the folder -> its one source, relative to the repository's root."""
    own: tuple[str, ...] = ()
    """Files the folder holds that are no copy (a package docstring of its own)."""


def _catalog(*names: str) -> dict[str, str]:
    return {name: f"catalog/{name}" for name in names}


COPY_FOLDERS = (
    CopyFolder(
        "components/catalog",
        {
            **_catalog(
                "__init__.py",
                "hosted.py",
                "ids.py",
                "key_shapes.py",
                "names.py",
                "secret.py",
                "sites.py",
            ),
            # The role table's one source is the policy pack's: the pack ships alone.
            "roles.py": "policies/roles.py",
        },
    ),
    CopyFolder("policies/contract", _catalog("names.py", "secret.py"), own=("__init__.py",)),
    CopyFolder("app/catalog", _catalog("names.py", "secret.py", "sites.py"), own=("__init__.py",)),
    # The Azure edge, whole: the component package's providers sign in and call Azure with it.
    CopyFolder(
        "components/azure_edge",
        {
            path.name: f"azure_edge/{path.name}"
            for path in sorted((ROOT / "azure_edge").glob("*.py"))
        },
    ),
)


@pytest.mark.parametrize("row", COPY_FOLDERS, ids=[row.folder for row in COPY_FOLDERS])
def test_each_copy_folder_holds_exactly_its_copies_and_its_own_files(row: CopyFolder) -> None:
    held = {path.name for path in (ROOT / row.folder).iterdir() if path.suffix == ".py"}
    assert held == set(row.copies) | set(row.own)
    assert not set(row.copies) & set(row.own)


@pytest.mark.parametrize("row", COPY_FOLDERS, ids=[row.folder for row in COPY_FOLDERS])
def test_each_copy_is_byte_equal_to_its_source(row: CopyFolder) -> None:
    stale = [
        f"cp {source} {row.folder}/{name}"
        for name, source in sorted(row.copies.items())
        if (ROOT / row.folder / name).read_bytes() != (ROOT / source).read_bytes()
    ]
    assert stale == [], "stale copies; refresh them with: " + " && ".join(stale)
