"""Settings of every test process (``tests/``, the doctests of ``jaxrnn/`` and ``experiments/``).

XLA's CPU backend compiles most of what the suite runs only once and runs it on tiny shapes,
so the tests ask LLVM for its cheapest code generation, in one piece:
``--xla_backend_optimization_level=0`` and ``--xla_llvm_disable_expensive_passes=true`` cut the
compile time of an LSTM's and a GRU's gradient by a third (6.6 s to 4.4 s for eight programs,
2 CPU cores), and ``--xla_cpu_parallel_codegen_split_count=1`` (no module split across
compile threads, which two test workers on two cores only make wait for each other) by a
further fifth (6.1-6.3 s to 4.6-4.8 s, the first two flags set, under load). They change how
fast the generated code runs, never what it computes: XLA's HLO passes (the ones tests
inspect) are untouched, and no flag enables fast-math. A flag already in ``XLA_FLAGS`` is kept.
Benchmarks and experiments do not read this file.
"""

from __future__ import annotations

import os

_FAST_COMPILE = (
    "--xla_backend_optimization_level=0",
    "--xla_llvm_disable_expensive_passes=true",
    "--xla_cpu_parallel_codegen_split_count=1",
)


def _with_fast_compile(flags: str) -> str:
    present = {f.split("=")[0] for f in flags.split()}
    extra = [f for f in _FAST_COMPILE if f.split("=")[0] not in present]
    return " ".join([flags, *extra]).strip()


# before any test initialises a JAX backend (subprocesses of tests inherit it)
os.environ["XLA_FLAGS"] = _with_fast_compile(os.environ.get("XLA_FLAGS", ""))
