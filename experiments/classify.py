"""Shared pieces of the classification experiments (``sentiment``, ``digits``).

Cross-entropy, accuracy, confusion matrices, the two plots every classification run writes
(``curves.png``: loss and accuracy of each model on one axis per panel; ``confusion.png``),
and saving final parameters as ``params.npz`` keyed by pytree path (``cell.f.W``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of ``logits (B, K)`` against int ``labels (B,)``."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of examples of class ``i`` predicted as ``j``.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist()
        [[1, 0], [1, 1]]
    """
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


def save_params(path: Path, params: Any) -> None:
    """Write a pytree of arrays to ``.npz``, one entry per leaf named by its key path."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    np.savez(path, **{jax.tree_util.keystr(k): np.asarray(v) for k, v in flat})


def load_params(path: Path, like: Any) -> Any:
    """Read :func:`save_params` output into the structure of ``like`` (shapes must match).

    Raises:
        ValueError: a leaf is missing or has another shape (the file is of another model).
    """
    with np.load(path) as data:
        leaves = []
        for key, leaf in jax.tree_util.tree_flatten_with_path(like)[0]:
            name = jax.tree_util.keystr(key)
            if name not in data or data[name].shape != np.shape(leaf):
                got = data[name].shape if name in data else "missing"
                raise ValueError(
                    f"{path}: expected {name} with shape {np.shape(leaf)}, got {got}; "
                    "the file belongs to another model or configuration"
                )
            leaves.append(jnp.asarray(data[name]))
    return jax.tree.unflatten(jax.tree.structure(like), leaves)
