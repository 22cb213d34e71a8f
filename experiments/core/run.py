"""Run directories: ``runs/<name>/<timestamp>/`` with config, metrics, plots, checkpoints.

A :class:`Run` owns one directory. Sweeps (several models or sequence lengths) use
:meth:`Run.sub` to get one sub-directory per training run, each with its own
``metrics.jsonl`` and ``checkpoints/``; the sweep's table goes in the top directory as
``results.json`` and ``results.md``.

With several processes (multi-host data parallelism) every process opens the same directory
(process 0's timestamp is broadcast) and only process 0 writes the JSON, metrics and tables;
orbax coordinates the checkpoint writes itself.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from experiments.core.args import config_to_dict


def is_primary() -> bool:
    """True in process 0, the one that writes the run's files."""
    return jax.process_index() == 0


def _timestamp() -> str:
    """Now, as ``YYYYmmdd-HHMMSS-micro``; process 0's clock when there are several."""
    now = datetime.datetime.now()
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        micros = int(now.timestamp() * 1e6)
        parts = np.array([micros // 1_000_000, micros % 1_000_000], np.int32)
        sec, usec = (int(v) for v in multihost_utils.broadcast_one_to_all(parts))
        now = datetime.datetime.fromtimestamp(sec) + datetime.timedelta(microseconds=usec)
    return now.strftime("%Y%m%d-%H%M%S-%f")


class Run:
    """One run directory.

    Args:
        path: the directory (created if missing).
        resuming: True when continuing an earlier run in ``path``.
    """

    def __init__(self, path: Path | str, *, resuming: bool = False) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.resuming = resuming

    @classmethod
    def create(cls, name: str, cfg: Any, resume: str | None = None) -> Run:
        """Open ``resume`` or a fresh ``<cfg.runs_dir>/<name>/<timestamp>/``; write config.json."""
        if resume is not None:
            run = cls(resume, resuming=True)
        else:
            run = cls(Path(cfg.runs_dir) / name / _timestamp())
        run.write_json("config.json", config_to_dict(cfg))
        return run

    def sub(self, name: str) -> Run:
        """A child run directory ``<path>/<name>/`` sharing the resume flag."""
        return Run(self.path / name, resuming=self.resuming)

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to ``metrics.jsonl`` (process 0 only)."""
        if not is_primary():
            return
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        lines = self.metrics_path.read_text().split("\n")
        return [json.loads(line) for line in lines if line.strip()]

    def set_metrics_aside(self, name: str) -> Path | None:
        """Rename a non-empty ``metrics.jsonl`` to ``name``; the new path, or None."""
        if not (self.metrics_path.exists() and self.read_metrics()):
            return None
        target = self.path / name
        if is_primary():
            self.metrics_path.replace(target)
        return target

    def truncate_metrics(self, step: int) -> list[dict[str, Any]]:
        """Drop records after ``step`` (written after the checkpoint we resume from)."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        if not is_primary():
            return kept
        self.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in kept))
        return kept

    def write_json(self, name: str, data: Any) -> None:
        if not is_primary():
            return
        (self.path / name).write_text(json.dumps(data, indent=2) + "\n")

    def read_json(self, name: str) -> Any | None:
        p = self.path / name
        return json.loads(p.read_text()) if p.exists() else None

    def report(self, rows: Sequence[dict[str, Any]], title: str) -> str:
        """Write ``results.json`` / ``results.md`` and return the table text."""
        table = format_table(rows)
        self.write_json("results.json", list(rows))
        if is_primary():
            (self.path / "results.md").write_text(f"# {title}\n\n{table}\n")
        return table


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != 0 and math.isfinite(v) and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.4f}"
    return str(v)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of ``rows`` (column order from the first row).

    Example:
        >>> print(format_table([{"model": "rnn", "mse": 0.1667}, {"model": "lstm", "mse": 0.01}]))
        | model | mse    |
        |-------|--------|
        | rnn   | 0.1667 |
        | lstm  | 0.0100 |
    """
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    cells = [[_fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cols), sep, *(line(r) for r in cells)])


def metrics_table(metrics: dict[str, Any]) -> str:
    """Final metrics as one table: ``{name: float}`` gives two columns, ``{row: {col: v}}``
    (a sweep) gives one row per entry.

    Example:
        >>> print(metrics_table({"rnn": {"mse": 0.17}, "lstm": {"mse": 0.01}}))
        | run  | mse    |
        |------|--------|
        | rnn  | 0.1700 |
        | lstm | 0.0100 |
    """
    if metrics and all(isinstance(v, dict) for v in metrics.values()):
        return format_table([{"run": k, **v} for k, v in metrics.items()])
    return format_table([{"metric": k, "value": v} for k, v in metrics.items()])
