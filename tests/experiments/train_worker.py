"""A tiny training run for the subprocess tests (kill/resume, several devices).

``python -m tests.experiments.train_worker run [--key=value ...] [--resume RUN_DIR]`` trains a 4-unit
RNN on the adding problem through the shared loop and CLI parser, writes ``params.npz`` into
the run directory and prints ``run_dir=<path>``.

``python -m tests.experiments.train_worker devices N DIR`` (under
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) trains the same problem on one and
on N devices and prints a JSON report: both loss trajectories, the shardings the jitted step
received, and the errors for a batch that does not split and for too many devices.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

from experiments.core import train as train_mod
from experiments.core.args import parse_args
from experiments.core.config import Positive, PositiveFloat, TrainConfig
from experiments.core.errors import ConfigError
from experiments.core.mesh import maybe_initialize_distributed
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.models.sequence import init_model
from experiments.tasks.adding import make_batch, mse


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    """Tiny defaults; ``sleep_ms`` slows each step so a test can kill it mid-run."""

    steps: Positive = 40
    batch_size: Positive = 8
    lr: PositiveFloat = 0.01
    hidden: int = 4
    T: int = 5
    sleep_ms: float = 0.0
    eval_every: Positive = 1000
    log_every: Positive = 1
    ckpt_every: Positive = 5
    keep: Positive = 2
    progress: bool = False


def problem(cfg: Config) -> Problem:
    def batch(step: int):
        if cfg.sleep_ms:
            time.sleep(cfg.sleep_ms / 1000)
        return make_batch(cfg.seed, 0, step, cfg.batch_size, cfg.T)

    return Problem(
        init=lambda key: init_model(key, "rnn", 2, cfg.hidden, 1), loss=mse, batch=batch
    )


def save_params(path: Path, params) -> None:
    np.savez(path, *[np.asarray(x) for x in jax.tree.leaves(params)])


def load_params(path: Path) -> list[np.ndarray]:
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def run(argv: list[str]) -> None:
    maybe_initialize_distributed()
    cfg, resume = parse_args(Config, argv)
    r = Run.create("worker", cfg, resume)
    out = train_mod.train(cfg, problem(cfg), r)
    if jax.process_index() == 0:
        save_params(r.path / "params.npz", out.params)
    leaves = [np.asarray(x) for x in jax.tree.leaves(out.params)]
    digest = hashlib.sha256(b"".join(x.tobytes() for x in leaves)).hexdigest()
    print(f"run_dir={r.path}\nparams_sha256={digest}", flush=True)


def _describe(x: jax.Array) -> dict:
    return {
        "spec": str(x.sharding.spec) if hasattr(x.sharding, "spec") else str(x.sharding),
        "n_devices": len(x.sharding.device_set),
        "shard_shapes": sorted({tuple(s.data.shape) for s in x.addressable_shards}),
        "replicated": bool(x.sharding.is_fully_replicated),
    }


def devices(n: int, folder: Path) -> dict:
    seen: list[dict] = []
    real = train_mod.make_train_step

    def spy(*args, **kwargs):
        step = real(*args, **kwargs)

        def recorded(state, batch):
            if not seen:
                seen.append(
                    {
                        "batch": [_describe(x) for x in jax.tree.leaves(batch)],
                        "params": [_describe(x) for x in jax.tree.leaves(state.params)],
                        "opt_state": [_describe(x) for x in jax.tree.leaves(state.opt_state)],
                    }
                )
            new_state, m = step(state, batch)
            if len(seen) == 1:
                seen.append({"new_state": [_describe(x) for x in jax.tree.leaves(new_state)]})
            return new_state, m

        return recorded

    cfg = Config(steps=20, devices=1, runs_dir=str(folder))
    one = train_mod.train(cfg, problem(cfg), Run(folder / "one"))
    train_mod.make_train_step = spy
    many = train_mod.train(dataclasses.replace(cfg, devices=n), problem(cfg), Run(folder / "many"))
    train_mod.make_train_step = real
    errors = {}
    for name, bad in {
        "batch": {"batch_size": n + 2, "devices": n},
        "count": {"devices": n + 1},
    }.items():
        bad_cfg = dataclasses.replace(cfg, **bad)
        try:
            train_mod.train(bad_cfg, problem(bad_cfg), Run(folder / f"bad_{name}"))
            errors[name] = None
        except ConfigError as err:
            errors[name] = str(err)
    return {
        "jax_devices": len(jax.devices()),
        "loss_one": [h["loss"] for h in one.history],
        "loss_many": [h["loss"] for h in many.history],
        "params_one": [np.asarray(x).tolist() for x in jax.tree.leaves(one.params)],
        "params_many": [np.asarray(x).tolist() for x in jax.tree.leaves(many.params)],
        "first_step": seen[0],
        "after_step": seen[1],
        "errors": errors,
    }


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "run":
        run(rest)
    elif mode == "devices":
        print(json.dumps(devices(int(rest[0]), Path(rest[1]))), flush=True)
    else:
        sys.exit(f"usage: python -m tests.experiments.train_worker run|devices ...; got {mode!r}")
