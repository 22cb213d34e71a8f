"""Tests that pin implementation details of the loops, not behaviour.

Everything here looks inside: loop counts and scan lengths in a jaxpr, the lowered
StableHLO per platform, private constants monkeypatched (``jaxrnn._src.loops.common.CHUNK_STEPS``)
or private functions counted (``jaxrnn._src.loops.lstm._lstm_loop``). A refactor of
``jaxrnn/_loops/`` or ``jaxrnn/scan.py`` that keeps every behaviour may break them: then
update or delete them here, deliberately. Behaviour is tested in the other files.
"""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import pytest

import jaxrnn
from tests.jaxrnn import test_gru_loop as gru
from tests.jaxrnn import test_scan_fast as fast
from tests.jaxrnn import test_scan_lowp as lowp

pytestmark = pytest.mark.usefixtures("strict_promotion")


# --- the body is traced once; the program does not grow with T -----------------------------


def _walk_eqns(jaxpr):
    for eqn in jaxpr.eqns:
        yield eqn
        for v in eqn.params.values():
            for sub in v if isinstance(v, (tuple, list)) else (v,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    yield from _walk_eqns(inner)


def test_lstm_body_is_traced_once_and_program_size_does_not_grow_with_T(monkeypatch):
    p = jaxrnn.init_lstm_params(jax.random.key(0), 5, 7)
    traced = []
    real = jaxrnn._src.loops.lstm._lstm_loop

    def counting(*args, **kwargs):
        traced.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(jaxrnn._src.loops.lstm, "_lstm_loop", counting)
    jaxrnn.lstm_scan.clear_cache()
    sizes = {}
    for steps in (100, 1000):
        before = len(traced)
        xs = jnp.ones((steps, 5))
        jaxrnn.lstm_scan(p, xs)[1].block_until_ready()
        assert len(traced) - before == 1, "the step body must be traced once per shape"
        jaxrnn.lstm_scan(p, xs)[1].block_until_ready()
        assert len(traced) - before == 1, "a second call with the same shape must not retrace"
        eqns = list(_walk_eqns(jax.make_jaxpr(lambda x: jaxrnn.lstm_scan(p, x))(xs).jaxpr))
        scans = [e for e in eqns if e.primitive.name == "scan"]
        # every platform's branch is staged out: on CPU the forward loop runs in chunks (an
        # outer scan over chunks around an inner one), elsewhere as one scan over all steps
        lengths = sorted(e.params["length"] for e in scans)
        assert len(scans) == 3 and lengths[-1] == steps and math.prod(lengths[:-1]) == steps
        sizes[steps] = len(eqns)
    jaxrnn.lstm_scan.clear_cache()
    assert sizes[100] == sizes[1000]


def test_the_compiled_program_does_not_grow_with_T():
    """Forward+backward lowers to the same program, up to sizes, at T=100 and T=5000."""
    p = jaxrnn.init_lstm_params(jax.random.key(0), 8, 16)

    def loss(p, xs):
        return jaxrnn.lstm_scan(p, xs)[1].sum()

    def program(steps):
        text = jax.jit(jax.grad(loss)).lower(p, jnp.ones((2, steps, 8))).as_text()
        return re.sub(r"\d+", "N", text)

    assert program(100) == program(5000)


# --- the forward loop in chunks on CPU (monkeypatched chunk limits) --------------------------


@pytest.fixture
def chunks_of_2(monkeypatch):
    """Run the forward loops with at most 3 steps per chunk (T=8: 4 chunks of 2)."""
    monkeypatch.setattr(jaxrnn._src.loops.common, "CHUNK_STEPS", 3)
    monkeypatch.setattr(jaxrnn._src.loops.rnn, "MIN_STEP_BYTES", 0)
    for f in (jaxrnn.lstm_scan, jaxrnn.rnn_scan):
        f.clear_cache()
    yield
    for f in (jaxrnn.lstm_scan, jaxrnn.rnn_scan):
        f.clear_cache()


@pytest.mark.usefixtures("x64", "chunks_of_2")
@pytest.mark.parametrize("kind", ["lstm", "rnn"])
@pytest.mark.parametrize("lengths", [None, fast.LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_chunked_forward_equals_the_step_loop_float64(kind, lengths, reverse):
    p, xs, state0 = fast._setup(kind, jnp.float64)
    lengths = None if lengths is None else jnp.array(lengths)
    fast._close(
        fast._fast(kind, p, xs, state0, lengths, reverse, unroll=2),
        fast._reference(kind, p, xs, state0, lengths, reverse),
        fast.F64_TOL,
    )


def _loops(kind):
    """The forward pass's scan lengths (its jaxpr holds every platform's branch) and its
    number of while loops when lowered for CPU and for CUDA (no GPU needed)."""
    p, xs, state0 = fast._setup(kind, jnp.float32)
    fn = jax.jit(lambda x: fast._fast(kind, p, x, state0, None, False))
    lengths = sorted(int(n) for n in re.findall(r"length=(\d+)", str(jax.make_jaxpr(fn)(xs))))
    whiles = {
        pl: jax.export.export(fn, platforms=[pl])(xs).mlir_module().count("stablehlo.while")
        for pl in ("cpu", "cuda")
    }
    return lengths, whiles


@pytest.mark.usefixtures("chunks_of_2")
@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_the_fixture_really_chunks_the_forward_loop_on_cpu_only(kind):
    # CPU: an outer loop over 4 chunks of 2 steps; other platforms: one loop of 8 steps
    assert _loops(kind) == ([2, fast.T // 2, fast.T], {"cpu": 2, "cuda": 1})


def test_narrow_rnn_steps_run_as_one_chunk_and_lstm_steps_in_chunks(monkeypatch):
    monkeypatch.setattr(jaxrnn._src.loops.common, "CHUNK_STEPS", 3)
    for f in (jaxrnn.lstm_scan, jaxrnn.rnn_scan):
        f.clear_cache()
    # 8 x 5 floats a step: far below the RNN's minimum
    assert _loops("rnn") == ([fast.T], {"cpu": 1, "cuda": 1})
    assert _loops("lstm") == ([2, fast.T // 2, fast.T], {"cpu": 2, "cuda": 1})
    for f in (jaxrnn.lstm_scan, jaxrnn.rnn_scan):
        f.clear_cache()


def test_chunk_len_is_the_largest_divisor_within_both_limits():
    assert jaxrnn._src.loops.common.chunk_len(8, 1, 1 << 20) == 8
    assert jaxrnn._src.loops.common.chunk_len(7, 1 << 20, 1 << 20) == 1


# --- 16-bit floats: what each platform's lowering computes in -------------------------------


@pytest.mark.parametrize("shape", [(lowp.B, lowp.T), (32, 200)], ids=["one-chunk", "chunked"])
def test_float32_is_not_widened_or_wrapped(shape):
    p, _, _, _ = lowp._inputs(jnp.float32)
    xs = jnp.ones((*shape, lowp.D_IN), jnp.float32)
    jaxpr = str(jax.make_jaxpr(lambda p, xs: jaxrnn.lstm_scan(p, xs))(p, xs))
    assert "convert_element_type" not in jaxpr
    # a platform switch only where the CPU chunks the forward pass's input projection
    assert ("platform_index" in jaxpr) == (shape != (lowp.B, lowp.T))


@pytest.mark.parametrize("platform,dot_dtype", [("cpu", "f32"), ("cuda", "bf16"), ("tpu", "bf16")])
def test_only_cpu_lowering_widens_bfloat16(platform, dot_dtype):
    """Lowered for each platform without its hardware (``jax.export``): the loop's products."""
    p, _, xs, _ = lowp._inputs(jnp.bfloat16)
    fn = jax.jit(lambda p, xs: jaxrnn.lstm_scan(p, xs)[1])
    text = jax.export.export(fn, platforms=[platform])(p, xs).mlir_module()
    results = re.findall(r"stablehlo\.dot_general.*-> tensor<[0-9x]*x(\w+)>", text)
    assert results and set(results) == {dot_dtype}


# --- the GRU's loop (jaxrnn._src.loops.gru) ------------------------------------------------------

GRU_VARIANTS = pytest.mark.parametrize("reset_after", [True, False], ids=["after", "before"])


@pytest.mark.usefixtures("x64")
@GRU_VARIANTS
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_gru_chunked_forward_equals_the_step_loop_float64(monkeypatch, reset_after, reverse):
    monkeypatch.setattr(jaxrnn._src.loops.common, "CHUNK_STEPS", 3)  # T=8: 4 chunks of 2 on CPU
    jaxrnn.gru_scan.clear_cache()
    p, xs, h0 = gru._setup(jnp.float64)
    lengths = jnp.array(gru.LENGTHS)
    gru._close(
        gru._fast(p, xs, h0, lengths, reverse, reset_after, unroll=2),
        gru._reference(p, xs, h0, lengths, reverse, reset_after),
        gru.F64_TOL,
    )
    jaxrnn.gru_scan.clear_cache()


@GRU_VARIANTS
def test_gru_loop_is_traced_once_and_program_size_does_not_grow_with_T(monkeypatch, reset_after):
    """Compile time flat in T, measured by what is compiled: trace counts and jaxpr size."""
    name = "_after_loop" if reset_after else "_before_loop"
    real, traced = getattr(jaxrnn._src.loops.gru, name), []

    def counting(*args, **kwargs):
        traced.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(jaxrnn._src.loops.gru, name, counting)
    jaxrnn.gru_scan.clear_cache()
    p = jaxrnn.init_gru_params(jax.random.key(0), gru.D_IN, gru.D_H)

    def loss(p, x):
        return gru._scalar(jaxrnn.gru_scan(p, x, reset_after=reset_after))

    sizes = {}
    for steps in (100, 1000):
        xs = jnp.ones((steps, gru.D_IN))
        before = len(traced)
        jaxrnn.gru_scan(p, xs, reset_after=reset_after)[1].block_until_ready()
        jaxrnn.gru_scan(p, xs, reset_after=reset_after)[1].block_until_ready()
        assert len(traced) - before == 1, "traced once per shape, never again"
        jaxpr = jax.make_jaxpr(jax.grad(loss))(p, xs).jaxpr
        sizes[steps] = len(list(_walk_eqns(jaxpr)))
    jaxrnn.gru_scan.clear_cache()
    assert sizes[100] == sizes[1000]


# --- options reach the loops ---------------------------------------------------------------

UNROLL_RUNS = ["stack-lstm", "stack-gru", "stack-rnn", "linen-gru", "linen", "nnx", "equinox"]


@pytest.mark.parametrize("run", UNROLL_RUNS)
def test_unroll_reaches_the_loop(run):
    """``unroll`` from stack and every module reaches every scan (forward and backward)."""
    options = pytest.importorskip("tests.jaxrnn.test_module_options")  # needs flax, equinox
    make = {
        "stack-lstm": options._stack_run,
        "stack-gru": lambda: options._stack_run("gru"),
        "stack-rnn": lambda: options._stack_run("rnn"),
        "linen-gru": options._gru_run,
        "linen": options._linen_run,
        "nnx": options._nnx_run,
        "equinox": options._equinox_run,
    }[run]
    fn = make()
    forward = options._scan_unrolls(jax.make_jaxpr(fn)(options.XS).jaxpr)
    assert forward and set(forward) == {options.UNROLL}, forward
    backward = options._scan_unrolls(
        jax.make_jaxpr(jax.grad(lambda x: fn(x).sum()))(options.XS).jaxpr
    )
    assert set(backward) == {options.UNROLL}, backward


# --- the min cells' sequential scan (parallel=False) ----------------------------------------


@pytest.mark.parametrize("scan", [jaxrnn.mingru_scan, jaxrnn.minlstm_scan], ids=["mingru", "minlstm"])
def test_min_sequential_scan_transposes_its_weights_outside_the_loop(scan):
    # XLA's CPU backend multiplied by a transposed operand at every step when the step
    # transposed U_g itself (5-6x slower forward at B = 1, docs/minrnn.md).
    init = jaxrnn.init_mingru_params if scan is jaxrnn.mingru_scan else jaxrnn.init_minlstm_params
    p = init(jax.random.key(0), 5, 7)
    jaxpr = jax.make_jaxpr(lambda x: scan(p, x, parallel=False))(jnp.ones((2, 9, 5))).jaxpr
    scans = [e for e in _walk_eqns(jaxpr) if e.primitive.name == "scan"]
    assert len(scans) == 1, [e.primitive.name for e in _walk_eqns(jaxpr)]
    body = [e.primitive.name for e in _walk_eqns(scans[0].params["jaxpr"].jaxpr)]
    assert "dot_general" in body and "transpose" not in body, body
