"""The import graph of ``jaxrnn/``: no cycles, and no import from a lower layer to a higher one.

Read from the source (``ast``), nothing is imported. ``LAYERS`` is the architecture, bottom
first; a module belongs to the layer of its first name below ``jaxrnn`` (``jaxrnn._src.loops.gru``
is in ``_loops``; a module of the private package ``_src`` by its own name, ``_src.checks``). A
module may import modules of its own layer or below. A new top-level
module or package must be added to ``LAYERS``. Print the graph with

    PYTHONPATH=. python -m tests.jaxrnn.test_import_graph
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "jaxrnn"
LAYERS = [
    {"_src", "_src.typing", "_src.renames"},
    {"_src.ops", "_src.checks"},  # numeric operations, and the checks at the boundary
    {"params"},  # the Gate and the default initialisers
    {"cell"},  # the Cell contract and its registry
    {"_src.loops", "_src.linear", "_src.elk", "_src.newton_solver", "_src.newton",
     "_src.sequence", "_src.xlstm_parts"},  # the fast loops, the linear recurrence, Newton, the sequence driver
    {"decode"},  # decoders and the step builder of any cell
    {"cells"},  # the families: one module each
    {"layers", "newton", "tbptt", "xlstm"},  # generic over Cell; the xLSTM block stack
    {"_src.modules"},  # what the framework modules need, generic over Cell
    {"linen", "nnx", "equinox", "interop"},
    {"__init__"},  # the package itself: public names only
]


def modules() -> dict[str, Path]:
    """``{dotted module name: path}`` of every module under ``jaxrnn/``."""
    out = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def graph() -> dict[str, list[str]]:
    """``{module: sorted in-project modules it imports}``."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from jaxrnn._src import checks as _checks` imports the module jaxrnn._src.checks
                subs = [f"{node.module}.{a.name}" for a in node.names]
                names = [s for s in subs if s in mods] or [node.module]
            else:
                continue
            edges[mod].update(n for n in names if n in mods and n != mod)
    return {m: sorted(e) for m, e in edges.items()}


def layer(mod: str) -> int:
    parts = mod.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    if key == "_src" and len(parts) > 2:  # the private package: each module its own layer
        key = f"_src.{parts[2]}"
    for rank, names in enumerate(LAYERS):
        if key in names:
            return rank
    raise AssertionError(f"{mod}: add {key!r} to LAYERS in {Path(__file__).name}")


def test_every_module_has_a_layer():
    for mod in modules():
        layer(mod)


def test_no_import_from_a_lower_layer_to_a_higher_one():
    upward = [
        f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
        for m, deps in graph().items()
        for d in deps
        if layer(d) > layer(m)
    ]
    assert not upward, "\n".join(upward)


def test_no_cycles():
    g = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in g[m]:
            if state.get(d) == 1:
                cycle = path[path.index(d) :] + [d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in g:
        if m not in state:
            visit(m, [m])


if __name__ == "__main__":
    for mod, deps in graph().items():
        print(f"{mod} -> {', '.join(deps) if deps else '(none)'}")
