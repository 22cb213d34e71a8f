"""What a training run shows while it runs: a tqdm bar on process 0 with the loss, the
latest evaluation metrics, steps/s and the time left, and optionally TensorBoard event files
(``--tensorboard``, via tensorboardX) beside ``metrics.jsonl``."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm

from experiments.core.config import TrainConfig
from experiments.core.errors import ConfigError
from experiments.core.run import Run, is_primary

#: keys of every metrics record; any other key is an evaluation metric
TRAINING_KEYS = ("step", "loss", "grad_norm", "n_skipped", "wall_s")


def _summary_writer(run: Run) -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError(
            "--tensorboard: expected the tensorboardX package, got none installed; "
            "pip install tensorboardX (or drop --tensorboard)"
        ) from None
    return SummaryWriter(str(run.path))


class Progress:
    """The bar and the event files of one training run, from step ``start`` to ``cfg.steps``."""

    def __init__(self, cfg: TrainConfig, run: Run, start: int) -> None:
        primary = is_primary()
        self.writer = _summary_writer(run) if cfg.tensorboard and primary else None
        self.bar = tqdm(total=cfg.steps, initial=start, unit="step", dynamic_ncols=True,
                        disable=not (cfg.progress and primary))  # fmt: skip
        self.evals: dict[str, float] = {}

    def step(self) -> None:
        self.bar.update(1)

    def log(self, record: dict[str, Any]) -> None:
        """Show ``record`` (a ``metrics.jsonl`` line) and write it to the event files."""
        self.evals.update({k: v for k, v in record.items() if k not in TRAINING_KEYS})
        shown = {"loss": record["loss"], **self.evals}
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
        if self.writer is not None:
            for key, value in record.items():
                if key != "step":
                    self.writer.add_scalar(key, value, record["step"])

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
