"""Run the Python blocks of Markdown files (standard library only).

Every fenced block whose language is ``python``, ``py`` or ``pycon`` runs: a block with
``>>>`` prompts is a doctest (its printed output is checked), any other block is run as a
script (its ``assert`` statements are the checks). Blocks of one file share one namespace,
in order, like a doctest text file. Code that must not run belongs in a ``text`` block.

Optional packages. The examples may use ``jaxrnn``, ``jax`` and NumPy. A block that needs
anything else (PyTorch, Flax, Equinox, Optax, Haiku, Keras, ...) says so in an HTML comment,
which GitHub, PyPI and Sphinx do not show, naming the modules as they are imported::

    <!-- requires: torch -->            right above a block: that block
    <!-- requires: flax, optax -->      on a line elsewhere: every block after it

A block whose modules cannot be imported (``importlib.util.find_spec``) is skipped, and the
skip is reported with its reason; a later block must not depend on names that a skipped block
defines (import them again). With ``JAXRNN_REQUIRE_TORCH=1`` (CI, as in
``tests/conftest.py``) a block that needs ``torch`` is never skipped: a missing torch fails.

    python docs/mdtest.py README.md docs          # exit status 1 on any failure

``tests/test_docs.py`` runs the same checks under pytest (``make test``; a page whose every
block is skipped is a pytest skip with the reason), and CI runs every page with this script
in a fresh virtual environment that has only the built wheel and its ``flax``, ``equinox``
extras, without PyTorch: an example that needs an undeclared optional package fails there.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from typing import NamedTuple

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
PYTHON_LANGUAGES = {"python", "py", "pycon", "python3"}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
REQUIRES = re.compile(r"^\s*<!--\s*requires:\s*(?P<modules>[\w.,\s]+?)\s*-->\s*$")


class Block(NamedTuple):
    """A fenced Python block: its first line of code, its source, the modules it needs."""

    line: int
    source: str
    requires: tuple[str, ...] = ()


class Results(NamedTuple):
    """``failed`` and ``attempted`` examples (a script block counts as one), and one line
    per skipped block: ``"path:line: skipped: needs torch (not installed)"``."""

    failed: int
    attempted: int
    skipped: tuple[str, ...] = ()


def python_blocks(text: str) -> list[Block]:
    """Every fenced Python block in Markdown ``text``, with the modules it declares.

    Example:
        >>> page = "<!-- requires: torch -->\\n```python\\nimport torch\\n```\\n"
        >>> python_blocks(page)
        [Block(line=3, source='import torch\\n', requires=('torch',))]
    """
    blocks, lines, i = [], text.splitlines(), 0
    page: list[str] = []  # modules every later block needs
    pending: list[str] = []  # modules the next block needs, when it follows at once
    while i < len(lines):
        req = REQUIRES.match(lines[i])
        if req:
            page += pending  # a comment not followed by a block was for the rest of the page
            pending = [m.strip() for m in req["modules"].split(",") if m.strip()]
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                page, pending = page + pending, []
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip().lower()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if info in PYTHON_LANGUAGES:
            src = "\n".join(lines[i + 1 : end]) + "\n"
            blocks.append(Block(i + 2, src, tuple(dict.fromkeys(page + pending))))
        pending = []
        i = end + 1
    return blocks


def required_anyway() -> set[str]:
    """Modules whose absence fails instead of skipping: torch with JAXRNN_REQUIRE_TORCH=1."""
    return {"torch"} if os.environ.get("JAXRNN_REQUIRE_TORCH") == "1" else set()


def missing_modules(block: Block) -> list[str]:
    """The modules ``block`` declares that cannot be imported here."""
    return [m for m in block.requires if _find_spec(m) is None]


def _find_spec(module: str):
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a parent package that is missing or broken
        return None


def run_file(path: Path, verbose: bool = False) -> Results:
    """Run every example of ``path``; failures are printed with the file and line, and a
    block whose declared modules are missing is skipped (see the module docstring)."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=verbose)
    globs: dict = {"__name__": "__mdtest__"}
    scripts = failed_scripts = 0
    skipped: list[str] = []
    for line, src, requires in python_blocks(path.read_text()):
        missing = missing_modules(Block(line, src, requires))
        if missing:
            must = sorted(set(missing) & required_anyway())
            if must:
                print(f"{path}:{line}: needs {', '.join(must)}, which is not installed, and "
                      "JAXRNN_REQUIRE_TORCH=1 forbids skipping it")  # fmt: skip
                scripts, failed_scripts = scripts + 1, failed_scripts + 1
                continue
            skipped.append(f"{path}:{line}: skipped: needs {', '.join(missing)} (not installed)")
            print(skipped[-1])
            continue
        if ">>>" not in src:
            scripts += 1
            failed_scripts += not _run_script(src, globs, path, line)
            continue
        test = parser.get_doctest(src, globs, f"{path}:{line}", str(path), line - 1)
        runner.run(test, clear_globs=False)
        globs.update(test.globs)  # DocTest copies its globals; later blocks see these names
    result = runner.summarize(verbose=False)
    return Results(result.failed + failed_scripts, result.attempted + scripts, tuple(skipped))


def _run_script(src: str, globs: dict, path: Path, line: int) -> bool:
    """Run one non-doctest block; print the traceback and return False if it raises."""
    code = compile("\n" * (line - 1) + src, str(path), "exec")  # tracebacks name the line
    try:
        exec(code, globs)
    except Exception:
        print(f"{path}:{line}: the block raised")
        traceback.print_exc(file=sys.stdout)
        return False
    return True


def markdown_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.rglob("*.md")) if p.is_dir() else [p]
    return [f for f in files if "_build" not in f.parts]


def main(argv: list[str]) -> int:
    failed = passed = skipped = 0
    for path in markdown_files(argv or ["README.md", "docs"]):
        result = run_file(path)
        failed += result.failed
        passed += result.attempted - result.failed
        skipped += len(result.skipped)
    print(f"{passed} passed, {failed} failed, {skipped} blocks skipped (optional packages)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
