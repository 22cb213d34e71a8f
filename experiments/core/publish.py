"""``--publish``: a finished run's final metrics, committed where the documentation cites them.

Run directories (``runs/<name>/<timestamp>/``) are not committed, so a figure that the README
or a docs page quotes needs a committed copy of the run's result. ``--publish`` (the file
``docs/results/<name>.json``) or ``--publish=FILE`` (``docs/results/FILE.json``) writes, when
the run ends, one JSON record: the command, the full config, the metrics that ``main``
returned and printed, the wall time of the whole command, and the machine::

    make experiment NAME=sentiment ARGS=--publish
    make experiment NAME=sentiment ARGS="--models=gru --publish=sentiment_gru"

The pages then point at the values with figure markers (``docs/figures.py``), and
``tests/test_figures.py`` fails when a page and its file disagree.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
from pathlib import Path
from typing import Any

from experiments.core.errors import ConfigError

#: where published results go: ``docs/results/`` of the repository that holds ``experiments/``
RESULTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "results"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def split_publish(name: str, args: list[str]) -> tuple[list[str], str | None]:
    """``(the other arguments, published file stem or None)`` of a training command line.

    Example:
        >>> split_publish("sentiment", ["--models=gru", "--publish=sentiment_gru"])
        (['--models=gru'], 'sentiment_gru')
        >>> split_publish("adding", ["--publish"])
        ([], 'adding')
    """
    rest, stem = [], None
    for arg in args:
        if arg == "--publish" or arg.startswith("--publish="):
            stem = arg.partition("=")[2] or name
            if not _NAME.match(stem) or stem.endswith(".json"):
                raise ConfigError(
                    f"--publish: expected a file stem such as {name}_gru (letters, digits, "
                    f"'_', '-', '.'; written to docs/results/<stem>.json), got {stem!r}"
                )
        else:
            rest.append(arg)
    return rest, stem


def command_line(name: str, args: list[str]) -> str:
    """The ``make`` command that reruns the experiment with ``args``.

    Example:
        >>> command_line("sentiment", ["--models=gru", "--steps=10"])
        'make experiment NAME=sentiment ARGS="--models=gru --steps=10"'
    """
    if not args:
        return f"make experiment NAME={name}"
    joined = shlex.join(args)
    return f"make experiment NAME={name} ARGS=" + (joined if len(args) == 1 else f'"{joined}"')


def record(
    name: str,
    args: list[str],
    config: dict[str, Any],
    metrics: dict[str, Any],
    *,
    started: datetime.datetime,
    wall_s: float,
    loadavg_start: list[float],
) -> dict[str, Any]:
    """The published JSON record of one finished run (see the module docstring)."""
    import jax

    import jaxrnn

    return {
        "experiment": name,
        "command": command_line(name, args),
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": round(wall_s, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "backend": jax.default_backend(),
            "devices": jax.device_count(),
            "jax": jax.__version__,
            "jaxrnn": jaxrnn.__version__,
            "loadavg_start": [round(v, 2) for v in loadavg_start],
            "loadavg_end": [round(v, 2) for v in loadavg()],
        },
        "config": config,
        "metrics": metrics,
    }


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where the platform has none)."""
    try:
        return list(os.getloadavg())
    except OSError:  # not on every platform
        return []


def write(stem: str, data: dict[str, Any], results_dir: Path | None = None) -> Path:
    """Write ``<results_dir or RESULTS_DIR>/<stem>.json``; returns its path."""
    import json

    results_dir = results_dir or RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{stem}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path
