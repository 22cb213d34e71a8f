"""benchmarks.variants: every variant computes lstm_scan's gradients; the script writes the
table it prints."""

from __future__ import annotations

import json

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


def test_main_writes_the_table_it_prints_and_rejects_unknown_shapes(tmp_path, capsys):
    assert variants.main(["tiny", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "variants.json").read_text())
    (r,) = data["results"]
    assert (r["name"], r["shape"], r["remat_steps"]) == ("tiny", [2, 12, 8], 3)
    assert set(r["ms"]) == {"unroll=1", "unroll=2", "unroll=4", "remat", "bfloat16"}
    assert all(v > 0 for v in r["ms"].values())
    assert {"jax", "machine", "cpus", "backend", "started", "wall_s"} <= set(data["meta"])
    table = (tmp_path / "variants.md").read_text()
    assert table in printed
    assert f"| tiny (2, 12, 8) | {r['ms']['unroll=1']:.1f} ms |" in table
    assert variants.main(["huge"]) == 2
    assert "expected shapes from" in capsys.readouterr().err
