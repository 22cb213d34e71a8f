"""The public API, pinned: every name in ``jaxrnn.__all__`` and the parameters of each.

``public_api.txt`` (beside this file) lists one name a line, sorted: for a callable its
parameters (names, kinds, defaults; no annotations), otherwise its type. A move or a
refactor that changes this breaks users silently, so this test fails first. When the
change is intended, regenerate the listing and commit it with the change:

    PYTHONPATH=. python -m tests.jaxrnn.test_public_api --update

(one line per name, so branches that add names merge by taking both sides' lines).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import jaxrnn
import jaxrnn.params

LISTING = Path(__file__).with_name("public_api.txt")
UPDATE = "PYTHONPATH=. python -m tests.jaxrnn.test_public_api --update"


def _default(value: object) -> str:
    """A default's repr, with functions named (a plain repr holds a memory address)."""
    if not callable(value) or inspect.isclass(value):
        return repr(value)
    for module in (jaxrnn.params, jaxrnn):  # a named default, e.g. params.default_input_init
        for attr, obj in vars(module).items():
            if obj is value and not attr.startswith("_"):
                return f"{module.__name__}.{attr}"
    return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"


def _describe(name: str, obj: object) -> str:
    try:
        sig = inspect.signature(obj)  # jit-wrapped functions keep their signature
    except (TypeError, ValueError):
        return f"{name}: {type(obj).__name__}"
    params = [
        p.replace(annotation=p.empty, default=p.empty if p.default is p.empty else _Raw(p.default))
        for p in sig.parameters.values()
    ]
    kind = "class" if inspect.isclass(obj) else "def"
    return f"{kind} {name}{sig.replace(parameters=params, return_annotation=sig.empty)}"


class _Raw:
    """A default shown by :func:`_default` inside ``str(signature)``."""

    def __init__(self, value: object):
        self.text = _default(value)

    def __repr__(self) -> str:
        return self.text


def listing() -> str:
    """The current public API, one line per name in ``jaxrnn.__all__``, sorted."""
    lines = [_describe(n, getattr(jaxrnn, n)) for n in sorted(jaxrnn.__all__)]
    return "\n".join(lines) + "\n"


def test_all_names_exist_and_are_unique():
    assert len(set(jaxrnn.__all__)) == len(jaxrnn.__all__)
    missing = [n for n in jaxrnn.__all__ if not hasattr(jaxrnn, n)]
    assert not missing, f"jaxrnn.__all__ names that jaxrnn does not define: {missing}"


def test_public_api_matches_the_listing():
    want = LISTING.read_text().splitlines()
    got = listing().splitlines()
    removed = sorted(set(want) - set(got))
    added = sorted(set(got) - set(want))
    assert not removed and not added, (
        "the public API changed (an entry of jaxrnn.__all__ or a parameter's name, kind or "
        f"default):\n  listed but not found now: {removed}\n  found but not listed: {added}\n"
        f"If the change is intended, regenerate {LISTING.name} with `{UPDATE}` and commit it."
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {UPDATE}")
    LISTING.write_text(listing())
    print(f"wrote {LISTING} ({len(jaxrnn.__all__)} names)")
