"""The package arrows of DESIGN.md §2, checked on every module's imports (ast, not grep).

Fails on an import the arrows do not allow, on any import cycle between modules, on `.kv` or
the state prefix used outside ledger/, and on modules or functions too long to read in one go.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "contracts", "consensus", "network", "node", "wallet", "explorer")
# What each package may import of ours (DESIGN.md §2): nothing imports "upward".
ALLOWED = {
    "ledger": set(),
    "contracts": {"ledger"},
    "consensus": {"ledger"},
    "network": {"ledger"},
    "wallet": {"ledger"},
    "explorer": {"wallet", "ledger"},
    "node": {"ledger", "contracts", "consensus", "network", "wallet", "explorer"},
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
FUNCTION_CHECKED = ("node", "contracts", "explorer")
STATE_PREFIX_NAMES = {"P_STATE"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def imported(name: str, tree: ast.Module, top_level_only: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of one of our modules, resolved to a module name."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # imports at module level, including under `if TYPE_CHECKING:`-free ifs
        nodes = [n for n in ast.walk(tree) if _at_module_level(tree, n)]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                yield node.lineno, candidate if candidate in MODULES else node.module


def _at_module_level(tree: ast.Module, target: ast.AST) -> bool:
    for node in tree.body:
        if node is target:
            return True
        if isinstance(node, ast.If | ast.Try) and any(n is target for n in ast.walk(node)):
            return True
    return False


def ours(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in PACKAGES else None


def test_every_import_follows_the_arrows() -> None:
    wrong = []
    for name, tree in TREES.items():
        package = name.split(".")[0]
        for line, target in imported(name, tree, top_level_only=False):
            other = ours(target)
            if other and other != package and other not in ALLOWED[package]:
                wrong.append(f"{MODULES[name].relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "imports against DESIGN.md §2:\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in TREES.items():
        for _, target in imported(name, tree, top_level_only=False):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_only_ledger_touches_the_raw_store_or_the_state_prefix() -> None:
    wrong = []
    for name, tree in TREES.items():
        if name.startswith("ledger"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "kv":
                wrong.append(f"{MODULES[name].relative_to(ROOT)}:{node.lineno} uses .kv")
            if isinstance(node, ast.Name | ast.alias):
                spelled = node.id if isinstance(node, ast.Name) else node.name
                if spelled in STATE_PREFIX_NAMES:
                    wrong.append(f"{MODULES[name].relative_to(ROOT)}:{node.lineno} uses {spelled}")
    assert not wrong, "outside ledger/:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_short_enough_to_read(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[name]} has {lines} lines; split it by job"


def test_no_function_needs_scrolling() -> None:
    long = []
    for name, tree in TREES.items():
        if not name.startswith(FUNCTION_CHECKED):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(
                        f"{MODULES[name].relative_to(ROOT)}:{node.lineno} {node.name} ({length})"
                    )
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)
