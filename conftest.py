"""Settings of every test process (``tests/``, the doctests of ``jaxrnn/`` and ``experiments/``).

XLA's CPU backend compiles most of what the suite runs only once and runs it on tiny shapes,
so the tests ask LLVM for its cheapest code generation, in one piece:
``--xla_backend_optimization_level=0`` and ``--xla_llvm_disable_expensive_passes=true`` cut the
compile time of an LSTM's and a GRU's gradient by a third (6.6 s to 4.4 s for eight programs,
2 CPU cores), and ``--xla_cpu_parallel_codegen_split_count=1`` (no module split across
compile threads, which two test workers on two cores only make wait for each other) by a
further fifth (6.1-6.3 s to 4.6-4.8 s, the first two flags set, under load), and
``--xla_cpu_use_fusion_emitters=false`` (XLA's older elemental emitters for fused loops) by a
further half or more (``python -m benchmarks.compile_flags``: the programs a test file
makes, every cell, 7.0 s to 3.3 s with ``--quick``; 41-45 s to 13-16 s for 36 programs of
four cells, interleaved, under load). They change the generated code, not the arithmetic
asked for: XLA's HLO passes (the ones tests inspect) are untouched and no flag enables
fast-math, but a result may differ from a default-flags run in its last bit or two (``tanh``
by up to 3.6e-7 relative in float32 and 1.1e-15 in float64 over [-30, 30], measured
2026-12-07), far inside every tolerance; bit-exactness tests compare runs under the same
flags. A flag already in ``XLA_FLAGS`` is kept.

Every compiled program is also kept in JAX's persistent compilation cache, so that a second
run of the suite (or a test rerun after an edit) loads what did not change instead of
compiling it again: about 60% of a test file's time is XLA compiling (``JAX_LOG_COMPILES=1``).
The cache lives outside the clone, in ``$JAXRNN_TEST_CACHE`` (default
``${XDG_CACHE_HOME:-~/.cache}/jaxrnn/xla-tests``; ``JAXRNN_TEST_CACHE=off`` disables it). Its
key is the program's HLO together with the JAX and XLA versions, the backend and every
compile option and flag, so one cache serves every clone and branch; a program that changed
compiles anew. Benchmarks and experiments do not read this file.
"""

from __future__ import annotations

import os
import tempfile

_FAST_COMPILE = (
    "--xla_backend_optimization_level=0",
    "--xla_llvm_disable_expensive_passes=true",
    "--xla_cpu_parallel_codegen_split_count=1",
    "--xla_cpu_use_fusion_emitters=false",
)


def _with_fast_compile(flags: str) -> str:
    present = {f.split("=")[0] for f in flags.split()}
    extra = [f for f in _FAST_COMPILE if f.split("=")[0] not in present]
    return " ".join([flags, *extra]).strip()


def _cache_dir() -> str | None:
    chosen = os.environ.get("JAXRNN_TEST_CACHE", "")
    if chosen.lower() in ("off", "0", "none", "false"):
        return None
    if chosen:
        return chosen
    home = os.path.expanduser("~")
    if home == "~":  # no home directory: never a folder named "~" inside the clone
        home = tempfile.gettempdir()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "jaxrnn", "xla-tests")


# before any test initialises a JAX backend (subprocesses of tests inherit all of it)
os.environ["XLA_FLAGS"] = _with_fast_compile(os.environ.get("XLA_FLAGS", ""))
_CACHE = _cache_dir()
if _CACHE is not None and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    # every program, however small or quick to compile (the default keeps only those over 1 s)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    # No size limit: JAX's limit scans the whole folder on every write, which slowed the
    # suite by half at ten thousand entries. Delete the folder whenever you like.
