"""minGRU and minLSTM: the float64 reference, parallel == sequential, gradients, laws."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxrnn
from jaxrnn._src.linear import linear_scan
from tests import reference as ref
from tests.jaxrnn.test_cells import _nonzero_biases

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12  # float64 vs the float64 reference
GRAD_TOL = 1e-7  # float64 autodiff vs central differences (eps=1e-6)
F32_TOL = 2e-5  # float32 vs the float64 reference; parallel vs sequential in float32
B, T, D_IN, D_H = 3, 6, 3, 4
LENGTHS = np.array([6, 2, 0])  # full, partial and empty sequences

CELLS = {
    "mingru": (jaxrnn.init_mingru_params, jaxrnn.mingru_step, jaxrnn.mingru_scan,
               ref.mingru_forward),
    "minlstm": (jaxrnn.init_minlstm_params, jaxrnn.minlstm_step, jaxrnn.minlstm_scan,
                ref.minlstm_forward),
}  # fmt: skip
CASES = list(itertools.product(CELLS, [None, LENGTHS], [False, True], [True, False]))
IDS = [
    f"{c}-{'len' if n is not None else 'full'}-{'rev' if r else 'fwd'}-{'par' if p else 'seq'}"
    for c, n, r, p in CASES
]


def _setup(cell, dtype=jnp.float64, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    p = _nonzero_biases(CELLS[cell][0](k[0], D_IN, D_H, dtype=dtype), k[1])
    xs = jax.random.normal(k[2], (B, T, D_IN), dtype)
    h0 = 0.5 * jax.random.normal(k[3], (B, D_H), dtype)
    return p, xs, h0


def _scan(cell, p, xs, h0, lengths, reverse, parallel):
    lengths = None if lengths is None else jnp.asarray(lengths)
    return CELLS[cell][2](p, xs, h0, lengths=lengths, reverse=reverse, parallel=parallel)


def _ref(cell, p, xs, h0, lengths, reverse, b):
    L = None if lengths is None else int(lengths[b])
    return CELLS[cell][3](p, xs[b], h0=h0[b], length=L, reverse=reverse)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("cell", CELLS)
def test_step_matches_reference_one_example_and_batch(cell):
    p, xs, h0 = _setup(cell)
    step = jax.jit(CELLS[cell][1])  # one program per shape (batch, one example)
    xs, h0 = np.asarray(xs), np.asarray(h0)  # sliced on the host
    h_t, out = (np.asarray(a) for a in step(p, h0, xs[:, 0]))
    for b in range(B):
        h_ref, _ = CELLS[cell][3](p, xs[b, :1], h0=h0[b])
        np.testing.assert_allclose(h_t[b], h_ref, atol=F64_TOL)
        np.testing.assert_allclose(step(p, h0[b], xs[b, 0])[0], h_ref, atol=F64_TOL)
    assert (h_t == out).all()


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("cell", "lengths", "reverse", "parallel"), CASES, ids=IDS)
def test_scan_matches_float64_reference(cell, lengths, reverse, parallel):
    p, xs, h0 = _setup(cell)
    h_T, hs = _scan(cell, p, xs, h0, lengths, reverse, parallel)
    assert h_T.dtype == hs.dtype == jnp.float64
    h_T, hs = np.asarray(h_T), np.asarray(hs)
    for b in range(B):
        h_ref, hs_ref = _ref(cell, p, xs, h0, lengths, reverse, b)
        np.testing.assert_allclose(h_T[b], h_ref, atol=F64_TOL)
        np.testing.assert_allclose(hs[b], hs_ref, atol=F64_TOL)


@pytest.mark.parametrize(("cell", "lengths", "reverse", "parallel"), CASES, ids=IDS)
def test_float32_close_to_reference_and_dtype_preserved(cell, lengths, reverse, parallel):
    p, xs, h0 = _setup(cell, dtype=jnp.float32)
    h_T, hs = _scan(cell, p, xs, h0, lengths, reverse, parallel)
    assert h_T.dtype == hs.dtype == jnp.float32
    h_T, hs = np.asarray(h_T), np.asarray(hs)
    for b in range(B):
        h_ref, hs_ref = _ref(cell, p, xs, h0, lengths, reverse, b)
        np.testing.assert_allclose(hs[b], hs_ref, atol=F32_TOL)
        np.testing.assert_allclose(h_T[b], h_ref, atol=F32_TOL)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
def test_parallel_equals_sequential_float32(cell, reverse):
    p, xs, h0 = _setup(cell, dtype=jnp.float32, seed=1)
    par = _scan(cell, p, xs, h0, LENGTHS, reverse, True)
    seq = _scan(cell, p, xs, h0, LENGTHS, reverse, False)
    for a, b in zip(par, seq):
        np.testing.assert_allclose(a, b, atol=F32_TOL)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("reverse", [False, True])
def test_associative_and_sequential_forms_agree_values_and_gradients(reverse):
    """The CPU runs the sequential form; the associative one (GPU/TPU) is checked here."""
    rng = np.random.default_rng(2)  # NumPy draws: no program to compile per shape
    a = jnp.asarray(rng.uniform(size=(5, 1, 2)))
    b, h0, w = (jnp.asarray(rng.normal(size=s)) for s in [(5, 1, 2), (1, 2), (5, 1, 2)])

    def loss(form):
        def f(a, b, h0):
            h_T, hs = linear_scan(a, b, h0, reverse=reverse, form=form)
            return (hs * w).sum() + (h_T * h_T).sum()

        return f

    @jax.jit
    def values_and_grads(a, b, h0):  # both forms in one program
        return [jax.value_and_grad(loss(form), (0, 1, 2))(a, b, h0)
                for form in ("associative", "sequential")]  # fmt: skip

    (v_a, grads_a), (v_s, grads_s) = values_and_grads(a, b, h0)
    np.testing.assert_allclose(v_a, v_s, rtol=F64_TOL)
    for g_a, g_s in zip(grads_a, grads_s, strict=True):
        np.testing.assert_allclose(g_a, g_s, atol=F64_TOL)
    check_grads(
        jax.jit(lambda a, b, h0: linear_scan(a, b, h0, reverse=reverse, form="associative")),
        (a, b, h0), order=1, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6,
    )  # fmt: skip


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("cell", "lengths", "reverse", "parallel"), CASES[::3], ids=IDS[::3])
def test_gradients_match_central_differences_of_reference(cell, lengths, reverse, parallel):
    """d(loss)/d(every parameter), d(loss)/d(xs) and d(loss)/d(h0), float64."""
    p, xs, h0 = _setup(cell)
    rng = np.random.default_rng(0)  # loss = fixed random projection of every output
    proj = [(rng.normal(size=D_H), rng.normal(size=(T, D_H))) for _ in range(B)]

    def ref_loss(p_, xs_, h0_):
        outs = (_ref(cell, p_, xs_, h0_, lengths, reverse, b) for b in range(B))
        return sum((o * w).sum() for out, ws in zip(outs, proj) for o, w in zip(out, ws))

    def lib_loss(p_, xs_, h0_):
        outs = _scan(cell, p_, xs_, h0_, lengths, reverse, parallel)
        return sum((o[b] * w).sum() for b in range(B) for o, w in zip(outs, proj[b]))

    g_p, g_xs, g_h0 = jax.jit(jax.grad(lib_loss, argnums=(0, 1, 2)))(p, xs, h0)
    args = [np.asarray(xs), np.asarray(h0)]
    for name in p._fields:

        def f(v, name=name):
            return ref_loss(p._replace(**{name: v}), *args)

        num = ref.numerical_grad(f, getattr(p, name))
        np.testing.assert_allclose(getattr(g_p, name), num, atol=GRAD_TOL, rtol=GRAD_TOL)
    num_xs = ref.numerical_grad(lambda v: ref_loss(p, v, args[1]), args[0])
    np.testing.assert_allclose(g_xs, num_xs, atol=GRAD_TOL, rtol=GRAD_TOL)
    num_h0 = ref.numerical_grad(lambda v: ref_loss(p, args[0], v), args[1])
    np.testing.assert_allclose(g_h0, num_h0, atol=GRAD_TOL, rtol=GRAD_TOL)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("cell", CELLS)
def test_check_grads_forward_and_reverse_mode_second_order(cell):
    p, xs, h0 = _setup(cell)

    def f(p, xs, h0):
        return _scan(cell, p, xs, h0, LENGTHS, True, True)

    check_grads(f, (p, xs, h0), order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_jvp_of_parallel_equals_jvp_of_sequential(cell):
    p, xs, h0 = _setup(cell, dtype=jnp.float32, seed=3)
    tangents = jax.tree.map(jnp.ones_like, (p, xs, h0))

    def f(parallel):
        return lambda p, xs, h0: _scan(cell, p, xs, h0, LENGTHS, False, parallel)

    (out_p, dout_p), (out_s, dout_s) = jax.jit(  # both in one program
        lambda *a: [jax.jvp(f(parallel), a, tangents) for parallel in (True, False)]
    )(p, xs, h0)
    for a, b in zip((*out_p, *dout_p), (*out_s, *dout_s)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_batch_axes_vmap_jit_and_scan_of_steps(cell):
    p, xs, h0 = _setup(cell, dtype=jnp.float32)
    scan, step = CELLS[cell][2], jax.jit(CELLS[cell][1])  # the step: one program, every t
    xs, h0 = np.asarray(xs), np.asarray(h0)  # reshaped and sliced on the host
    h_T, hs = scan(p, xs.reshape(1, B, T, D_IN), h0.reshape(1, B, D_H))  # two batch axes
    v_T, v_hs = jax.vmap(lambda x, h: scan(p, x, h))(xs, h0)
    h, steps = h0, []
    for t in range(T):
        h, _ = step(p, h, xs[:, t])
        steps.append(h)
    for got in (h_T[0], v_T):
        np.testing.assert_allclose(got, h, atol=F32_TOL)
    for got in (hs[0], v_hs):
        np.testing.assert_allclose(got, np.stack(steps, 1), atol=F32_TOL)
    one_T, one_hs = scan(p, xs[0])  # no batch axis, zero initial state
    zero = np.zeros((1, D_H), np.float32)
    np.testing.assert_allclose(one_hs, np.asarray(scan(p, xs[:1], zero)[1])[0], atol=F32_TOL)
    assert one_T.shape == (D_H,)


@pytest.mark.parametrize("cell", CELLS)
def test_no_steps_passes_the_state_through(cell):
    p, _, h0 = _setup(cell, dtype=jnp.float32)
    h_T, hs = CELLS[cell][2](p, jnp.zeros((B, 0, D_IN)), h0)
    assert hs.shape == (B, 0, D_H)
    np.testing.assert_array_equal(h_T, h0)


@pytest.mark.parametrize("cell", CELLS)
def test_lower_precision_inputs_and_bfloat16_parameters(cell):
    """Inputs may be less precise than the parameters (as in lstm_scan, whose dtype check
    uses standard promotion); 16-bit parameters keep their dtype."""
    p, xs, h0 = _setup(cell, dtype=jnp.float32)
    with jax.numpy_dtype_promotion("standard"):
        h_T, hs = CELLS[cell][2](p, xs.astype(jnp.bfloat16), h0)
        assert hs.dtype == jnp.float32
        p16 = jax.tree.map(lambda a: a.astype(jnp.bfloat16), p)
        h_T16, hs16 = CELLS[cell][2](p16, xs.astype(jnp.bfloat16), h0.astype(jnp.bfloat16))
        assert hs16.dtype == h_T16.dtype == jnp.bfloat16
        np.testing.assert_allclose(hs16.astype(jnp.float32), hs, atol=0.1)
