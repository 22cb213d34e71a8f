"""Packaging: the public names, and a core that imports nothing but jax."""

from __future__ import annotations

import subprocess
import sys

import jaxrnn

CONTRACT = {
    "RNNParams",
    "Gate",
    "LSTMParams",
    "LSTMState",
    "init_rnn_params",
    "init_lstm_params",
    "rnn_step",
    "lstm_step",
    "rnn_scan",
    "lstm_scan",
}


def test_public_contract_names_are_exported():
    assert CONTRACT <= set(jaxrnn.__all__)  # every name's signature: test_public_api.py
    assert jaxrnn.RNNParams._fields == ("U", "W", "V", "b_s", "b_o")
    assert jaxrnn.Gate._fields == ("U", "W", "b")
    assert jaxrnn.LSTMParams._fields == ("f", "i", "c", "o")
    assert jaxrnn.LSTMState._fields == ("h", "C")


def test_import_jaxrnn_does_not_import_flax_optax_or_torch():
    code = (
        "import sys, jaxrnn\n"
        "heavy = [m for m in ('flax', 'optax', 'torch', 'equinox', 'haiku', 'orbax') if m in sys.modules]\n"
        "print(heavy)\n"
        "raise SystemExit(1 if heavy else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (
        f"import jaxrnn pulled in {done.stdout.strip()} {done.stderr[-500:]}"
    )
