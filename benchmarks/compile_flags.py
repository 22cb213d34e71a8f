"""How long XLA's CPU backend takes to compile typical test programs under given ``XLA_FLAGS``.

``python -m benchmarks.compile_flags [--rounds N] [--quick] [FLAGS ...]``

Each argument is one set of flags (quoted, space separated; ``""`` is XLA's defaults). For
every set, in its own fresh process (flags are read once per process), the script compiles
the programs a test file typically makes: for each registered cell, the gradient of
``jaxrnn.cell_scan`` and the forward pass with ``lengths`` and ``reverse``, in float32 and
float64, at two sequence lengths. The sets run interleaved, round by round, so that a burst of
load on a shared machine falls on all of them; the table gives each set's median over rounds.
Without arguments it compares the test processes' flags (the root ``conftest.py``) with those
flags less the last one, and with none. The persistent compilation cache is off here.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _compile_all(quick: bool) -> int:
    """Compile the programs (in this process, with its XLA_FLAGS); returns how many."""
    import jax
    import jax.numpy as jnp

    import jaxrnn

    jax.config.update("jax_enable_x64", True)
    names = jaxrnn.cell_names()[:2] if quick else jaxrnn.cell_names()
    cells = [jaxrnn.get_cell(name) for name in names]
    count = 0
    for dtype in (jnp.float32,) if quick else (jnp.float32, jnp.float64):
        for T in (5,) if quick else (5, 7):
            for cell in cells:
                params = cell.init(jax.random.key(T), 3, 8, dtype=dtype)
                xs = jnp.ones((2, T, 3), dtype)

                def loss(p, x, cell=cell):
                    return jnp.sum(jaxrnn.cell_scan(p, x)[1].real ** 2)

                def forward(p, x, T=T):
                    return jaxrnn.cell_scan(p, x, lengths=jnp.array([T, 2]), reverse=True)[1]

                for fn in (jax.grad(loss), forward):
                    jax.jit(fn).lower(params, xs).compile()
                    count += 1
    return count


def _one(flags: str, quick: bool) -> float:
    """Seconds a fresh process with these ``XLA_FLAGS`` takes to compile the programs."""
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_ENABLE_COMPILATION_CACHE": "false"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    code = (
        "import sys, time; from benchmarks.compile_flags import _compile_all; "
        "import jax, jaxrnn; t = time.perf_counter(); "
        f"n = _compile_all({quick!r}); print(n, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return float(out.split()[-1])


def _test_flags() -> list[str]:
    """The root ``conftest.py``'s ``_FAST_COMPILE``, read without importing it (importing it
    sets this process's environment)."""
    tree = ast.parse((ROOT / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_FAST_COMPILE":
            return list(ast.literal_eval(node.value))
    raise ValueError("conftest.py: expected a tuple _FAST_COMPILE of XLA flags, found none")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("flags", nargs="*", help="one set of XLA_FLAGS per argument")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="two cells, float32, one length")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds: expected an int >= 1, got {args.rounds}")
    if args.flags:
        sets = args.flags
    else:
        test = _test_flags()
        sets = [" ".join(test), " ".join(test[:-1]), ""]
    times: dict[str, list[float]] = {s: [] for s in sets}
    t0 = time.perf_counter()
    for r in range(args.rounds):
        for s in sets:
            times[s].append(_one(s, args.quick))
        print(f"round {r + 1}/{args.rounds} done, {time.perf_counter() - t0:.0f} s", flush=True)
    medians = {s: statistics.median(v) for s, v in times.items()}
    print("| XLA_FLAGS | compile s (median) | rounds |\n|---|---|---|")
    for s, m in medians.items():
        print(f"| `{s or '(none)'}` | {m:.1f} | {', '.join(f'{t:.1f}' for t in times[s])} |")
    return medians


if __name__ == "__main__":
    main()
