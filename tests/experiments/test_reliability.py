"""Faults and bad inputs: SIGKILL and resume, damaged checkpoints, bad configs, NaN inputs,
bad data files. Each case is one row of the README's reliability table."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from experiments.cli import main as cli_main
from experiments.configs import AddingConfig
from experiments.core.args import parse_args
from experiments.core.checkpoint import Checkpointer
from experiments.core.errors import ConfigError, RunDirError
from experiments.core.nonfinite import NonFiniteError, nonfinite_inputs
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.core.train import train
from experiments.data.dataset import Dataset
from experiments.data.download import fetch, sha256_file
from experiments.data.files import DataFileError, read_text
from experiments.data.locate import locate
from experiments.data.text import FileFormatError, read_sentences
from tests.experiments.train_worker import Config, load_params, problem
from tests.experiments.train_worker import run as worker_run

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240  # subprocess import + compile on a loaded 2-core machine
POLL_S = 0.01


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}


def _worker(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.experiments.train_worker", "run", *args]


def _assert_same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _last_step(metrics: Path) -> int:
    """Largest step among the complete records (the last line may be half written)."""
    steps = []
    for line in metrics.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except ValueError:
            pass
    return max(steps, default=0)


# ---- faults: SIGKILL, half-written and damaged checkpoints ---------------------------------

KILL = ["--steps=30", "--ckpt_every=3", "--keep=2", "--sleep_ms=30"]


def test_sigkill_at_random_step_then_resume_is_bit_exact(tmp_path, capsys):
    """A worker process killed at a random step; its run resumed (in this process) ends with
    the parameters of an uninterrupted run, bit for bit."""
    seed = int.from_bytes(os.urandom(4), "little")
    kill_at = int(np.random.default_rng(seed).integers(4, 21))
    why = f"seed {seed}, kill at step {kill_at}"
    proc = subprocess.Popen(
        _worker(*KILL, f"--runs_dir={tmp_path}"),
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_S
    metrics = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(tmp_path.glob("worker/*/metrics.jsonl"))  # not into checkpoints/
        if found and _last_step(found[0]) >= kill_at:
            metrics = found[0]
            break
        time.sleep(POLL_S)
    assert metrics is not None, f"{why}: worker ended early: {proc.communicate()[1][-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=TIMEOUT_S)
    assert proc.returncode == -signal.SIGKILL, why
    run_dir = metrics.parent
    assert not (run_dir / "final.json").exists(), why
    ckpt = Checkpointer(run_dir / "checkpoints", 2)
    steps = ckpt.steps()
    # keep=2, plus one when the kill lands between a save and the deletion of the oldest
    assert len(steps) <= 3 and all(s % 3 == 0 and s < 30 for s in steps), (why, steps)
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        worker_run(["--resume", str(run_dir)])  # in this process: the worker's own entry point
    err = capsys.readouterr().err + "".join(str(w.message) for w in caught)
    assert "unreadable" not in err, why  # a half-written save is never picked up
    resumed_from = max(steps, default=0)
    if steps:
        assert f"from step {resumed_from}" in err, (why, err[-2000:])
    cfg, _ = parse_args(Config, KILL)
    cfg = dataclasses.replace(cfg, ckpt_every=1000, sleep_ms=0.0)  # the same batches, no waits
    fresh = train(cfg, problem(cfg), Run(tmp_path / "ref"))
    _assert_same(jax.tree.leaves(fresh.params), load_params(run_dir / "params.npz"))
    assert Checkpointer(run_dir / "checkpoints", 2).steps() == [27, 30], why
    logged = [r["step"] for r in Run(run_dir).read_metrics()]
    assert logged == list(range(1, 31)), why  # records past the checkpoint were replaced


def _cfg(**kw) -> Config:
    return Config(**{"steps": 12, "ckpt_every": 5, "keep": 3, "log_every": 2, **kw})


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list:
    """Final parameters of the uninterrupted ``_cfg()`` run."""
    cfg = _cfg()
    return jax.tree.leaves(train(cfg, problem(cfg), Run(tmp_path_factory.mktemp("full"))).params)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> Path:
    """A ``_cfg()`` run stopped after step 7, with checkpoints 5 and 7 (copy before use)."""
    cfg = _cfg()
    path = tmp_path_factory.mktemp("stopped") / "r"
    train(cfg, problem(cfg), Run(path), stop_at=7)
    return path


def _copy(stopped: Path, tmp_path: Path) -> Run:
    shutil.copytree(stopped, tmp_path / "r")
    return Run(tmp_path / "r", resuming=True)


def _damage(step_dir: Path, how: str) -> None:
    for f in step_dir.rglob("*"):
        if f.is_file() and f.name != "commit_success.txt":
            data = f.read_bytes()
            f.write_bytes(data[: len(data) // 2] if how == "truncate" else b"garbage")


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_damaged_latest_checkpoint_is_reported_and_skipped(
    tmp_path, capsys, how, stopped, reference
):
    run = _copy(stopped, tmp_path)
    _damage(run.path / "checkpoints" / "7", how)
    capsys.readouterr()
    with pytest.warns(UserWarning, match=r"checkpoints/7 is unreadable"):
        out = train(_cfg(), problem(_cfg()), run)
    err = capsys.readouterr().err
    assert "from step 5 (skipped unreadable checkpoint(s) [7])" in err
    _assert_same(reference, jax.tree.leaves(out.params))


def test_no_readable_checkpoint_refuses_and_changes_nothing(tmp_path, stopped):
    run = _copy(stopped, tmp_path)
    for step in ("5", "7"):
        _damage(run.path / "checkpoints" / step, "truncate")
    before = run.metrics_path.read_text()
    with pytest.warns(UserWarning, match="unreadable"):
        with pytest.raises(RunDirError, match=r"got none of steps \[5, 7\] readable"):
            train(_cfg(), problem(_cfg()), run)
    assert run.metrics_path.read_text() == before  # the run is not reset


def test_resume_before_the_first_checkpoint_keeps_the_metrics(tmp_path, capsys, reference):
    run = Run(tmp_path / "early", resuming=True)
    run.log({"step": 2, "loss": 1.0})
    out = train(_cfg(), problem(_cfg()), run)
    assert "no checkpoint yet, training from step 0" in capsys.readouterr().err
    assert (run.path / "metrics.before-resume.jsonl").read_text() == '{"step": 2, "loss": 1.0}\n'
    _assert_same(reference, jax.tree.leaves(out.params))


def test_half_written_checkpoint_is_invisible(tmp_path, capsys, stopped, reference):
    """A save killed before orbax's final rename leaves ``<step>.orbax-checkpoint-tmp*``."""
    run = _copy(stopped, tmp_path)
    half = run.path / "checkpoints" / "9.orbax-checkpoint-tmp-1234"
    (half / "default").mkdir(parents=True)
    (half / "default" / "_METADATA").write_text("{")
    assert Checkpointer(run.path / "checkpoints", 3).steps() == [5, 7]
    capsys.readouterr()
    out = train(_cfg(), problem(_cfg()), run)
    assert "from step 7\n" in capsys.readouterr().err
    _assert_same(reference, jax.tree.leaves(out.params))


# ---- configs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--hidden=-3"], r"--hidden: expected an int >= 1, got -3"),
        (["--test_size=0"], r"--test_size: expected an int >= 1, got 0"),
        (["--batch_size=-1"], r"--batch_size: expected an int >= 1, got -1"),
        (["--steps=-5"], r"--steps: expected an int >= 1, got -5"),
        (["--keep=0"], r"--keep: expected an int >= 1, got 0"),
        (["--devices=-2"], r"--devices: expected an int >= 0"),
        (["--steps=100", "--warmup_steps=500"], r"--warmup_steps: expected an int in \[0, steps=100\]"),
        (["--T_values=1"], r"--T_values: expected a comma list of int >= 2, got '1'"),
        (["--models=tanh"], r"--models: expected a comma list of rnn\|lstm\|gru\|mingru\|minlstm\|rglru\|lru\|slstm\|mlstm, got 'tanh'"),
        (["--lr=-0.1"], r"--lr: expected a float > 0, got -0.1"),
        (["--hiden=3"], r"unknown key --hiden \(did you mean --hidden\?\)"),
        (["--hidden=3.5"], r"--hidden: expected an int >= 1, got '3.5'"),
        (["--schedule=cosin"], r"--schedule: expected one of constant\|cosine\|warmup_cosine"),
    ],
)
def test_bad_config_values(argv, match):
    with pytest.raises(ConfigError, match=match):
        parse_args(AddingConfig, argv)


def test_bad_config_on_the_command_line_exits_2(capsys):
    assert cli_main(["adding", "--hidden=-3"]) == 2
    assert capsys.readouterr().err == "error: --hidden: expected an int >= 1, got -3\n"


def test_batch_larger_than_data_set(tmp_path):
    cfg = _cfg(batch_size=8)
    prob = problem(cfg)._replace(n_train=5)
    with pytest.raises(ConfigError, match=r"--batch_size: expected at most the 5 training"):
        train(cfg, prob, Run(tmp_path / "r"))


# ---- numerics at the experiment boundary --------------------------------------------------


def _poisoned(value: float, at: int) -> Problem:
    cfg = _cfg(steps=6, log_every=1)
    base = problem(cfg)

    def batch(step: int):
        xs, y = base.batch(step)
        if step + 1 == at:
            xs = xs.copy()
            xs[1, 2, 0] = value
        return xs, y

    return base._replace(batch=batch)


@pytest.mark.parametrize(("value", "counts"), [(np.nan, "1 NaN, 0 inf"), (np.inf, "0 NaN, 1 inf")])
def test_nonfinite_input_is_reported_with_step_and_index(tmp_path, value, counts):
    with pytest.raises(NonFiniteError) as info:
        train(_cfg(steps=6, log_every=1), _poisoned(value, at=3), Run(tmp_path / "r"))
    msg = str(info.value)
    assert "non-finite loss or gradient at step 3" in msg
    assert f"its inputs are not finite: [0]: {counts}, first at index (1, 2, 0)" in msg


def test_divergence_with_finite_inputs_is_told_apart(tmp_path):
    def loss(params, batch):
        return problem(_cfg()).loss(params, batch) * jnp.float32(1e38) ** 2

    prob = problem(_cfg())._replace(loss=loss)
    with pytest.raises(NonFiniteError, match="inputs are finite, so the model diverged"):
        train(_cfg(steps=4, log_every=1), prob, Run(tmp_path / "r"))


def test_nonfinite_inputs_ignores_integers_and_finite_floats():
    batch = (np.ones((2, 3), np.float32), np.arange(4), np.float32(2.0))
    assert nonfinite_inputs(batch) == []
    assert nonfinite_inputs({"x": np.array([[0.0, -np.inf]])}) == [
        "['x']: 0 NaN, 1 inf, first at index (0, 1)"
    ]


def test_library_stays_check_free_under_jit():
    """The library propagates NaN without host checks; the experiment boundary reports it."""
    params = jaxrnn.init_rnn_params(jax.random.key(0), 2, 3, 1)
    xs = np.ones((4, 2), np.float32)
    xs[1, 0] = np.nan
    s_T, ss, logits = jax.jit(jaxrnn.rnn_scan)(params, xs)
    ss = np.asarray(ss)
    assert np.isfinite(ss[0]).all() and not np.isfinite(ss[1:]).any()


# ---- data files ---------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_empty_sentence_file(tmp_path):
    with pytest.raises(DataFileError, match=r"empty.tsv: expected text, got an empty file"):
        read_sentences(_write(tmp_path / "empty.tsv", b""))
    with pytest.raises(FileFormatError, match=r"header.tsv:1: no sentences in the file"):
        read_sentences(_write(tmp_path / "header.tsv", b"sentence\tlabel\n"))


def test_missing_label_column(tmp_path):
    p = _write(tmp_path / "a.tsv", b"sentence\tlabel\ngood film\t1\nno label here\nbad\t0\n")
    with pytest.raises(FileFormatError, match=r"a.tsv:3: missing <TAB>label") as info:
        read_sentences(p)
    assert info.value.problems == [(3, "missing <TAB>label, got 'no label here'")]


def test_labels_outside_the_label_set(tmp_path):
    p = _write(tmp_path / "b.tsv", b"fine\t1\nmeh\t2\nugly\tneg\n")
    with pytest.raises(FileFormatError) as info:
        read_sentences(p)
    assert [n for n, _ in info.value.problems] == [2, 3]
    assert "b.tsv:2: label must be one of 0, 1, got '2'" in str(info.value)


def test_wrong_encoding(tmp_path):
    latin1 = "ok\t1\ncafé crème\t0\n".encode("latin-1")
    p = _write(tmp_path / "c.tsv", latin1)
    with pytest.raises(DataFileError, match=r"c.tsv:2: not UTF-8 \(byte 0xe9 at column 4\)"):
        read_sentences(p)


def test_gzip_cut_short_or_corrupt(tmp_path):
    whole = gzip.compress(("ein satz\n" * 200).encode())
    assert read_text(_write(tmp_path / "ok.de.gz", whole)) == "ein satz\n" * 200
    cut = _write(tmp_path / "cut.de.gz", whole[: len(whole) // 2])
    with pytest.raises(DataFileError, match=r"cut.de.gz: expected a complete gzip file"):
        read_text(cut)
    bad = _write(tmp_path / "bad.de.gz", b"\x1f\x8b" + b"\x00" * 30)
    with pytest.raises(DataFileError, match=r"bad.de.gz: expected a complete gzip file"):
        read_text(bad)


def _zip_dataset(tmp_path: Path, content: bytes, want: str) -> Dataset:
    archive = tmp_path / "ds.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("DS/train.tsv", content)
    return Dataset(
        name="ds",
        files={"train.tsv": want},
        url=archive.as_uri(),
        members={"train.tsv": "DS/train.tsv"},
    )


def test_checksum_mismatch_on_download_caches_nothing(tmp_path):
    ds = _zip_dataset(tmp_path, b"good\t1\n", want="0" * 64)
    dest = tmp_path / "cache"
    with pytest.raises(ValueError, match=r"ds: train.tsv from file:.*has sha256 [0-9a-f]{64}, "
                       r"expected 0{64}.*Nothing was cached"):  # fmt: skip
        fetch(ds, dest)
    assert not (dest / "train.tsv").exists()


def test_truncated_download_archive(tmp_path):
    ds = _zip_dataset(tmp_path, b"good\t1\n" * 100, want="0" * 64)
    archive = Path(ds.url.removeprefix("file://"))
    archive.write_bytes(archive.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"ds: file:.*ds.zip is not a zip archive"):
        fetch(ds, tmp_path / "cache")


def test_checksum_mismatch_of_a_local_copy_is_recorded(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    p = _write(folder / "train.tsv", b"my own\t1\n")
    located = locate(Dataset("ds", {"train.tsv": "0" * 64}), folder)
    assert not located.verified
    assert located.record()["sha256"] == {"train.tsv": sha256_file(p)}
