"""benchmarks.variants: every variant computes lstm_scan's gradients; the harness runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks import variants

GRAD_TOL = 1e-12  # float64


def test_variants_have_the_gradients_of_the_default(x64):
    p = jaxrnn.init_lstm_params(jax.random.key(0), 3, 5)
    p = jax.tree.map(lambda a: a.astype(jnp.float64), p)
    xs = jax.random.normal(jax.random.key(1), (2, 7, 3), jnp.float64)
    fns = variants.variants(7)
    assert set(fns) == {"unroll=1", "unroll=2", "unroll=4", "remat=3", "bfloat16"}
    want = fns["unroll=1"](p, xs)
    for name, fn in fns.items():
        tol = variants.BF16_TOL if name == "bfloat16" else GRAD_TOL
        for a, b in zip(jax.tree.leaves(fn(p, xs)), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, b, atol=tol, err_msg=name)


def test_bench_times_every_variant_and_rejects_unknown_shapes(capsys):
    ms = variants.bench((2, 5, 4), budget_s=0.0)
    assert set(ms) == {"unroll=1", "unroll=2", "unroll=4", "remat=2", "bfloat16"}
    assert all(v > 0 for v in ms.values())
    assert variants.main(["huge"]) == 2
    assert "expected shapes from" in capsys.readouterr().err
