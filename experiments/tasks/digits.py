"""Digits (scikit-learn 8x8): many-to-one over rows or pixels, and one-to-one, RNN vs LSTM.

Each 8x8 image (pixels 0..16, scaled to [0, 1]) is read as a sequence and classified from
the final state ``s_T`` (RNN: ``softmax(V s_T + b_o)``; LSTM: ``softmax(V h_T + b)``):

- ``rows``: T=8 steps of d_in=8 (one image row per step);
- ``pixels``: T=64 steps of d_in=1 (a small sequential-MNIST);
- ``one_to_one``: T=1 step of d_in=64. With ``s_0 = 0`` the recurrence
  ``s_1 = tanh(U x + W s_0 + b_s)`` never uses ``W``: the RNN is a one-hidden-layer
  feed-forward network and ``dL/dW`` is exactly zero (reported as ``max_abs_dW``).

The 1,797 images are split once, stratified by class (``--split_seed``, 25% test).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments.configs import VIEWS, DigitsConfig
from experiments.core.plots import confusion_matrix, plot_confusion, plot_curves
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.core.train import train
from experiments.models.losses import cross_entropy
from experiments.models.params_io import save_params
from experiments.models.sequence import final_logits, init_model

N_CLASSES = 10


def as_sequences(images: np.ndarray, view: str) -> np.ndarray:
    """``(N, 64)`` pixels in [0, 1] -> ``(N, T, d_in)`` for ``view``.

    Example:
        >>> [as_sequences(np.zeros((2, 64)), v).shape for v in VIEWS]
        [(2, 8, 8), (2, 64, 1), (2, 1, 64)]
    """
    n = images.shape[0]
    shape = {"rows": (n, 8, 8), "pixels": (n, 64, 1), "one_to_one": (n, 1, 64)}
    if view not in shape:
        raise ValueError(f"view: expected one of {', '.join(VIEWS)}; got {view!r}")
    return images.reshape(shape[view]).astype(np.float32)


def load_split(test_fraction: float = 0.25, split_seed: int = 0):
    """``(x_train, y_train, x_test, y_test)``: images ``(N, 64)`` in [0, 1], stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=split_seed, stratify=y
    )
    return x_tr, y_tr, x_te, y_te


def loss_fn(params, batch) -> jax.Array:
    xs, y = batch
    return cross_entropy(final_logits(params, xs), y)


def recurrent_grad_max(params, xs: jax.Array, y: jax.Array) -> float:
    """``max |dL/dW|`` over the recurrent matrices (RNN ``W``; LSTM ``f/i/c/o.W``)."""
    grads = jax.grad(loss_fn)(params, (xs, y))["cell"]
    if isinstance(grads, jaxrnn.RNNParams):
        Ws = [grads.W]
    else:
        Ws = [grads.f.W, grads.i.W, grads.c.W, grads.o.W]
    return max(float(jnp.abs(W).max()) for W in Ws)


def problem(cfg: DigitsConfig, model: str, view: str, split) -> Problem:
    """Train/test problem of one ``model`` on one ``view`` of the fixed split."""
    x_tr, y_tr, x_te, y_te = split
    xs_tr, xs_te = as_sequences(x_tr, view), as_sequences(x_te, view)

    @jax.jit
    def evaluate(params):
        logits = final_logits(params, xs_te)
        return {
            "test_loss": cross_entropy(logits, y_te),
            "test_acc": jnp.mean(jnp.argmax(logits, -1) == y_te),
        }

    def batch(step: int):
        idx = np.random.default_rng([cfg.seed, step]).integers(0, len(y_tr), cfg.batch_size)
        return xs_tr[idx], y_tr[idx]

    d_in = xs_tr.shape[-1]
    return Problem(
        init=lambda key: init_model(key, model, d_in, cfg.hidden, N_CLASSES),
        loss=loss_fn,
        batch=batch,
        evaluate=evaluate,
        n_train=len(y_tr),
    )


def main(cfg: DigitsConfig, resume: str | None = None) -> dict:
    run = Run.create("digits", cfg, resume)
    split = load_split(cfg.test_fraction, cfg.split_seed)
    x_te, y_te = split[2], split[3]
    results, histories = {}, {}
    for view in cfg.views:
        histories[view] = {}
        for model in cfg.models:
            name = f"{view}_{model}"
            xs_te = as_sequences(x_te, view)
            T, d_in = xs_te.shape[1:]
            print(f"[digits] {name}: T={T}, d_in={d_in}, {cfg.steps} steps", flush=True)
            t0 = time.perf_counter()
            out = train(cfg, problem(cfg, model, view, split), run.sub(name))
            save_params(run.path / name / "params.npz", out.params)
            pred = np.asarray(jnp.argmax(final_logits(out.params, xs_te), -1))
            cm = confusion_matrix(y_te, pred, N_CLASSES)
            plot_confusion(
                run.path / f"confusion_{name}.png",
                cm,
                [str(k) for k in range(N_CLASSES)],
                f"digits {view} {model}: test acc {np.mean(pred == y_te):.3f}",
            )
            row = {
                "view": view,
                "model": model,
                "T": int(T),
                "d_in": int(d_in),
                "steps": out.metrics["steps"],
                "test_acc": round(float(np.mean(pred == y_te)), 4),
                "wall_s": round(out.metrics.get("wall_s", time.perf_counter() - t0), 1),
                # dL/dW on the test set: exactly 0 for one step from s_0 = 0
                "max_abs_dW": recurrent_grad_max(out.params, xs_te, y_te),
            }
            results[name] = row
            histories[view][model] = out.history
        plot_curves(
            run.path / f"curves_{view}.png",
            histories[view],
            "test_acc",
            f"digits, {view} view: RNN vs LSTM",
        )
    run.report(list(results.values()), "digits: test accuracy (fixed stratified split)")
    print(f"run directory: {run.path}")
    return results
