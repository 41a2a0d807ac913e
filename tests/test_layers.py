"""The package's imports point one way: values <- protocol <- http <- client <- cli.

Read from the source with ``ast``, so a wrong-way import fails here before it tangles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "smmpanel"

# Lower ranks may not import higher ones. Modules not named here (new capabilities) sit
# between the client and the command line.
RANKS = {
    "smmpanel._config": 0,
    "smmpanel._errors": 0,
    "smmpanel._models": 0,
    "smmpanel._validate": 0,
    "smmpanel._redact": 0,
    "smmpanel._protocol": 1,
    "smmpanel._http": 2,
    "smmpanel._client": 3,
    "smmpanel": 5,  # __init__ re-exports every layer and capability: the public face
    "smmpanel.sync": 5,  # blocking twins of the public names, built on the facade
    "smmpanel.__main__": 6,
    "smmpanel._cli": 6,
}
NEW = 4
IO = {"httpx", "anyio", "sniffio", "tenacity", "stamina", "socket", "asyncio", "trio"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rank(module: str) -> int:
    best = max((name for name in RANKS if module == name or module.startswith(name + ".")), key=len)
    if best == "smmpanel" and module != "smmpanel":
        return NEW
    return RANKS[best]


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((module, [alias.name for alias in node.names]))
    return found


def is_module(package: str, name: str) -> bool:
    where = PACKAGE.parent.joinpath(*package.split("."), name)
    return where.is_dir() or where.with_suffix(".py").is_file()


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_point_one_way(path: Path) -> None:
    """A module imports from its own layer or the layers below it, never above."""
    own = rank(module_name(path))
    for module, names in imports(path):
        if not module.startswith("smmpanel"):
            continue
        # ``from pkg import sub`` imports the submodule; ``from pkg import Name``, pkg itself.
        targets = [f"{module}.{name}" if is_module(module, name) else module for name in names]
        for target in targets or [module]:
            assert rank(target) <= own, f"{module_name(path)} imports {target}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_no_private_names_cross_modules(path: Path) -> None:
    """``from x import _name`` only for a private submodule, never a private name."""
    for module, names in imports(path):
        if not module.startswith("smmpanel"):
            continue
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                assert is_module(module, name), f"{module_name(path)} imports {module}.{name}"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "_protocol").glob("*.py")), ids=lambda p: module_name(p)
)
def test_the_protocol_layer_does_no_io(path: Path) -> None:
    """``_protocol`` is pure: no HTTP client, event loop or socket in it."""
    for module, _ in imports(path):
        assert module.split(".")[0] not in IO, f"{module_name(path)} imports {module}"
