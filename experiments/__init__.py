"""Experiments: ``python -m experiments <name> [--key=value ...]`` (or ``make experiment``).

Each experiment is one module with a frozen dataclass ``Config`` (a subclass of
:class:`experiments.config.TrainConfig`) and ``main(cfg, resume=None) -> dict`` of final
metrics. Register a new one by adding a line to :data:`EXPERIMENTS`; modules are imported
only when run, so listing stays fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: name -> (module, one-line description)
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "vanishing_gradients": (
        "experiments.vanishing_gradients",
        "||dL/dx_t|| vs T-t for RNN and LSTM, at init and trained (log plot, decay per 100 steps)",
    ),
    "adding": (
        "experiments.adding",
        "adding problem, T in {50,100,200,400}: RNN vs LSTM test MSE vs baseline 0.167",
    ),
    "copy": (
        "experiments.copy_memory",
        "copy-memory task, T in {50,100}: RNN vs LSTM cross-entropy (baseline 10 ln8/(T+20))",
    ),
    "digits": (
        "experiments.digits",
        "8x8 digits by rows (T=8), pixels (T=64), one-to-one (T=1): RNN vs LSTM test accuracy",
    ),
    "sentiment": (
        "experiments.sentiment",
        "SST-2 many-to-one: embedding + RNN/LSTM final state, dev accuracy; predict/evaluate CLI",
    ),
    "captioning": ("experiments.captioning", "1-3 digit images -> number in words (one-to-many)"),
    "charlm": ("experiments.charlm", "Tiny Shakespeare character LSTM, TBPTT, val nats/char"),
    "translation": ("experiments.translation", "Multi30k en->de LSTM seq2seq (+attention), BLEU"),
}


def load(name: str) -> ModuleType:
    """Import the module of experiment ``name``.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name][0])


def listing() -> str:
    """One line per experiment: name and description."""
    width = max(map(len, EXPERIMENTS))
    return "\n".join(f"{n.ljust(width)}  {d}" for n, (_, d) in EXPERIMENTS.items())
