"""experiments/ imports run one way (core -> data -> models -> configs -> registry -> tasks
-> cli), without cycles, and what ``--help`` imports stays free of heavy libraries."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "experiments"
LAYERS = ["core", "data", "models", "configs", "registry", "tasks", "cli", "__main__"]
LIGHT = ["core.errors", "core.config", "core.args", "core.publish", "models.registry", "configs", "registry", "cli"]
HEAVY = {"jax", "jaxrnn", "numpy", "optax", "orbax", "matplotlib", "tqdm", "sklearn"}


def _graph() -> dict[str, set[str]]:
    """``module -> in-project modules it imports`` (names relative to ``experiments``)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix("__init__")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("experiments"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}".removeprefix("experiments.")
                    is_module = (PACKAGE / (full.replace(".", "/") + ".py")).exists()
                    deps.add(full if is_module else node.module.removeprefix("experiments."))
        graph[name.rstrip(".")] = deps - {""}
    return graph


def _top_level_imports(name: str) -> set[str]:
    """Modules imported at module level (imports inside functions run only on demand)."""
    tree = ast.parse((PACKAGE / (name.replace(".", "/") + ".py")).read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _rank(module: str) -> int:
    return LAYERS.index(module.split(".")[0]) if module else -1


def test_imports_run_one_way():
    for module, deps in _graph().items():
        for dep in deps:
            assert _rank(dep) <= _rank(module), f"{module} imports the higher {dep}"


def test_no_cycles():
    graph, done = _graph(), set()

    def visit(module, path):
        assert module not in path, " -> ".join([*path, module])
        if module not in done:
            for dep in graph.get(module, ()):
                visit(dep, [*path, module])
            done.add(module)

    for module in graph:
        visit(module, [])


def test_help_path_imports_nothing_heavy():
    allowed = {"experiments", *(f"experiments.{m}" for m in LIGHT)}
    for module in LIGHT:
        imports = _top_level_imports(module)
        assert not {m.split(".")[0] for m in imports} & HEAVY, module
        assert {m for m in imports if m.startswith("experiments")} <= allowed, module
