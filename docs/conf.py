"""Sphinx configuration for the jaxrnn documentation (``make docs``).

Sphinx, not MkDocs: the docstrings are reStructuredText (``.. math::`` blocks, Google
sections), which autodoc and napoleon read as they are; pages are MyST Markdown so that
they also read well on a repository browser. See ``docs/building.md``.
"""

from __future__ import annotations

import os
import sys

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

html_theme = "furo"
html_title = f"jaxrnn {release}"
html_static_path: list[str] = []
