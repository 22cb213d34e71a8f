"""The optimizer named by the config:
``clip_by_global_norm -> adam|adamw|rmsprop|sgd(schedule)``."""

from __future__ import annotations

import optax

from experiments.core.config import TrainConfig


def make_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Learning rate as a function of the step, from ``cfg.schedule``."""
    if cfg.schedule == "cosine":
        return optax.cosine_decay_schedule(cfg.lr, decay_steps=cfg.steps)
    if cfg.schedule == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(
            0.0, cfg.lr, warmup_steps=cfg.warmup_steps, decay_steps=cfg.steps
        )
    return optax.constant_schedule(cfg.lr)


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """``clip_by_global_norm(cfg.clip)`` (if ``clip > 0``) chained with the named optimizer
    (``cfg.optimizer`` is one of the config's ``Optimizer`` choices)."""
    lr = make_schedule(cfg)
    opt = {
        "adam": lambda: optax.adam(lr),
        "adamw": lambda: optax.adamw(lr, weight_decay=cfg.weight_decay),
        "rmsprop": lambda: optax.rmsprop(lr),
        "sgd": lambda: optax.sgd(lr),
    }[cfg.optimizer]()
    return optax.chain(optax.clip_by_global_norm(cfg.clip), opt) if cfg.clip > 0 else opt
