"""The PNG plots runs leave behind (matplotlib, Agg backend, imported only when plotting):
line plots of metrics, classification training curves, confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lines(
    path: Path,
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    logy: bool = False,
    hline: tuple[float, str] | None = None,
) -> None:
    """Save a PNG line plot (matplotlib, Agg backend) of ``{label: (x, y)}``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, (x, y) in series.items():
        ax.plot(x, y, label=label)
    if hline is not None:
        ax.axhline(hline[0], color="gray", linestyle="--", label=hline[1])
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(
    path: Path, histories: dict[str, list[dict[str, Any]]], acc_key: str, title: str
) -> None:
    """Save training curves: train loss (left) and ``acc_key`` (right), one line per run."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, hist in histories.items():
        ax_loss.plot([r["step"] for r in hist], [r["loss"] for r in hist], label=name)
        evals = [r for r in hist if acc_key in r]
        ax_acc.plot([r["step"] for r in evals], [r[acc_key] for r in evals], "o-", label=name)
    ax_loss.set_yscale("log")
    for ax, ylabel in ((ax_loss, "train loss (cross-entropy)"), (ax_acc, acc_key)):
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of examples of class ``i`` predicted as ``j``.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
        [[1, 0], [1, 1]]
    """
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def plot_confusion(path: Path, cm: np.ndarray, class_names: Sequence[str], title: str) -> None:
    """Save a confusion matrix as a PNG heat map with the counts written in each cell."""
    plt = _pyplot()
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * k, 1.0 + 0.5 * k) if k > 4 else (4.2, 3.6))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            color = "white" if cm[i, j] > cm.max() / 2 else "black"
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color=color, fontsize=8)
    ax.set_xticks(range(k), class_names)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_mean_spread(
    path: Path,
    panels: dict[str, dict[str, tuple[Sequence[float], Sequence[Sequence[float]]]]],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    reference: dict[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    reference_label: str = "chance",
) -> None:
    """Save one panel per entry of ``panels`` (side by side, shared y axis), each with one line
    per label: ``{panel: {label: (x, runs)}}``, ``runs`` one list of ``y`` per seed; the line
    is the mean over the runs, the band their range (min to max). Each label has its own
    marker, drawn smaller than the one before, so that lines on top of each other stay
    visible. ``reference[panel] = (x, y)`` draws a dashed gray line (chance) labelled
    ``reference_label``."""
    plt = _pyplot()
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.2), sharey=True, squeeze=False)
    markers = "os^Dv<>PXh*"
    for ax, (title, series) in zip(axes[0], panels.items()):
        if logx:
            ax.set_xscale("log")
        for i, (label, (x, runs)) in enumerate(series.items()):
            ys = np.asarray(runs, np.float64).reshape(-1, len(x))
            (line,) = ax.plot(x, ys.mean(axis=0), marker=markers[i % len(markers)],
                              markersize=max(3.0, 11.0 - 1.5 * i), label=label)  # fmt: skip
            ax.fill_between(x, ys.min(axis=0), ys.max(axis=0), color=line.get_color(), alpha=0.2)
            ax.set_xticks(list(x), [f"{v:g}" for v in x])
            ax.minorticks_off()
        if reference and title in reference:
            ax.plot(*reference[title], color="gray", linestyle="--", label=reference_label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
