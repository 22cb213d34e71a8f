"""Serving and scaling: ``jax.export`` with symbolic batch and time, and explicit sharding.

- Every registered cell's sequence function, and the Linen, NNX and Equinox stacks, exported
  with symbolic ``(b, t)``, serialised, deserialised and called at three lengths, equal the
  unexported call.
- Under a mesh whose axes are ``AxisType.Explicit`` (4 host devices, in a subprocess: the
  device count is fixed when JAX starts), every cell's fast loop or parallel form, with
  lengths and resets, batch sharded and weights sharded over their rows, equals the
  unsharded call, values and gradients.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import export

import jaxrnn
from tests.jaxrnn.test_sequence_rules import sizes

ROOT = Path(jaxrnn.__file__).resolve().parents[1]
LENGTHS_T = (1, 7, 33)  # three lengths through one exported function
TOL = 1e-6  # float32, the same program


def cells() -> list[str]:
    return [n for n in jaxrnn.cell_names() if not n.startswith("test_")]


def _roundtrip(fn, *specs):
    """``fn`` exported with ``specs`` (symbolic shapes), serialised and read back."""
    pytest.importorskip("flatbuffers")
    exported = export.export(jax.jit(fn))(*specs)
    return export.deserialize(exported.serialize())


@pytest.mark.parametrize("name", cells())
def test_every_cell_exports_with_symbolic_batch_and_time(name):
    cell = jaxrnn.get_cell(name)
    d_in, d_h = sizes(cell)
    p = cell.init(jax.random.key(0), d_in, d_h)
    method = "parallel" if cell.coefficients is not None else "sequential"

    def forward(p, xs, lengths, resets):
        return jaxrnn.cell_scan(p, xs, lengths=lengths, resets=resets, method=method)

    b, t = export.symbolic_shape("b, t")
    served = _roundtrip(
        forward, p, jax.ShapeDtypeStruct((b, t, d_in), jnp.float32),
        jax.ShapeDtypeStruct((b,), jnp.int32), jax.ShapeDtypeStruct((b, t), jnp.bool_),
    )  # fmt: skip
    both = jax.jit(lambda *a: (served.call(*a), forward(*a)))  # one program per length
    for T in LENGTHS_T:
        xs = np.random.default_rng(T).standard_normal((2, T, d_in)).astype(np.float32)
        lengths = np.array([T, T // 2], np.int32)
        resets = np.zeros((2, T), bool)
        resets[:, T // 2] = True
        got, want = both(p, xs, lengths, resets)
        for a, b_ in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, b_, atol=TOL)


def test_the_modules_export_with_symbolic_batch_and_time():
    pytest.importorskip("flax")
    pytest.importorskip("equinox")
    from flax import nnx

    import jaxrnn.equinox
    import jaxrnn.linen
    import jaxrnn.nnx

    b, t = export.symbolic_shape("b, t")
    spec = jax.ShapeDtypeStruct((b, t, 3), jnp.float32)
    xs0 = jnp.ones((2, 5, 3))
    linen = jaxrnn.linen.LSTM(features=4, num_layers=2, bidirectional=True)
    variables = linen.init(jax.random.key(0), xs0)
    nnx_model = jaxrnn.nnx.GRU(3, 4, num_layers=2, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(nnx_model)
    eqx_model = jaxrnn.equinox.MinGRU(3, 4, num_layers=2, key=jax.random.key(0))
    served = {  # parameters closed over: constants of the served program
        "linen": lambda x: linen.apply(variables, x)[1],
        "nnx": lambda x: nnx.merge(graphdef, state)(x)[1],
        "equinox": lambda x: jax.vmap(eqx_model)(x)[1],
    }
    for name, fn in served.items():
        back = _roundtrip(fn, spec)
        both = jax.jit(lambda xs, back=back, fn=fn: (back.call(xs), fn(xs)))  # one program
        for T in LENGTHS_T:
            xs = np.random.default_rng(T).standard_normal((3, T, 3)).astype(np.float32)
            np.testing.assert_allclose(*both(xs), atol=TOL, err_msg=name)


SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, jaxrnn
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

    TOL = 2e-5  # float32, sums in another order: relative to the output's size
    assert jax.device_count() == 4, jax.devices()
    mesh = jax.make_mesh((2, 2), ("batch", "model"), axis_types=(AxisType.Explicit,) * 2)
    x = np.random.default_rng(1).standard_normal((8, 6, 8)).astype(np.float32)  # host data
    L = np.array([6, 5, 4, 3, 2, 1, 0, 6], np.int32)
    R = np.zeros((8, 6), bool)
    R[:, 3] = R[0, 1] = True
    for name in NAMES:
        cell = jaxrnn.get_cell(name)
        p = cell.init(jax.random.key(0), 8, 8)
        method = "parallel" if cell.coefficients is not None else "sequential"
        run = lambda p, x, L, R: jaxrnn.cell_scan(p, x, lengths=L, resets=R, method=method)
        def loss(p, x, L, R):
            out = run(p, x, L, R)
            return (out[1] ** 2).sum(), out
        grad = jax.grad(loss, has_aux=True)  # the values and the gradient: one program
        both = jax.jit(lambda *a: grad(*a)[::-1])
        want = both(p, x, L, R)
        rows = lambda a: NamedSharding(mesh, P("model") if a.ndim and a.shape[0] % 2 == 0 else P())
        with jax.set_mesh(mesh):
            batch = NamedSharding(mesh, P("batch"))
            xs, Ls, Rs = (jax.device_put(a, batch) for a in (x, L, R))
            ps = jax.tree.map(lambda a: jax.device_put(a, rows(a)), p)
            got = both(ps, xs, Ls, Rs)
            assert jax.typeof(got[0][1]).sharding.spec[0] == "batch", (name, jax.typeof(got[0][1]))
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=TOL, rtol=10 * TOL,
                                       err_msg=name)
        print(name, "ok")
    print("ok")
    """
)


@pytest.mark.parametrize("half", [0, 1])  # two subprocesses, so that two workers share them
def test_explicit_sharding_equals_the_unsharded_call(half):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # the test process's flags (the root conftest.py's) and four host devices
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4",
        "JAX_PLATFORMS": "cpu",
    }
    code = f"NAMES = {cells()[half::2]!r}\n" + SHARDED
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok"), done.stdout
