"""benchmarks/compile_flags.py: it reads the test processes' flags from the root conftest.py
(without importing it) and refuses a bad round count. (A run takes ~30 s even with --quick:
three fresh JAX processes; `python -m benchmarks.compile_flags --quick --rounds 1`.)"""

from __future__ import annotations

import os

import pytest

from benchmarks import compile_flags


def test_reads_the_conftest_flags_that_the_test_processes_have():
    flags = compile_flags._test_flags()
    assert "--xla_cpu_use_fusion_emitters=false" in flags
    assert all(f.startswith("--xla_") for f in flags)
    # the root conftest.py appended exactly these to this process's XLA_FLAGS
    assert set(flags) <= set(os.environ["XLA_FLAGS"].split())


def test_rejects_fewer_than_one_round(capsys):
    with pytest.raises(SystemExit):
        compile_flags.main(["--rounds", "0"])
    assert "expected an int >= 1, got 0" in capsys.readouterr().err
