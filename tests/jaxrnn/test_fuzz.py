"""Fuzzing the public sequence functions: for random shapes, dtypes and lengths,
``rnn_scan`` / ``lstm_scan`` either return finite values of the documented shapes or raise
the documented ``ValueError`` / ``TypeError`` with an "expected ..., got ..." message."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxrnn

FLOATS = ["float32", "bfloat16", "float16"]
OTHERS = ["int32", "bool"]


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["rnn", "lstm"]))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    T = draw(st.integers(1, 6))
    d_in, d_h, d_out = (draw(st.integers(1, 4)) for _ in range(3))
    param_dtype = draw(st.sampled_from(FLOATS))
    x_dtype = draw(st.sampled_from(FLOATS + OTHERS))
    x_d_in = draw(st.sampled_from([d_in, d_in, d_in, d_in + 1]))  # mostly right
    x_rank_cut = draw(st.sampled_from([0, 0, 0, 1]))  # sometimes drop the time axis
    lengths_kind = draw(st.sampled_from(["none", "valid", "valid", "wrong_shape", "float"]))
    reverse = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return SimpleNamespace(
        kind=kind, batch=batch, T=T, d_in=d_in, d_h=d_h, d_out=d_out, param_dtype=param_dtype,
        x_dtype=x_dtype, x_d_in=x_d_in, x_rank_cut=x_rank_cut, lengths_kind=lengths_kind,
        reverse=reverse, seed=seed,
    )  # fmt: skip


def _expected_failure(shape, d_in, param_dtype, x_dtype, lengths_kind):
    """The documented error for this case, or None when it must succeed."""
    if len(shape) < 2 or shape[-1] != d_in:
        return ValueError  # no time axis, or d_in does not match params.U
    if x_dtype in OTHERS:
        return TypeError
    if jnp.result_type(x_dtype, param_dtype) != jnp.dtype(param_dtype):
        return TypeError  # inputs more precise than the parameters
    return {"wrong_shape": ValueError, "float": TypeError}.get(lengths_kind)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_scans_return_finite_values_or_raise_documented_errors(case):
    c = case
    kind, batch, T, d_in, d_h, d_out = c.kind, c.batch, c.T, c.d_in, c.d_h, c.d_out
    k_p, k_x, k_l = jax.random.split(jax.random.key(c.seed), 3)
    if kind == "rnn":
        params = jaxrnn.init_rnn_params(k_p, d_in, d_h, d_out, dtype=c.param_dtype)
        fn = jaxrnn.rnn_scan
    else:
        params = jaxrnn.init_lstm_params(k_p, d_in, d_h, dtype=c.param_dtype)
        fn = jaxrnn.lstm_scan
    shape = (*batch, T, c.x_d_in)
    if c.x_rank_cut:
        shape = (*batch[:-1], T, c.x_d_in) if batch else (c.x_d_in,)
    xs = (3 * jax.random.normal(k_x, shape)).astype(c.x_dtype)
    lead = shape[:-2]
    lengths = {
        "none": None,
        "valid": jax.random.randint(k_l, lead, 0, T + 2),  # lengths > T mean "all valid"
        "wrong_shape": jnp.zeros((*lead, 2), jnp.int32),
        "float": jnp.ones(lead, jnp.float32),
    }[c.lengths_kind]

    expected = _expected_failure(shape, d_in, c.param_dtype, c.x_dtype, c.lengths_kind)
    if expected is not None:
        with pytest.raises(expected, match=r"expected .*got"):
            fn(params, xs, lengths=lengths, reverse=c.reverse)
        return
    out = fn(params, xs, lengths=lengths, reverse=c.reverse)
    leaves = jax.tree.leaves(out)
    for leaf in leaves:
        assert leaf.dtype == jnp.dtype(c.param_dtype)
        assert np.isfinite(np.asarray(leaf, np.float32)).all()
    if kind == "rnn":
        s_T, ss, logits = out
        assert (s_T.shape, ss.shape, logits.shape) == (
            (*lead, d_h),
            (*lead, T, d_h),
            (*lead, T, d_out),
        )
    else:
        state_T, hs = out
        assert (state_T.h.shape, state_T.C.shape, hs.shape) == (
            (*lead, d_h),
            (*lead, d_h),
            (*lead, T, d_h),
        )
