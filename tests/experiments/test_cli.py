"""The command line: help and listing stay light, every bad value of every field is a one-line
error, one error boundary (exit 2 for user errors, tracebacks for bugs), presets, resume."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import typing
from pathlib import Path
from typing import Literal

import pytest

from experiments.cli import help_text
from experiments.cli import main as cli_main
from experiments.core.args import RESUMABLE, parse_args
from experiments.core.config import (
    NonEmpty,
    Range,
    Schedule,
    TrainConfig,
    field_docs,
    field_types,
    unwrap_type,
)
from experiments.core.errors import ConfigError
from experiments.registry import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[2]
HELP_LIMIT_S = 2.0  # the bound for help and listing, in a fresh interpreter
HEAVY = ("jax", "numpy", "optax", "orbax", "matplotlib")


def _bad_values(tp) -> list[str]:
    """Command-line texts a field of type ``tp`` must reject (none for free text)."""
    base, marks = unwrap_type(tp)
    if typing.get_origin(base) is Literal:
        return ["cosin"]
    if typing.get_origin(base) is tuple:
        return ["", ",", *(f"{v}" for v in _bad_values(typing.get_args(base)[0])[:1])]
    if base is bool:
        return ["maybe"]
    if base is str:
        return [""] if any(isinstance(m, NonEmpty) for m in marks) else []
    lows = [m for m in marks if isinstance(m, Range) and m.lo is not None]
    out = ["x", "1.5"] if base is int else ["x"]
    if lows:
        out.append(str(lows[0].lo if lows[0].lo_open else lows[0].lo - 1))
    highs = [m for m in marks if isinstance(m, Range) and m.hi is not None]
    if highs:
        out.append(str(highs[0].hi if highs[0].hi_open else highs[0].hi + 1))
    return out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_field_rejects_bad_values_in_one_line(name, capsys):
    tried = 0
    for key, tp in field_types(EXPERIMENTS[name].config).items():
        for bad in _bad_values(tp):
            assert cli_main([name, f"--{key}={bad}"]) == 2, (key, bad)
            err = capsys.readouterr().err
            assert err.startswith(f"error: --{key}: expected ") and err.count("\n") == 1, err
            tried += 1
    assert tried > 40


def test_every_field_is_documented_and_helped():
    for name, exp in EXPERIMENTS.items():
        docs = field_docs(exp.config)
        assert set(field_types(exp.config)) <= set(docs), name
        text = help_text(name)
        for key in field_types(exp.config):
            assert f"--{key}=" in text
    text = help_text("adding")
    assert "--T_values=50,100,200,400    a comma list of int >= 2; sequence lengths" in text
    assert "--schedule=constant" in text and "one of constant|cosine|warmup_cosine" in text
    assert "$'--prompt=\\n'" in help_text("charlm")  # pasteable in bash


def test_help_defaults_parse_back():
    """Every default as printed by --help is accepted by the parser and gives the default."""
    for name, exp in EXPERIMENTS.items():
        args = [line.split()[0] for line in help_text(name).splitlines() if line.startswith("  --")]
        args = [a[1:].strip("'").replace("\\n", "\n") if a.startswith("$") else a.strip("'")
                for a in args]  # fmt: skip
        cfg, _ = parse_args(exp.config, args)
        assert cfg == exp.config(), name


@pytest.mark.parametrize("argv", [[], ["adding", "--help"], ["translation", "--help"]])
def test_listing_and_help_import_nothing_heavy_and_are_fast(argv):
    code = (
        "import sys; from experiments.cli import main; rc = main(sys.argv[1:]); "
        f"print(rc, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)  # fmt: skip
    wall = time.perf_counter() - t0
    assert out.stdout.splitlines()[-1] == "0 []", out.stderr
    assert wall < HELP_LIMIT_S, wall


def test_a_subclass_cannot_drop_a_check():
    with pytest.raises(TypeError, match="schedule: expected the inherited type Schedule, got str"):

        @dataclasses.dataclass(frozen=True)
        class Loose(TrainConfig):
            schedule: str = "cosine"

    with pytest.raises(TypeError, match="cross-field rules in check"):

        @dataclasses.dataclass(frozen=True)
        class Skipping(TrainConfig):
            def __post_init__(self) -> None:
                pass

    @dataclasses.dataclass(frozen=True)
    class Fine(TrainConfig):
        schedule: Schedule = "cosine"

    with pytest.raises(ConfigError, match="--schedule: expected one of constant"):
        Fine(schedule="cosin")
    with pytest.raises(ConfigError, match=r"--warmup_steps: expected an int in \[0, steps=5\]"):
        Fine(steps=5, warmup_steps=6)


def test_presets_parse_and_explicit_keys_win():
    for name, exp in EXPERIMENTS.items():
        assert "quick" in exp.config.PRESETS, name
        cfg, _ = parse_args(exp.config, ["--preset=quick", "--seed=3"])
        assert cfg.seed == 3 and cfg != exp.config(), name
    cfg, _ = parse_args(EXPERIMENTS["adding"].config, ["--preset=quick", "--steps=7"])
    assert cfg.steps == 7 and cfg.T_values == (50,)
    with pytest.raises(ConfigError, match="--preset: expected one of quick, got 'fast'"):
        parse_args(EXPERIMENTS["adding"].config, ["--preset=fast"])


def test_unknown_key_suggests_the_near_one(capsys):
    assert cli_main(["adding", "--hiden=8"]) == 2
    assert capsys.readouterr().err == (
        "error: unknown key --hiden (did you mean --hidden?); --help lists the keys\n"
    )
    assert cli_main(["nope"]) == 2
    assert "error: expected an experiment name" in capsys.readouterr().err


def _finished_run(tmp_path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    cfg = EXPERIMENTS["adding"].config(hidden=8)
    (run / "config.json").write_text(json.dumps({**dataclasses.asdict(cfg), "T_values": [50]}))
    return run


def test_resume_allows_only_keys_that_keep_shapes_and_data(tmp_path, capsys):
    run = _finished_run(tmp_path)
    cls = EXPERIMENTS["adding"].config
    cfg, resume = parse_args(cls, ["--resume", str(run), "--steps=9", "--eval_every=3"])
    assert (cfg.steps, cfg.eval_every, cfg.hidden, resume) == (9, 3, 8, str(run))
    assert parse_args(cls, ["--resume", str(run), "--hidden=8"])[0].hidden == 8  # unchanged
    for key, value in (("hidden", "16"), ("T_values", "100"), ("lr", "0.1"), ("seed", "1")):
        assert key not in RESUMABLE
        assert cli_main(["adding", "--resume", str(run), f"--{key}={value}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --{key}: cannot change on --resume") and "--steps" in err
        assert err.count("\n") == 1
    assert cli_main(["adding", "--resume", str(tmp_path / "none")]) == 2
    assert "error: expected a run directory holding config.json" in capsys.readouterr().err
    assert cli_main(["adding", "--resume", str(run), "--preset=quick"]) == 2


def test_unexpected_errors_keep_their_traceback(monkeypatch):
    import experiments.tasks.adding as adding

    def broken(cfg, resume=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(adding, "main", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli_main(["adding", "--steps=1"])


def test_devices_that_do_not_exist(capsys, tmp_path):
    argv = ["adding", "--preset=quick", "--devices=64", f"--runs_dir={tmp_path}"]
    assert cli_main(argv) == 2
    assert capsys.readouterr().err.startswith("error: --devices: expected an int in [1, ")


def test_out_of_memory_is_a_sizes_error(monkeypatch, capsys):
    import experiments.tasks.adding as adding

    def oom(cfg, resume=None):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 200823395176 bytes.")

    monkeypatch.setattr(adding, "main", oom)
    assert cli_main(["adding", "--steps=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: expected sizes that fit in memory, got RESOURCE_EXHAUSTED")
    assert err.count("\n") == 1


def test_host_devices_are_set_before_jax_starts():
    code = (
        "from experiments.cli import _set_host_devices; _set_host_devices(2); "
        "import jax; print(jax.device_count())"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}, timeout=120)  # fmt: skip
    assert out.stdout.strip() == "2", out.stderr


def test_publish_writes_the_final_metrics_where_the_docs_cite_them(monkeypatch, tmp_path, capsys):
    import experiments.tasks.adding as adding
    from experiments.core import publish

    monkeypatch.setattr(adding, "main", lambda cfg, resume=None: {"lstm": {"test_mse": 4.6e-4}})
    monkeypatch.setattr(publish, "RESULTS_DIR", tmp_path)
    assert cli_main(["adding", "--steps=7", "--publish=adding_probe"]) == 0
    assert f"published: {tmp_path / 'adding_probe.json'}" in capsys.readouterr().out
    data = json.loads((tmp_path / "adding_probe.json").read_text())
    assert data["command"] == "make experiment NAME=adding ARGS=--steps=7"
    assert data["config"]["steps"] == 7 and data["metrics"] == {"lstm": {"test_mse": 4.6e-4}}
    assert data["wall_s"] >= 0 and data["machine"]["cpus"] >= 1
    assert cli_main(["adding", "--publish"]) == 0 and (tmp_path / "adding.json").is_file()
    assert cli_main(["adding", "--publish=../elsewhere"]) == 2
    assert capsys.readouterr().err.startswith("error: --publish: expected a file stem")
    assert cli_main(["adding", "--resume", str(tmp_path), "--publish"]) == 2
