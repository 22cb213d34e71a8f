"""Per-weight partitioning: a layer's weights sharded on a 4-device CPU mesh, same result.

The check runs in a subprocess started with ``--xla_force_host_platform_device_count=4``
(the device count is fixed when JAX starts). Each weight is annotated through the modules'
initialisers (``nn.with_partitioning`` / ``nnx.with_partitioning``): the hidden axis
``d_h`` (the rows of ``U``, ``W`` and ``b``) is split over the mesh axis ``"model"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jaxrnn

ROOT = Path(jaxrnn.__file__).resolve().parents[1]
N_DEVICES = 4
TIMEOUT_S = 240  # import + compile on a loaded 2-core machine
# The test processes' XLA_FLAGS (the root conftest.py's fast-compile flags) plus the device
# count: replacing them would compile everything in the subprocess at XLA's default
# optimisation level, several times slower.
XLA_FLAGS = os.environ.get("XLA_FLAGS", "")

WORKER = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, flax.linen as nn
    from flax import nnx
    import jaxrnn, jaxrnn.linen, jaxrnn.nnx
    from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init

    ATOL = 1e-6
    assert jax.device_count() == 4, jax.devices()
    # Auto axes (GSPMD); explicit axes are tests/jaxrnn/test_serving.py's.
    mesh = jax.make_mesh((4,), ("model",), axis_types=(jax.sharding.AxisType.Auto,))
    xs = jax.random.normal(jax.random.key(1), (2, 5, 3))
    lengths = jnp.array([5, 2])
    rows, vec = ("model", None), ("model",)

    # --- linen ---
    part = dict(kernel_init=nn.with_partitioning(default_input_init, rows),
                recurrent_kernel_init=nn.with_partitioning(default_recurrent_init, rows),
                bias_init=nn.with_partitioning(default_bias_init, vec))
    model = jaxrnn.linen.LSTM(features=8, bidirectional=True, **part)
    plain = jaxrnn.linen.LSTM(features=8, bidirectional=True)
    key = jax.random.key(0)
    shardings = nn.get_sharding(jax.eval_shape(model.init, key, xs), mesh)
    variables = jax.jit(model.init, out_shardings=shardings)(key, xs)
    W = variables["params"]["layer_0"]["fwd"]["f"]["W"]
    assert isinstance(W, nn.Partitioned) and W.names == rows, W
    assert tuple(W.value.sharding.spec)[:1] == ("model",), W.value.sharding
    assert len(W.value.addressable_shards) == 4 and W.value.addressable_shards[0].data.shape == (2, 8)
    out = jax.jit(model.apply)(variables, xs, lengths)
    host = jax.tree.map(np.asarray, nn.unbox(variables))
    ref = plain.apply(host, xs, lengths)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=ATOL), out, ref)
    p = jaxrnn.linen.layer_params(variables, 0)
    hs_fwd = jaxrnn.lstm_scan(p.fwd, xs, lengths=lengths)[1]
    np.testing.assert_allclose(hs_fwd, ref[1][..., :8], atol=ATOL)

    # --- nnx ---
    npart = dict(kernel_init=nnx.with_partitioning(default_input_init, rows),
                 recurrent_kernel_init=nnx.with_partitioning(default_recurrent_init, rows),
                 bias_init=nnx.with_partitioning(default_bias_init, vec))

    @nnx.jit
    def create():
        m = jaxrnn.nnx.LSTM(3, 8, num_layers=2, rngs=nnx.Rngs(0), **npart)
        state = nnx.state(m)
        nnx.update(m, jax.lax.with_sharding_constraint(state, nnx.get_partition_spec(state)))
        return m

    with jax.set_mesh(mesh):
        sharded = create()
        out = nnx.jit(lambda m, x: m(x, lengths))(sharded, xs)
    U = sharded.layers[1]["i"]["U"][...]
    assert tuple(U.sharding.spec)[:1] == ("model",), U.sharding
    assert U.addressable_shards[0].data.shape == (2, 8)
    ref = jaxrnn.nnx.LSTM(3, 8, num_layers=2, rngs=nnx.Rngs(0))(xs, lengths)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=ATOL), out, ref)
    print("ok")
    """
)


def test_sharded_weights_give_the_unsharded_result():
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XLA_FLAGS": f"{XLA_FLAGS} --xla_force_host_platform_device_count={N_DEVICES}",
        "JAX_PLATFORMS": "cpu",
    }
    done = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
