"""The example in docs/newton.md runs and its asserts hold."""

from __future__ import annotations

import re
from pathlib import Path

NEWTON_DOC = Path(__file__).resolve().parents[2] / "docs" / "newton.md"


def test_newton_docs_example_runs():
    (example,) = re.findall(r"```python\n(.*?)```", NEWTON_DOC.read_text(), flags=re.S)
    scope: dict = {}
    exec(compile(example, str(NEWTON_DOC), "exec"), scope)  # noqa: S102
    assert scope["state_T"].h.shape == (4, 8)
