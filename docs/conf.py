"""Sphinx configuration for the jaxrnn documentation (``make docs``).

Sphinx, not MkDocs: the docstrings are reStructuredText (``.. math::`` blocks, Google
sections), which autodoc and napoleon read as they are; pages are MyST Markdown so that
they also read well on a repository browser. See ``docs/building.md``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, os.path.abspath(".."))

import jaxrnn  # noqa: E402

project = "jaxrnn"
author = "the jaxrnn authors"
copyright = "2026, the jaxrnn authors"
version = release = jaxrnn.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_typehints_description_target = "documented"
python_use_unqualified_type_names = True
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = False  # the descriptions give the shapes

html_theme = "furo"
html_title = f"jaxrnn {release}"
highlight_language = "text"  # unlabeled fences are output, not code
html_static_path: list[str] = []


# Pages that other branches add (docs/<topic>.md) appear under "More" until index.md names
# them, so that a new page never breaks the build ("document isn't included in any toctree").
MORE_MARKER = "<!-- more-pages"
HERE = Path(__file__).parent


def _more_pages(app, docname, source):
    if docname != "index" or MORE_MARKER not in source[0]:
        return
    pages = sorted(
        str(p.relative_to(HERE).with_suffix(""))
        for p in HERE.rglob("*.md")
        if "_build" not in p.parts and p.name != "README.md"
    )
    named = set(re.findall(r"^([\w/]+)\s*$", source[0], flags=re.M))
    missing = [p for p in pages if p not in named and p != "index"]
    block = "```{toctree}\n:caption: More\n:maxdepth: 1\n\n" + "\n".join(missing) + "\n```\n"
    source[0] = source[0].replace(MORE_MARKER, block + MORE_MARKER, 1) if missing else source[0]


# A plural after an inline literal (``nnx.Dict``s) reads well in a docstring but is not valid
# reStructuredText (an inline literal must end before whitespace or punctuation); an escaped
# space after the closing backquotes (``nnx.Dict``\ s) renders the same and is valid.
_LITERAL_THEN_LETTER = re.compile(r"(``[^`\s](?:[^`]*[^`\s])?``)(?=[A-Za-z])")


def _plural_after_literal(app, what, name, obj, options, lines):
    lines[:] = [_LITERAL_THEN_LETTER.sub(r"\1\\ ", line) for line in lines]


def setup(app):
    app.connect("source-read", _more_pages)
    app.connect("autodoc-process-docstring", _plural_after_literal)
