"""Data-parallel training on a device mesh: 4 simulated CPU devices in a subprocess.

The subprocess (``python -m tests.experiments.train_worker devices 4``) trains the same 20 steps on one
device and on a 4-device mesh; the step must see its batch split 4 ways and its parameters
and optimizer state replicated, and the two loss trajectories agree to float32 rounding
(the all-reduce sums the per-device gradients in another order).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.core.args import parse_args
from experiments.core.config import TrainConfig
from experiments.core.errors import ConfigError
from experiments.core.mesh import distributed_args, make_mesh, shard_batch
from experiments.core.run import Run
from experiments.core.train import train
from tests.experiments.train_worker import Config, load_params, problem

ROOT = Path(__file__).resolve().parents[2]
N_DEVICES = 4
STEPS = 20
BATCH = 8
LOSS_RTOL = 1e-5  # float32: summation order differs between one device and four
PARAM_ATOL = 1e-5
TIMEOUT_S = 240  # import + compile on a loaded 2-core machine
# The test processes' XLA_FLAGS (the root conftest.py's fast-compile flags) plus the device
# count: replacing them would compile everything in the subprocess at XLA's default
# optimisation level, several times slower.
XLA_FLAGS = os.environ.get("XLA_FLAGS", "")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("mesh")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XLA_FLAGS": f"{XLA_FLAGS} --xla_force_host_platform_device_count={N_DEVICES}",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.experiments.train_worker", "devices", str(N_DEVICES), str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loss_trajectory_matches_single_device(report):
    assert report["jax_devices"] == N_DEVICES
    one, many = np.array(report["loss_one"]), np.array(report["loss_many"])
    assert one.shape == many.shape == (STEPS,)
    np.testing.assert_allclose(many, one, rtol=LOSS_RTOL)
    assert many[-1] < many[0]  # it trained
    for a, b in zip(report["params_one"], report["params_many"]):
        np.testing.assert_allclose(np.array(b), np.array(a), atol=PARAM_ATOL)


def test_step_receives_sharded_batch_and_replicated_state(report):
    first = report["first_step"]
    xs, y = first["batch"]
    assert xs["spec"] == y["spec"] == "P('data',)"
    assert xs["n_devices"] == y["n_devices"] == N_DEVICES and not xs["replicated"]
    assert xs["shard_shapes"] == [[BATCH // N_DEVICES, 5, 2]]
    assert y["shard_shapes"] == [[BATCH // N_DEVICES]]
    for leaf in first["params"] + first["opt_state"] + report["after_step"]["new_state"]:
        assert leaf["replicated"] and leaf["n_devices"] == N_DEVICES, leaf


def test_bad_batch_and_device_count_errors(report):
    assert report["errors"]["batch"] == (
        f"--batch_size: the batch array [0] has {N_DEVICES + 2} rows, which do not split "
        f"evenly over --devices={N_DEVICES}; choose a batch size divisible by {N_DEVICES} "
        "or change --devices"
    )
    assert report["errors"]["count"] == (
        f"--devices: expected an int in [1, {N_DEVICES}] (or 0 for all), got {N_DEVICES + 1}"
    )


def test_devices_flag_in_process():
    assert parse_args(TrainConfig, ["--devices=2"])[0].devices == 2
    with pytest.raises(ConfigError, match=r"--devices: expected an int >= 0"):
        parse_args(TrainConfig, ["--devices=-1"])
    mesh = make_mesh(0)  # all devices
    assert mesh.axis_names == ("data",) and mesh.devices.size >= 1
    batch = shard_batch(mesh, (np.zeros((4, 3), np.float32), np.uint32(7)))
    assert batch[0].shape == (4, 3) and batch[1].sharding.is_fully_replicated


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"SLURM_STEP_NUM_TASKS": "1"}, None),
        ({"SLURM_STEP_NUM_TASKS": "4"}, {}),
        ({"OMPI_COMM_WORLD_SIZE": "2"}, {}),
        (
            {"JAX_COORDINATOR_ADDRESS": "h:1", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "0"},
            {"coordinator_address": "h:1", "num_processes": 2, "process_id": 0},
        ),
    ],
)
def test_distributed_args_from_environment(env, expected):
    assert distributed_args(env) == expected


def test_distributed_args_incomplete_environment():
    with pytest.raises(ConfigError, match="JAX_NUM_PROCESSES and JAX_PROCESS_ID"):
        distributed_args({"JAX_COORDINATOR_ADDRESS": "h:1"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_train_one_model(tmp_path):
    """Multi-host on one machine: 2 processes x 2 CPU devices, via the launcher env vars."""
    port, steps = _free_port(), 6
    cmd = [sys.executable, "-m", "tests.experiments.train_worker", "run", f"--steps={steps}"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"{XLA_FLAGS} --xla_force_host_platform_device_count=2",
        "JAX_COORDINATOR_ADDRESS": f"localhost:{port}",
        "JAX_NUM_PROCESSES": "2",
    }
    procs = [
        subprocess.Popen(
            [*cmd, f"--runs_dir={tmp_path}"],
            cwd=ROOT,
            env={**env, "JAX_PROCESS_ID": str(i)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    lines = []
    for p in procs:
        out, err = p.communicate(timeout=TIMEOUT_S)
        assert p.returncode == 0, err[-3000:]
        lines.append(dict(re.findall(r"^(run_dir|params_sha256)=(\S+)", out, re.MULTILINE)))
    assert lines[0]["run_dir"] == lines[1]["run_dir"]  # process 0's timestamp, shared
    assert lines[0]["params_sha256"] == lines[1]["params_sha256"]  # one replicated model
    run_dir = Path(lines[0]["run_dir"])
    assert [r["step"] for r in Run(run_dir).read_metrics()] == list(range(1, steps + 1))
    cfg = Config(steps=steps, devices=1)
    single = train(cfg, problem(cfg), Run(tmp_path / "single"))
    for a, b in zip(jax.tree.leaves(single.params), load_params(run_dir / "params.npz")):
        np.testing.assert_allclose(b, np.asarray(a), atol=PARAM_ATOL)
