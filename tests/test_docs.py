"""Documentation: every public name is in the API reference, every Python block runs.

The Markdown examples are run by ``docs/mdtest.py`` (standard library only, so that CI can
run the README's quick start where only the wheel is installed).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import jaxrnn

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README_MAX_BYTES = 15 * 1024

_spec = importlib.util.spec_from_file_location("mdtest", DOCS / "mdtest.py")
mdtest = importlib.util.module_from_spec(_spec)
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


def test_readme_is_short_and_has_no_relative_images():
    text = (ROOT / "README.md").read_text()
    assert len(text.encode()) <= README_MAX_BYTES
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)|<img [^>]*src=\"([^\"]+)\"", text)
    relative = [a or b for a, b in images if not (a or b).startswith("https://")]
    assert not relative, f"README images must be absolute URLs (PyPI renders it): {relative}"
