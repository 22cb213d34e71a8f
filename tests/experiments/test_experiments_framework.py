"""The experiments framework: config CLI, optimizer, train loop, non-finite guard, resume."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.cli import main as cli_main
from experiments.core.args import parse_args
from experiments.core.checkpoint import Checkpointer
from experiments.core.config import TrainConfig
from experiments.core.errors import ConfigError, RunDirError
from experiments.core.nonfinite import NonFiniteError
from experiments.core.optim import make_optimizer, make_schedule
from experiments.core.run import Run, format_table
from experiments.core.step import Problem, initial_state, make_train_step
from experiments.core.train import train
from experiments.registry import EXPERIMENTS, listing

D = 3
NAN_STEP = 4  # the 1-based step whose batch contains a NaN


@dataclasses.dataclass(frozen=True)
class _Cfg(TrainConfig):
    sizes: tuple[int, ...] = (1, 2)
    name: str = "x"


def _problem(nan_at: int | None = None) -> Problem:
    """Linear regression; data of step k is a pure function of k."""

    def batch(step: int):
        rng = np.random.default_rng([0, step])
        x = rng.normal(size=(8, D)).astype(np.float32)
        y = (x @ np.arange(1, D + 1, dtype=np.float32)).astype(np.float32)
        if nan_at is not None and step + 1 == nan_at:
            x[0, 0] = np.nan
        return x, y

    def loss(params, b):
        x, y = b
        return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)

    return Problem(
        init=lambda key: {"w": jax.random.normal(key, (D,)), "b": jnp.zeros(())},
        loss=loss,
        batch=batch,
        evaluate=lambda p: {"w_err": float(jnp.abs(p["w"] - jnp.arange(1.0, D + 1)).max())},
    )


def _cfg(**kw) -> TrainConfig:
    base = dict(
        steps=12, batch_size=8, eval_every=4, log_every=2, ckpt_every=5, lr=0.05, progress=False
    )
    return TrainConfig(**{**base, **kw})


# ---- config CLI ---------------------------------------------------------------------------


def test_parse_args_typed_overrides():
    cfg, resume = parse_args(
        _Cfg,
        [
            "--lr=3e-4",
            "--steps=7",
            "--optimizer=rmsprop",
            "--sizes=4,8",
            "--progress=false",
            "--name=a=b",
        ],
    )
    assert (cfg.lr, cfg.steps, cfg.optimizer, cfg.sizes) == (3e-4, 7, "rmsprop", (4, 8))
    assert cfg.progress is False and cfg.name == "a=b" and resume is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--bogus=1"], r"unknown key --bogus; --help lists the keys"),
        (["--steps=1.5"], r"--steps: expected an int >= 1, got '1.5'"),
        (["--lr=fast"], r"--lr: expected a float > 0, got 'fast'"),
        (["--optimizer=lbfgs"], r"--optimizer: expected one of adam\|adamw\|rmsprop\|sgd"),
        (["--progress=maybe"], r"--progress: expected true\|false, got 'maybe'"),
        (["--sizes=1,x"], r"--sizes: expected a comma list of int, got '1,x'"),
        (["--steps=0"], r"--steps: expected an int >= 1, got 0"),
        (["--clip=-1"], r"--clip: expected a float >= 0"),
        (["lr=1"], r"expected --key=value"),
    ],
)
def test_parse_args_rejects(argv, match):
    with pytest.raises(ConfigError, match=match):
        parse_args(_Cfg, argv)


def test_parse_args_resume_reads_config(tmp_path):
    cfg = _Cfg(steps=33, sizes=(5,), runs_dir=str(tmp_path))
    run = Run.create("t", cfg)
    back, resume = parse_args(_Cfg, ["--resume", str(run.path), "--steps=40"])
    assert resume == str(run.path)
    assert back == dataclasses.replace(cfg, steps=40)
    with pytest.raises(RunDirError, match="expected a run directory holding config.json"):
        parse_args(_Cfg, [f"--resume={tmp_path / 'missing'}"])


def test_cli_lists_and_rejects(capsys):
    assert cli_main([]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(EXPERIMENTS)
    assert listing().count("\n") == len(EXPERIMENTS) - 1
    assert cli_main(["nope"]) == 2
    assert "expected an experiment name" in capsys.readouterr().err
    assert cli_main(["adding", "--hidden=big"]) == 2
    assert "--hidden: expected an int >= 1, got 'big'" in capsys.readouterr().err


def test_format_table():
    text = format_table([{"a": 1, "b": 0.5}, {"a": 22, "b": 1e-5}])
    assert text.splitlines() == [
        "| a  | b         |",
        "|----|-----------|",
        "| 1  | 0.5000    |",
        "| 22 | 1.000e-05 |",
    ]


# ---- optimizer and step -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "sgd"])
def test_optimizers_by_name_reduce_loss(name):
    prob = _problem()
    cfg = _cfg(optimizer=name, lr=0.02, weight_decay=0.01 if name == "adamw" else 0.0)
    tx = make_optimizer(cfg)
    params = prob.init(jax.random.key(0))
    state = tx.init(params)
    loss0 = prob.loss(params, prob.batch(0))
    for k in range(20):
        grads = jax.grad(prob.loss)(params, prob.batch(k))
        updates, state = tx.update(grads, state, params)
        params = jax.tree.map(jnp.add, params, updates)
    assert prob.loss(params, prob.batch(0)) < loss0


def test_schedules():
    cfg = _cfg(steps=100, lr=1.0, schedule="warmup_cosine", warmup_steps=10)
    sched = make_schedule(cfg)
    assert float(sched(0)) == 0.0 and float(sched(10)) == pytest.approx(1.0)
    assert float(sched(100)) == pytest.approx(0.0, abs=1e-6)
    assert float(make_schedule(_cfg(schedule="constant", lr=0.3))(50)) == pytest.approx(0.3)


def test_clipping_bounds_update():
    """With SGD lr=1 and clip c, the update's global norm is at most c."""
    clip = 0.1
    tx = make_optimizer(_cfg(optimizer="sgd", lr=1.0, clip=clip))
    grads = {"w": jnp.full((D,), 100.0)}
    updates, _ = tx.update(grads, tx.init(grads))
    assert float(jnp.linalg.norm(updates["w"])) == pytest.approx(clip, rel=1e-5)


def test_train_step_compiles_once():
    prob = _problem()

    cfg = _cfg()
    tx = make_optimizer(cfg)
    step = make_train_step(prob.loss, tx, skip=False)
    state = initial_state(cfg, prob, tx)
    for k in range(3):
        state, _ = step(state, prob.batch(k))
    assert int(state.step) == 3
    assert step._cache_size() == 1


# ---- non-finite guard ---------------------------------------------------------------------


def test_nonfinite_stops_naming_step(tmp_path):
    with pytest.raises(NonFiniteError, match=f"non-finite loss or gradient at step {NAN_STEP}"):
        train(_cfg(), _problem(nan_at=NAN_STEP), Run(tmp_path / "a"))
    # nothing after the bad step was applied: the logged losses before it stay finite
    logged = Run(tmp_path / "a").read_metrics()
    assert all(np.isfinite(r["loss"]) for r in logged if r["step"] < NAN_STEP)


def test_nonfinite_skip_counts_and_finishes(tmp_path):
    out = train(_cfg(nonfinite="skip"), _problem(nan_at=NAN_STEP), Run(tmp_path / "a"))
    assert out.metrics["n_skipped"] == 1 and out.metrics["steps"] == 12
    assert all(bool(jnp.isfinite(v).all()) for v in jax.tree.leaves(out.params))


# ---- run directory, checkpoints, resume ---------------------------------------------------


def test_run_writes_metrics_plot_checkpoints(tmp_path):
    cfg = _cfg(keep=2)
    out = train(cfg, _problem(), Run(tmp_path / "r"))
    records = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6, 8, 10, 12]
    assert [r["step"] for r in records if "w_err" in r] == [4, 8, 12]
    assert out.metrics["steps"] == 12 and np.isfinite(out.metrics["train_loss"])
    assert (tmp_path / "r" / "loss.png").stat().st_size > 0
    assert Checkpointer(tmp_path / "r" / "checkpoints", 2).steps() == [10, 12]


@pytest.mark.parametrize("stop_at", [5, 7])
def test_resume_is_bit_exact(tmp_path, stop_at):
    """Stop after ``stop_at`` steps (7: past the step-5 checkpoint), resume, compare."""
    cfg, prob = _cfg(), _problem()
    full = train(cfg, prob, Run(tmp_path / "full"))
    part = train(cfg, prob, Run(tmp_path / "part"), stop_at=stop_at)
    assert part.metrics["steps"] == stop_at
    assert not (tmp_path / "part" / "final.json").exists()
    resumed = train(cfg, prob, Run(tmp_path / "part", resuming=True))
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    steps = [r["step"] for r in Run(tmp_path / "part").read_metrics()]
    assert steps == sorted(set(steps)) == [2, 4, 6, 8, 10, 12]
    # resuming a finished run restores it without training
    again = train(cfg, prob, Run(tmp_path / "part", resuming=True))
    assert again.metrics == resumed.metrics


def test_corrupted_checkpoint_falls_back(tmp_path):
    cfg, prob = _cfg(keep=3), _problem()
    train(cfg, prob, Run(tmp_path / "r"), stop_at=7)  # checkpoints at 5 and 7
    newest = tmp_path / "r" / "checkpoints" / "7"
    for f in newest.rglob("*"):
        if f.is_file() and f.name != "commit_success.txt":
            f.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        out = train(cfg, prob, Run(tmp_path / "r", resuming=True))
    assert out.metrics["steps"] == 12
    # resumed from step 5 (steps 6-7 lost, as after a kill) and still bit-exact
    full = train(cfg, prob, Run(tmp_path / "full"))
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(out.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
