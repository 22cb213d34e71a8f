"""The shared training loop: Optax optimizer by name, clipping, schedule, one jitted step.

An experiment describes its problem as a :class:`~experiments.core.step.Problem` (init,
loss, batch of a step, evaluation) and calls :func:`train`. The loop

- builds ``clip_by_global_norm(cfg.clip) -> optimizer(schedule)`` from the config;
- compiles ONE ``train_step(state, batch)`` (same shapes every step, so no recompiles);
- asks ``problem.batch(step)`` for data, which must be a pure function of the seed and
  ``step``: that is what makes ``--resume`` reach bit-identical parameters;
- evaluates every ``eval_every`` steps, logs to ``metrics.jsonl`` every ``log_every`` steps,
  checkpoints every ``ckpt_every`` steps and at the end, shows progress
  (:mod:`experiments.core.progress`);
- runs data-parallel over ``cfg.devices`` devices (:mod:`experiments.core.mesh`): the batch is
  split along its first axis, parameters and optimizer state are replicated;
- never trains on NaN: a step whose loss or gradient norm is not finite is not applied.
  With ``nonfinite="stop"`` the state freezes and the run raises :class:`NonFiniteError`
  naming the step and whether that step's inputs held NaN/inf (the batch is recomputed, so
  the check costs nothing while training is healthy); with ``"skip"`` the update is dropped
  and counted in ``n_skipped``;
- on Ctrl-C (SIGINT) saves a checkpoint and raises :class:`Interrupted`.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from experiments.core.checkpoint import Checkpointer
from experiments.core.config import TrainConfig
from experiments.core.errors import ConfigError, RunDirError
from experiments.core.mesh import make_mesh, replicate, shard_batch
from experiments.core.nonfinite import nonfinite_error
from experiments.core.optim import make_optimizer
from experiments.core.plots import plot_lines
from experiments.core.progress import TRAINING_KEYS, Progress
from experiments.core.run import Run, is_primary
from experiments.core.step import Problem, TrainResult, TrainState, initial_state, make_train_step


class Interrupted(KeyboardInterrupt):
    """SIGINT arrived; a checkpoint was saved. ``.step`` and ``.run_dir`` say where."""

    def __init__(self, step: int, run_dir: str) -> None:
        super().__init__(f"interrupted after step {step}; checkpoint saved in {run_dir}")
        self.step = step
        self.run_dir = run_dir


class _SigintFlag:
    """Turns SIGINT into a flag the loop polls (main thread only; restored on exit)."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: Any = None

    def __enter__(self) -> _SigintFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.raised = True

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def train(
    cfg: TrainConfig, problem: Problem, run: Run, *, stop_at: int | None = None
) -> TrainResult:
    """Train ``problem`` for ``cfg.steps`` steps, resuming from ``run`` when it has checkpoints.

    Args:
        cfg: the shared training hyperparameters.
        problem: what to train.
        run: the run directory; if ``run.resuming``, training continues from its newest
            readable checkpoint (a finished run is restored without training).
        stop_at: end early after this step, as if killed right after a checkpoint there
            (used by the resume tests).

    Returns:
        ``TrainResult(params, metrics, history)``: final parameters, final metrics
        (``train_loss``, evaluation metrics, ``steps``, ``wall_s``, ``n_skipped``) and the
        ``metrics.jsonl`` records.

    Raises:
        NonFiniteError: a loss or gradient was NaN/inf and ``cfg.nonfinite == "stop"``.
        ConfigError: the batch is larger than the data set, or does not split over the devices.
        RunDirError: resuming, but none of the run's checkpoints is readable (nothing is
            changed).
        Interrupted: SIGINT arrived (after saving a checkpoint).
    """
    if problem.n_train is not None and cfg.batch_size > problem.n_train:
        raise ConfigError(
            f"--batch_size: expected at most the {problem.n_train} training examples, "
            f"got {cfg.batch_size}"
        )
    mesh = make_mesh(cfg.devices)
    if mesh.devices.size > 1 and is_primary():
        print(f"[train] each batch of {cfg.batch_size} split over {mesh.devices.size} devices "
              f"({mesh.devices.flat[0].platform})", file=sys.stderr, flush=True)  # fmt: skip
    tx = make_optimizer(cfg)
    train_step = make_train_step(problem.loss, tx, skip=cfg.nonfinite == "skip", mesh=mesh)
    state = replicate(mesh, initial_state(cfg, problem, tx))
    ckpt = Checkpointer(run.path / "checkpoints", cfg.keep)
    history: list[dict[str, Any]] = []
    wall_offset = 0.0
    if run.resuming:
        restored = _restore(ckpt, state, run)
        if restored is not None:
            state = replicate(mesh, restored)
            history = run.truncate_metrics(int(state.step))
            wall_offset = max((r.get("wall_s", 0.0) for r in history), default=0.0)
            final = run.read_json("final.json")
            if final is not None and int(state.step) == final.get("steps"):
                ckpt.close()
                return TrainResult(state.params, final, history)
    start = int(state.step)
    t0 = time.perf_counter() - wall_offset
    last: dict[str, Any] = {}
    bar = Progress(cfg, run, start)
    try:
        with _SigintFlag() as sigint:
            for step in range(start + 1, cfg.steps + 1):
                state, m = train_step(state, shard_batch(mesh, problem.batch(step - 1)))
                bar.step()
                is_eval = problem.evaluate is not None and (
                    step % cfg.eval_every == 0 or step == cfg.steps
                )
                if step % cfg.log_every == 0 or step == cfg.steps or is_eval:
                    bad = int(state.bad_step)
                    if bad >= 0 and cfg.nonfinite == "stop":
                        raise nonfinite_error(problem.batch, bad, m)
                    last = {
                        "step": step,
                        "loss": float(m["loss"]),
                        "grad_norm": float(m["grad_norm"]),
                        "n_skipped": int(state.n_skipped),
                    }
                    if is_eval:
                        last.update(
                            {k: float(v) for k, v in problem.evaluate(state.params).items()}
                        )
                    last["wall_s"] = round(time.perf_counter() - t0, 3)
                    run.log(last)
                    history.append(last)
                    bar.log(last)
                if step % cfg.ckpt_every == 0 or step == cfg.steps:
                    ckpt.save(step, state)
                if sigint.raised or (stop_at is not None and step >= stop_at):
                    ckpt.save(step, state)
                    ckpt.wait()
                    if sigint.raised:
                        raise Interrupted(step, str(run.path))
                    break
    finally:
        bar.close()
        ckpt.close()
    final = {
        "steps": int(state.step),
        "train_loss": last.get("loss", float("nan")),
        **{k: v for k, v in last.items() if k not in ("step", "loss", "grad_norm")},
    }
    if int(state.step) == cfg.steps:
        run.write_json("final.json", final)
        if is_primary():
            _plot_history(run, history)
    return TrainResult(state.params, final, history)


def _restore(ckpt: Checkpointer, like: TrainState, run: Run) -> TrainState | None:
    """The newest readable checkpoint, saying on stderr which step it resumes from and which
    newer checkpoints it skipped as unreadable; None when the run has no checkpoint yet (its
    metrics records, if any, are kept aside in ``metrics.before-resume.jsonl``).

    Raises:
        RunDirError: there are checkpoints but none is readable; nothing is changed.
    """
    on_disk = ckpt.steps()
    if not on_disk:
        kept = run.set_metrics_aside("metrics.before-resume.jsonl")
        note = f"; its earlier metrics are in {kept}" if kept else ""
        print(f"[resume] {run.path}: no checkpoint yet, training from step 0{note}",
              file=sys.stderr, flush=True)  # fmt: skip
        return None
    restored = ckpt.restore_latest(like)
    if restored is None:
        raise RunDirError(
            f"--resume: expected a readable checkpoint in {ckpt.directory}, got none of steps "
            f"{on_disk} readable (damaged, or saved by another configuration); the run is left "
            "as it is: start a new run"
        )
    step, state = restored
    skipped = [s for s in on_disk if s > step]
    note = f" (skipped unreadable checkpoint(s) {skipped})" if skipped else ""
    print(f"[resume] {run.path}: from step {step}{note}", file=sys.stderr, flush=True)
    return state


def _plot_history(run: Run, history: list[dict[str, Any]]) -> None:
    skip = set(TRAINING_KEYS) - {"loss"}
    names = sorted({k for r in history for k in r} - skip)
    series = {
        n: ([r["step"] for r in history if n in r], [r[n] for r in history if n in r])
        for n in names
    }
    plot_lines(
        run.path / "loss.png",
        series,
        xlabel="step",
        ylabel="value",
        title=run.path.name,
        logy=all(v > 0 for _, ys in series.values() for v in ys),
    )
