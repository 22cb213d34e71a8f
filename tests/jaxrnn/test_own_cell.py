"""Proof of the cell contract: cells defined here, outside ``jaxrnn/``, get the machinery.

Three user cells, each a few lines of equations and registered with ``jaxrnn.register_cell``:

- the MGU (minimal gated unit, Zhou et al. 2016): nonlinear, generic loop, no extras;
- the IndRNN (Li et al. 2018): nonlinear, with its Jacobian diagonal for Newton;
- a diagonal linear recurrence ``h_t = a ⊙ h_{t-1} + B x_t`` with ``coefficients``, so
  ``method="parallel"`` evaluates every step at once.

Each gets, without touching ``jaxrnn/``: ``cell_scan`` (lengths, resets, reverse, batch axes,
``T = 0``, gradients), ``init_stack`` and ``stack`` (bidirectional, lengths), the Flax Linen
and NNX cells and stacks, the Equinox stack, decoding and Newton's method. Values are checked
against float64 NumPy loops of the same equations.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

import jaxrnn
from jaxrnn import Leaf

TOL = 1e-10  # float64 against the NumPy loops
TOL32 = 2e-5  # float32 paths (modules) against each other


# --- the user's cells --------------------------------------------------------------------------


class MGUParams(NamedTuple):
    f: jaxrnn.Gate
    h: jaxrnn.Gate


class MGU(jaxrnn.Cell):
    """f_t = σ(U_f x + W_f h + b_f), h~ = tanh(U_h x + W_h (f_t ⊙ h) + b_h),
    h_t = (1 - f_t) ⊙ h + f_t ⊙ h~."""

    name: ClassVar[str] = "test_mgu"
    params_type: ClassVar[type] = MGUParams

    def dims(self, params):
        d_h, d_in = params.f.U.shape
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in, d_h, **options):
        gate = jaxrnn.Gate(U=Leaf("input", (d_h, d_in)), W=Leaf("recurrent", (d_h, d_h)),
                           b=Leaf("bias", (d_h,)))  # fmt: skip
        return MGUParams(f=gate, h=gate)

    def step(self, params, h_prev, x_t):
        f, h = params.f, params.h
        f_t = jax.nn.sigmoid(x_t @ f.U.T + h_prev @ f.W.T + f.b)
        h_tilde = jnp.tanh(x_t @ h.U.T + (f_t * h_prev) @ h.W.T + h.b)
        h_t = (1 - f_t) * h_prev + f_t * h_tilde
        return h_t, h_t


class IndRNNParams(NamedTuple):
    U: Any
    u: Any
    b: Any


def _uniform_recurrent(key, shape, dtype):
    return jax.random.uniform(key, shape, dtype, -0.9, 0.9)


class IndRNN(jaxrnn.Cell):
    """h_t = tanh(U x_t + u ⊙ h_{t-1} + b)."""

    name: ClassVar[str] = "test_indrnn"
    params_type: ClassVar[type] = IndRNNParams

    def dims(self, params):
        d_h, d_in = params.U.shape
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in, d_h, **options):
        return IndRNNParams(U=Leaf("input", (d_h, d_in)),
                            u=Leaf("other", (d_h,), init=_uniform_recurrent),
                            b=Leaf("bias", (d_h,)))  # fmt: skip

    def step(self, params, h_prev, x_t):
        h_t = jnp.tanh(x_t @ params.U.T + params.u * h_prev + params.b)
        return h_t, h_t

    def jacobian_diagonal(self, params, h_prev, x_t):
        h_t = self.step(params, h_prev, x_t)[0]
        return (1 - h_t**2) * params.u


class DiagParams(NamedTuple):
    a: Any
    B: Any


class DiagLinear(jaxrnn.Cell):
    """h_t = a ⊙ h_{t-1} + B x_t, with |a| < 1."""

    name: ClassVar[str] = "test_diag"
    params_type: ClassVar[type] = DiagParams

    def dims(self, params):
        d_h, d_in = params.B.shape
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in, d_h, **options):
        return DiagParams(a=Leaf("other", (d_h,), init=_uniform_recurrent),
                          B=Leaf("input", (d_h, d_in)))  # fmt: skip

    def step(self, params, h_prev, x_t):
        h_t = params.a * h_prev + x_t @ params.B.T
        return h_t, h_t

    def coefficients(self, params, xs, resets=None):
        b = xs @ params.B.T
        return jnp.broadcast_to(params.a, b.shape), b


CELLS = [jaxrnn.register_cell(c) for c in (MGU(), IndRNN(), DiagLinear())]
IDS = [c.name for c in CELLS]


# --- float64 NumPy references ------------------------------------------------------------------


def _sig(z):
    return 1 / (1 + np.exp(-z))


def np_step(cell, p, h, x):
    p = jax.tree.map(np.asarray, p)
    if isinstance(cell, MGU):
        f = _sig(p.f.U @ x + p.f.W @ h + p.f.b)
        ht = np.tanh(p.h.U @ x + p.h.W @ (f * h) + p.h.b)
        return (1 - f) * h + f * ht
    if isinstance(cell, IndRNN):
        return np.tanh(p.U @ x + p.u * h + p.b)
    return p.a * h + p.B @ x


def np_scan(cell, p, xs, h0, length=None, resets=None, reverse=False):
    """One example: the loop, with padding past ``length`` and resets to ``h0``."""
    T = xs.shape[0]
    L = T if length is None else length
    order = range(L - 1, -1, -1) if reverse else range(L)
    if resets is not None and reverse:  # a segment restarts at its last step
        resets = np.concatenate([resets[1:], [False]])
    hs, h = np.zeros((T, h0.shape[0])), h0.copy()
    for t in order:
        if resets is not None and resets[t]:
            h = h0.copy()
        h = np_step(cell, p, h, xs[t])
        hs[t] = h
    return h, hs


@pytest.fixture(params=CELLS, ids=IDS)
def cell(request):
    return request.param


def _params(cell, key=0, d_in=3, d_h=4, dtype=jnp.float64):
    return cell.init(jax.random.key(key), d_in, d_h, dtype=dtype)


def _normal(seed, shape, dtype=np.float32):
    """Test data drawn by NumPy: no program compiled per shape."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --- the sequence rules ------------------------------------------------------------------------


def test_cell_scan_matches_the_loop_with_lengths_resets_and_reverse(cell, x64):
    p = _params(cell)
    B, T = 3, 7
    xs = _normal(1, (B, T, 3), np.float64)
    h0 = _normal(2, (B, 4), np.float64) * 0.5
    lengths = np.array([7, 4, 0])
    resets = np.zeros((B, T), bool)
    resets[0, 3] = resets[1, 1] = resets[0, 0] = True
    # (method, reverse): both directions of the loop and the parallel form; Newton reversed
    # (the harder case: padding met first)
    runs = [("sequential", False), ("sequential", True), ("newton", True),
            ("newton-diagonal", True)]  # fmt: skip
    runs += [("parallel", False), ("parallel", True)] if cell.coefficients is not None else []

    @jax.jit  # every run compiled as one program
    def calls(p, xs, h0):
        return [jaxrnn.cell_scan(p, xs, h0, lengths=lengths, resets=resets, reverse=reverse,
                                 method=method) for method, reverse in runs]  # fmt: skip

    for (method, reverse), (h_T, hs) in zip(runs, calls(p, xs, h0), strict=True):
        for b in range(B):
            want_T, want = np_scan(cell, p, xs[b], h0[b], lengths[b], resets[b], reverse)
            np.testing.assert_allclose(hs[b], want, atol=1e-9, err_msg=f"{method} {reverse}")
            np.testing.assert_allclose(h_T[b], want_T, atol=1e-9, err_msg=method)


def test_resets_equal_separate_calls_per_segment(cell, x64):
    p = _params(cell)
    xs = _normal(1, (9, 3), np.float64)
    resets = np.zeros(9, bool)
    resets[4] = True
    # reversed (each segment on its own); forward resets: the test above
    _, hs = jaxrnn.cell_scan(p, xs, resets=resets, reverse=True)
    _, first = jaxrnn.cell_scan(p, xs[:4], reverse=True)
    _, second = jaxrnn.cell_scan(p, xs[4:], reverse=True)
    np.testing.assert_allclose(hs, np.concatenate([first, second]), atol=TOL)


def test_batch_axes_empty_sequences_and_gradients(cell, x64):
    p = _params(cell)
    xs = _normal(1, (2, 3, 5, 3), np.float64)
    h_T, hs = jaxrnn.cell_scan(p, xs)
    assert hs.shape == (2, 3, 5, 4) and h_T.shape == (2, 3, 4)
    h0 = jnp.ones((2, 4))
    h_T, hs = jaxrnn.cell_scan(p, jnp.zeros((2, 0, 3)), h0)
    assert hs.shape == (2, 0, 4) and bool((h_T == h0).all())
    jax.test_util.check_grads(
        lambda p: jaxrnn.cell_scan(p, xs[0])[1].sum(), (p,), order=1, modes=["rev", "fwd"]
    )


def test_stack_init_stack_bidirectional_and_lengths(cell, x64):
    params = jaxrnn.init_stack(jax.random.key(0), cell.name, 3, 4, num_layers=2,
                               bidirectional=True, param_dtype=jnp.float64)  # fmt: skip
    assert isinstance(params[1].fwd, cell.params_type)
    xs = _normal(1, (2, 6, 3), np.float64)
    lengths = np.array([6, 3])
    finals, out = jaxrnn.stack(params, xs, seq_lengths=lengths)
    assert out.shape == (2, 6, 8)
    # by hand: layer 0 both directions, concat, layer 1
    f = jaxrnn.cell_scan(params[0].fwd, xs, lengths=lengths)[1]
    b = jaxrnn.cell_scan(params[0].bwd, xs, lengths=lengths, reverse=True)[1]
    h = jnp.concatenate([f, b], -1)
    f = jaxrnn.cell_scan(params[1].fwd, h, lengths=lengths)
    b = jaxrnn.cell_scan(params[1].bwd, h, lengths=lengths, reverse=True)
    np.testing.assert_allclose(out, jnp.concatenate([f[1], b[1]], -1), atol=TOL)
    np.testing.assert_allclose(finals[1].bwd, b[0], atol=TOL)


def test_decoding(cell):
    p = _params(cell, dtype=jnp.float32)
    E, V = jnp.asarray(_normal(3, (6, 3))), jnp.asarray(_normal(4, (6, 4)))
    step = jaxrnn.decode.make_step_fn(E, p, V, jnp.zeros(6))
    out = jaxrnn.greedy_decode(step, jnp.zeros((2, 4)), 1, max_len=5, end_token=0)
    # the first token is the argmax after one step from the start token
    h1 = cell.step(p, jnp.zeros((2, 4)), E[jnp.array([1, 1])])[0]
    assert (out.tokens[:, 0] == jnp.argmax(h1 @ V.T, -1)).all()


# --- the framework modules ---------------------------------------------------------------------


def test_linen_cell_and_stack(cell):
    nn = pytest.importorskip("flax.linen")
    from jaxrnn.linen import RecurrentCell, Stack, layer_params

    xs = _normal(1, (2, 5, 3))
    layer = nn.RNN(RecurrentCell(4, cell=cell.name))
    variables = layer.init(jax.random.key(0), xs)
    p = layer_params(variables["params"]["cell"])
    assert isinstance(p, cell.params_type)
    np.testing.assert_allclose(layer.apply(variables, xs), jaxrnn.cell_scan(p, xs)[1],
                               atol=TOL32)  # fmt: skip
    model = Stack(4, cell=cell, num_layers=2, bidirectional=True)
    variables = model.init(jax.random.key(0), xs)
    finals, out = model.apply(variables, xs, jnp.array([5, 2]))
    layers = tuple(layer_params(variables, l) for l in range(2))
    want = jaxrnn.stack(layers, xs, seq_lengths=jnp.array([5, 2]))[1]
    np.testing.assert_allclose(out, want, atol=TOL32)


def test_nnx_cell_and_stack(cell):
    nnx = pytest.importorskip("flax.nnx")
    from jaxrnn.nnx import RecurrentCell, Stack, layer_params

    xs = _normal(1, (2, 5, 3))
    rnn_cell = RecurrentCell(3, 4, cell=cell.name, rngs=nnx.Rngs(0))
    out = nnx.RNN(rnn_cell)(xs)
    np.testing.assert_allclose(out, jaxrnn.cell_scan(rnn_cell.params(), xs)[1], atol=TOL32)
    model = Stack(3, 4, cell=cell, num_layers=2, rngs=nnx.Rngs(0))
    layers = tuple(layer_params(model, l) for l in range(2))
    np.testing.assert_allclose(model(xs)[1], jaxrnn.stack(layers, xs)[1], atol=TOL32)


def test_equinox_stack(cell):
    pytest.importorskip("equinox")
    from jaxrnn.equinox import Stack

    model = Stack(cell.name, 3, 4, num_layers=2, key=jax.random.key(0))
    assert isinstance(model.layers[0], cell.params_type)
    xs = _normal(1, (5, 3))
    np.testing.assert_allclose(model(xs)[1], jaxrnn.stack(model.layers, xs)[1], atol=TOL32)


def test_registry_errors():
    with pytest.raises(TypeError, match="expected a jaxrnn.Cell"):
        jaxrnn.register_cell(object())
    with pytest.raises(ValueError, match="expected cell to be one of"):
        jaxrnn.get_cell("no such cell")
    with pytest.raises(TypeError, match="register a new family with jaxrnn.register_cell"):
        jaxrnn.cell_scan((jnp.ones(3),), jnp.ones((2, 3)))
    assert jaxrnn.get_cell("test_mgu") is CELLS[0]
    assert jaxrnn.cell_for(_params(CELLS[0], dtype=jnp.float32)) is CELLS[0]


def test_parameter_checks_come_from_the_layout():
    p = _params(CELLS[0], dtype=jnp.float32)
    bad = p._replace(h=p.h._replace(W=jnp.ones((4, 5))))
    with pytest.raises(ValueError, match=r"cell_scan: expected params.h.W to have shape \(4, 4\)"):
        jaxrnn.cell_scan(bad, jnp.ones((2, 3)))
    with pytest.raises(TypeError, match=r"expected params.h to be a jaxrnn.Gate, got tuple"):
        jaxrnn.cell_scan(p._replace(h=tuple(p.h)), jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"expected carry0 to have shape \(2, 4\)"):
        jaxrnn.cell_scan(p, jnp.ones((2, 5, 3)), jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="method='parallel' needs a cell that is linear"):
        jaxrnn.cell_scan(p, jnp.ones((2, 5, 3)), method="parallel")
