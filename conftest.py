"""Settings of every test process (``tests/``, and the doctests of ``jaxrnn/`` and
``experiments/``).

Compiled programs are kept in JAX's persistent compilation cache, ``.jax_cache/`` at the
repository's root (git-ignored; ``make clean`` removes it), for every test process and the
subprocesses they start: the same program compiled by several tests, or by the next run of
the suite, is read back instead of compiled again (a second ``make test`` is several times
faster). ``JAX_COMPILATION_CACHE_DIR`` set in the environment wins; set it to an empty
string to turn the cache off.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

CACHE = Path(__file__).resolve().parents[1] / ".jax_cache"
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(CACHE))
if os.environ["JAX_COMPILATION_CACHE_DIR"]:
    # every program, however small or quick to compile (the suite compiles thousands)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
