"""Documentation: every public name is in the API reference, every Python block runs.

The Markdown examples are run by ``docs/mdtest.py`` (standard library only, so that CI can
run them where only the wheel is installed). A block that declares an optional package
(``<!-- requires: torch -->``) which is not installed is skipped; a page whose every block is
skipped is reported as a pytest skip with the reason, and any failure still fails.
"""

from __future__ import annotations

import doctest
import importlib.util
import re
import sys
from pathlib import Path

import pytest

import jaxrnn

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README_MAX_BYTES = 15 * 1024  # the text, not counting the figure markers (docs/figures.py)
FIGURE_MARKER = re.compile(r"<!--\s*fig\s.*?-->", re.S)

_spec = importlib.util.spec_from_file_location("mdtest", DOCS / "mdtest.py")
mdtest = importlib.util.module_from_spec(_spec)
sys.modules["mdtest"] = mdtest  # doctest and NamedTuple pickling look modules up by name
_spec.loader.exec_module(mdtest)

MARKDOWN = [ROOT / "README.md", *mdtest.markdown_files([str(DOCS)])]
_ids = [str(p.relative_to(ROOT)) for p in MARKDOWN]


def test_every_public_name_is_in_the_api_reference():
    api = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"^\.\. auto\w+:: jaxrnn\.(\w+)\s*$", api, flags=re.M))
    missing = sorted(set(jaxrnn.__all__) - documented)
    assert not missing, f"add these public names to docs/api.md: {missing}"


@pytest.mark.parametrize("path", MARKDOWN, ids=_ids)
def test_markdown_examples_run(path, capsys):
    result = mdtest.run_file(path)
    report = capsys.readouterr().out
    assert result.failed == 0, f"{path}: {result.failed} example(s) failed\n{report[-4000:]}"
    if result.skipped and not result.attempted:
        pytest.skip("; ".join(result.skipped))


def test_mdtest_declared_packages(tmp_path, monkeypatch, capsys):
    assert doctest.testmod(mdtest).failed == 0
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- requires: no_such_module_xyz -->\n\n```pycon\n>>> 1 + 1\n3\n```\n\n"
        "A page-wide comment, then text:\n\n<!-- requires: json, no_such_module_xyz -->\n"
        "Text.\n\n```python\nassert False\n```\n\n```pycon\n>>> 2 + 2\n4\n```\n"
        "<!-- requires: json -->\n```python\nimport json\n```\n"
    )
    blocks = mdtest.python_blocks(page.read_text())
    assert [b.requires for b in blocks] == [
        ("no_such_module_xyz",),
        ("json", "no_such_module_xyz"),
        ("json", "no_such_module_xyz"),
        ("json", "no_such_module_xyz"),
    ]
    result = mdtest.run_file(page)
    assert (result.failed, result.attempted, len(result.skipped)) == (0, 0, 4)
    assert "page.md:4: skipped: needs no_such_module_xyz (not installed)" in result.skipped[0]
    page.write_text("<!-- requires: json -->\n```pycon\n>>> import json\n>>> 1 + 1\n3\n```\n")
    assert mdtest.run_file(page).failed == 1  # a declared package that is there runs, and fails
    page.write_text("<!-- requires: torch, no_such_module_xyz -->\n```python\npass\n```\n")
    monkeypatch.setenv("JAXRNN_REQUIRE_TORCH", "1")
    monkeypatch.setattr(mdtest, "_find_spec", lambda name: None)
    result = mdtest.run_file(page)
    assert result.failed == 1 and not result.skipped
    assert "JAXRNN_REQUIRE_TORCH=1 forbids skipping it" in capsys.readouterr().out


def test_readme_is_short_and_has_no_relative_images():
    """At most 15 KiB of README. The figure markers (``<!--fig FILE:KEY-->``, which name the
    results file each figure comes from) are not counted: no reader sees them, and sourcing a
    figure must not cost the README a sentence."""
    text = (ROOT / "README.md").read_text()
    size = len(FIGURE_MARKER.sub("", text).encode())
    assert size <= README_MAX_BYTES, f"README: {size} bytes without figure markers"
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)|<img [^>]*src=\"([^\"]+)\"", text)
    relative = [a or b for a, b in images if not (a or b).startswith("https://")]
    assert not relative, f"README images must be absolute URLs (PyPI renders it): {relative}"
