"""The engine's modules import one another one way: no cycle, and the folders in layers."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "rampart" / "engine"
PACKAGE = "rampart.engine"

# a folder may import only from the folders (and top modules) below it
LAYERS = {
    "sandbox": {"steps"},
    "playbooks": {"steps", "sandbox", "config"},
    "runs": {"steps", "sandbox", "playbooks", "config", "state", "clients", "models", "events"},
}


def modules() -> dict[str, Path]:
    """Every module of the engine by dotted name (packages by their own name)."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((PACKAGE, *parts))] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The engine modules ``name`` imports anywhere in its file (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from a.b import c` imports the module a.b.c when there is one, else a.b
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path, name, set(found)) for name, path in found.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``edges``, as the list of modules around it; None if none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from rampart.engine import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from rampart.engine.a import x\n")
    known = {"rampart.engine.a", "rampart.engine.b"}
    edges = {
        "rampart.engine.a": imports(tmp_path / "a.py", "rampart.engine.a", known),
        "rampart.engine.b": imports(tmp_path / "b.py", "rampart.engine.b", known),
    }
    assert cycle(edges) == ["rampart.engine.a", "rampart.engine.b", "rampart.engine.a"]


def test_the_engine_has_no_import_cycle() -> None:
    edges = graph()
    assert len(edges) > 20  # the walk found the engine's modules
    assert "rampart.engine.runs.replay" in edges["rampart.engine.runs.triggers"]
    assert cycle(edges) is None, " -> ".join(cycle(edges) or [])


def test_each_folder_imports_only_the_layers_below_it() -> None:
    wrong = []
    for name, targets in graph().items():
        folder = name.split(".")[2] if name.count(".") >= 2 else ""
        if folder not in LAYERS:
            continue
        for target in targets:
            top = target.split(".")[2] if target.count(".") >= 2 else ""
            if top != folder and top not in LAYERS[folder]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []
