"""The experiments by name: config class, the task module that runs it, a one-line
description and its inference subcommands. Imports only the configs (no JAX), so listing
and ``--help`` stay fast.

Register a new experiment by adding one entry to :data:`EXPERIMENTS`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple

from experiments import configs


class Experiment(NamedTuple):
    """One registered experiment.

    Attributes:
        config: the frozen dataclass of its hyperparameters.
        module: the task module, with ``Config``, ``main(cfg, resume) -> dict`` and, when
            ``commands`` is not empty, ``command(argv) -> int``.
        description: one line for the listing.
        commands: inference subcommands handled by the module's ``command``.
    """

    config: type
    module: str
    description: str
    commands: tuple[str, ...] = ()


EXPERIMENTS: dict[str, Experiment] = {
    "vanishing_gradients": Experiment(
        configs.VanishingGradientsConfig,
        "experiments.tasks.vanishing_gradients",
        "||dL/dx_t|| vs T-t for RNN and LSTM, at init and trained (log plot, decay per 100 steps)",
    ),
    "adding": Experiment(
        configs.AddingConfig,
        "experiments.tasks.adding",
        "adding problem, T in {50,100,200,400}: RNN vs LSTM test MSE vs baseline 0.167",
    ),
    "copy": Experiment(
        configs.CopyConfig,
        "experiments.tasks.copy_memory",
        "copy-memory task, T in {50,100}: RNN vs LSTM cross-entropy (baseline 10 ln8/(T+20))",
    ),
    "digits": Experiment(
        configs.DigitsConfig,
        "experiments.tasks.digits",
        "8x8 digits by rows (T=8), pixels (T=64), one-to-one (T=1): RNN vs LSTM test accuracy",
    ),
    "sentiment": Experiment(
        configs.SentimentConfig,
        "experiments.tasks.sentiment",
        "SST-2 many-to-one: embedding + RNN/LSTM final state, dev accuracy",
        ("predict", "evaluate"),
    ),
    "captioning": Experiment(
        configs.CaptioningConfig,
        "experiments.tasks.captioning",
        "1-3 digit images -> number in words (one-to-many)",
    ),
    "charlm": Experiment(
        configs.CharLMConfig,
        "experiments.tasks.charlm",
        "Tiny Shakespeare character LSTM (GRU, deep minGRU/minLSTM), TBPTT, val nats/char",
    ),
    "translation": Experiment(
        configs.TranslationConfig,
        "experiments.tasks.translation",
        "Multi30k en->de LSTM seq2seq (+attention), BLEU",
        ("translate",),
    ),
    "wallclock": Experiment(
        configs.WallclockConfig,
        "experiments.tasks.wallclock",
        "charlm or sentiment: held-out loss at equal training wall time, LSTM vs minGRU/minLSTM",
    ),
    "state_tracking": Experiment(
        configs.StateTrackingConfig,
        "experiments.tasks.state_tracking",
        "parity / sum mod 3, trained on lengths 2-40, tested at 40-640: which cells track state",
    ),
    "recall": Experiment(
        configs.RecallConfig,
        "experiments.tasks.recall",
        "multi-query associative recall (MQAR), 2-8 key-value pairs, widths 16 and 64: every cell",
    ),
}


def load(name: str) -> ModuleType:
    """Import the task module of experiment ``name``.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name].module)


def listing() -> str:
    """One line per experiment: name, description and its inference subcommands."""
    width = max(map(len, EXPERIMENTS))
    lines = []
    for name, exp in EXPERIMENTS.items():
        extra = f" (also: {', '.join(exp.commands)})" if exp.commands else ""
        lines.append(f"{name.ljust(width)}  {exp.description}{extra}")
    return "\n".join(lines)
