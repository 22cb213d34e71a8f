"""Run the Python blocks of Markdown files (standard library only).

Every fenced block whose language is ``python``, ``py`` or ``pycon`` runs: a block with
``>>>`` prompts is a doctest (its printed output is checked), any other block is run as a
script (its ``assert`` statements are the checks). Blocks of one file share one namespace,
in order, like a doctest text file. Code that must not run belongs in a ``text`` block.

    python docs/mdtest.py README.md docs          # exit status 1 on any failure

``tests/test_docs.py`` runs the same checks under pytest (``make test``), and CI runs the
README's examples with this script in a fresh virtual environment that has only the
built wheel installed.
"""

from __future__ import annotations

import doctest
import re
import sys
import traceback
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


def run_file(path: Path, verbose: bool = False) -> doctest.TestResults:
    """Run every example of ``path``; failures are printed with the file and line."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=verbose)
    globs: dict = {"__name__": "__mdtest__"}
    scripts = failed_scripts = 0
    for line, src in python_blocks(path.read_text()):
        if ">>>" not in src:
            scripts += 1
            failed_scripts += not _run_script(src, globs, path, line)
            continue
        test = parser.get_doctest(src, globs, f"{path}:{line}", str(path), line - 1)
        runner.run(test, clear_globs=False)
        globs.update(test.globs)  # DocTest copies its globals; later blocks see these names
    result = runner.summarize(verbose=False)
    return doctest.TestResults(result.failed + failed_scripts, result.attempted + scripts)


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
    failed = passed = 0
    for path in markdown_files(argv or ["README.md", "docs"]):
        result = run_file(path)
        failed += result.failed
        passed += result.attempted - result.failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
