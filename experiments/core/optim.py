"""The optimizer named by the config:
``clip_by_global_norm -> adam|adamw|rmsprop|sgd(schedule)``."""

from __future__ import annotations

import optax

from experiments.core.config import TrainConfig


def make_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Learning rate as a function of the step, from ``cfg.schedule``."""
    if cfg.schedule == "constant":
        return optax.constant_schedule(cfg.lr)
    if cfg.schedule == "cosine":
        return optax.cosine_decay_schedule(cfg.lr, decay_steps=cfg.steps)
    if cfg.schedule == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(
            0.0, cfg.lr, warmup_steps=cfg.warmup_steps, decay_steps=cfg.steps
        )
    raise ValueError(
        f"schedule: expected one of constant, cosine, warmup_cosine; got {cfg.schedule!r}"
    )


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """``clip_by_global_norm(cfg.clip)`` (if ``clip > 0``) chained with the named optimizer."""
    lr = make_schedule(cfg)
    if cfg.optimizer == "adam":
        opt = optax.adam(lr)
    elif cfg.optimizer == "adamw":
        opt = optax.adamw(lr, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "rmsprop":
        opt = optax.rmsprop(lr)
    elif cfg.optimizer == "sgd":
        opt = optax.sgd(lr)
    else:
        raise ValueError(f"optimizer: expected adam, adamw, rmsprop or sgd; got {cfg.optimizer!r}")
    return optax.chain(optax.clip_by_global_norm(cfg.clip), opt) if cfg.clip > 0 else opt
