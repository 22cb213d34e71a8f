"""Run the ``>>>`` examples in Markdown files as doctests (standard library only).

Every fenced block whose language is ``python`` or ``pycon`` must be written as a doctest
(``>>>`` prompts with their printed output), so that nothing shown on the site goes
unrun. Blocks of one file share one namespace, in order, like a doctest text file.

    python docs/mdtest.py README.md docs          # exit status 1 on any failure

``tests/test_docs.py`` runs the same checks under pytest (``make test``), and CI runs the
README's examples with this script in a fresh virtual environment that has only the
built wheel installed.
"""

from __future__ import annotations

import doctest
import re
import sys
from pathlib import Path

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
PYTHON_LANGUAGES = {"python", "py", "pycon", "python3"}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, source)`` of every fenced Python block in Markdown ``text``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m["fence"], m["info"].strip().lower()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if info in PYTHON_LANGUAGES:
            blocks.append((i + 2, "\n".join(lines[i + 1 : end]) + "\n"))
        i = end + 1
    return blocks


def unrun_blocks(path: Path) -> list[int]:
    """Line numbers of Python blocks in ``path`` that hold no ``>>>`` example."""
    return [line for line, src in python_blocks(path.read_text()) if ">>>" not in src]


def run_file(path: Path, verbose: bool = False) -> doctest.TestResults:
    """Run every example of ``path``; failures are printed with the file and line."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=verbose)
    globs: dict = {"__name__": "__mdtest__"}
    for line, src in python_blocks(path.read_text()):
        test = parser.get_doctest(src, globs, f"{path}:{line}", str(path), line - 1)
        runner.run(test, clear_globs=False)
        globs.update(test.globs)  # DocTest copies its globals; later blocks see these names
    return runner.summarize(verbose=False)


def markdown_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(p.rglob("*.md")) if p.is_dir() else [p]
    return [f for f in files if "_build" not in f.parts]


def main(argv: list[str]) -> int:
    failed = passed = 0
    for path in markdown_files(argv or ["README.md", "docs"]):
        for line in unrun_blocks(path):
            print(f"{path}:{line}: a Python block without '>>>' examples would not run")
            failed += 1
        result = run_file(path)
        failed += result.failed
        passed += result.attempted - result.failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
