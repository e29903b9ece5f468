"""The rooms import downward only, as the table in docs/architecture.md says.

The table is read from the doc, so the doc and this test cannot drift apart. Every import counts,
a function-local one included: it runs too, only later.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "venv", "node_modules", ".git", "tests", "examples", "docs"}

DOC = ROOT / "docs" / "architecture.md"
# A row of the doc's table: | `<room>/` | <job> | <what it may import> |
_ROW = re.compile(r"^\| `(?P<room>[a-z_]+/|__main__\.py)` \|.*\| (?P<may>[^|]*) \|$", re.MULTILINE)


def _table() -> dict[str, frozenset[str]]:
    """Room -> the project's rooms it may import (its own always), read from the doc's table.

    "." is the program at the root. A bare name in backticks in the last column is a room; a path
    (`catalog/secret.py`) or a module (`rotation.hosted`) there only explains.
    """
    rows = {
        ("." if row["room"] == "__main__.py" else row["room"].rstrip("/")): row["may"]
        for row in _ROW.finditer(DOC.read_text(encoding="utf-8"))
    }
    rows.pop("tests", None)
    return {
        room: frozenset(name for name in re.findall(r"`([a-z_]+)`", may) if name in rows)
        for room, may in rows.items()
    }


MAY_IMPORT = _table()
ROOMS = frozenset(MAY_IMPORT) - {"."}

# What the pure rooms may take from outside the standard library.
THIRD_PARTY: dict[str, frozenset[str]] = {
    # The SDKs' own ID parsers, and nothing that talks to a network.
    "catalog": frozenset({"azure.mgmt.core.tools", "azure.keyvault.secrets"}),
    # The one edge: Azure SDKs and requests.
    "azure_edge": frozenset({"azure", "requests"}),
}


def sources() -> Iterator[tuple[str, Path]]:
    """(room, file) for every Python file of the product."""
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP for part in parts):
            continue
        yield (parts[0] if len(parts) > 1 else "."), path


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, nested ones included.

    ``from a import b`` yields ``a.b``: b may be a module (``from rotation import drill``).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names or module == "__future__"


def _allowed_third_party(room: str, module: str) -> bool:
    return any(
        module == allowed or module.startswith(f"{allowed}.") for allowed in THIRD_PARTY[room]
    )


def test_the_table_has_every_room_and_draws_no_cycle() -> None:
    found = {room for room, _ in sources()}
    assert found == set(MAY_IMPORT), (
        "a room is missing from the table (or the table names a gone one)"
    )

    # Depth-first search over the room graph: a room reached again on its own path is a cycle.
    def visit(room: str, path: tuple[str, ...]) -> None:
        assert room not in path, f"rooms import in a cycle: {' -> '.join((*path, room))}"
        for lower in MAY_IMPORT[room]:
            visit(lower, (*path, room))

    for room in MAY_IMPORT:
        visit(room, ())


def test_each_room_imports_only_the_rooms_below_it() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for room, path in sources()
        for line, module in imports(path)
        if module.split(".")[0] in ROOMS | {"tests"}
        and module.split(".")[0] != room
        and module.split(".")[0] not in MAY_IMPORT[room]
    ]
    assert wrong == []


@pytest.mark.parametrize("room", sorted(THIRD_PARTY))
def test_the_pure_rooms_take_only_what_their_rule_allows(room: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for owner, path in sources()
        if owner == room
        for line, module in imports(path)
        if module.split(".")[0] != room
        and not _is_stdlib(module)
        and not _allowed_third_party(room, module)
    ]
    assert wrong == []


def test_no_module_imports_itself_back() -> None:
    """No import cycle between the product's modules (a cycle inside a room counts too)."""
    names = {".".join(path.relative_to(ROOT).with_suffix("").parts): path for _, path in sources()}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        for _, module in imports(path):
            # `from a.b import c` names a.b.c when that is a module of ours, else a.b.
            target = next((m for m in (module, module.rpartition(".")[0]) if m in names), None)
            if target is not None and target != name:
                graph[name].add(target)
    cycles: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert cycles == []
