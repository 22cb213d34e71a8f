"""The sequence rules, written once and held for every registered cell (and every method).

For each cell of ``jaxrnn.cell_names()`` (a family registered later is covered by
registering it), in float64, through ``jaxrnn.cell_scan`` and ``jaxrnn.stack``:

- the padding law: what padding steps hold never changes the valid outputs or the final
  carry, and a padding step holds the carry;
- resets equal separate calls per segment, forward and reverse (each segment reversed on
  its own), together with lengths;
- streaming: a sequence cut into chunks, each run from the previous chunk's final carry
  (``reset_carry`` = the stream's initial carry, so that resets inside chunks restart
  from it), gives the whole pass's outputs, final carry and gradients.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

TOL = 1e-10  # float64, the same arithmetic in another order
B, T, D_IN, D_H = 2, 9, 3, 4
LENGTHS = np.array([9, 6])
RESETS = np.zeros((B, T), bool)
RESETS[0, 4] = RESETS[1, 2] = RESETS[1, 3] = True


def cells() -> list[str]:
    """Every registered cell but the test modules' own (``test_*``)."""
    return [n for n in jaxrnn.cell_names() if not n.startswith("test_")]


def methods(cell: jaxrnn.Cell) -> list[str]:
    out = ["sequential"]
    if cell.coefficients is not None:
        out.append("parallel")
    return out


@pytest.fixture(params=cells())
def cell(request):
    return jaxrnn.get_cell(request.param)


def sizes(cell) -> tuple[int, int]:
    """``(D_IN, D_H)``, or ``(8, 8)`` for a cell that maps ``d -> d`` (a layer with a
    residual width, heads): the rules do not depend on the sizes."""
    try:  # traced only: the check is on the sizes, and nothing is compiled
        jax.eval_shape(lambda: cell.init(jax.random.key(0), D_IN, D_H))
    except ValueError:
        return 8, 8
    return D_IN, D_H


@functools.cache
def _params(name):
    """The cell's parameters, one draw per cell shared by the tests (the rules hold for any)."""
    cell = jaxrnn.get_cell(name)
    d_in, d_h = sizes(cell)
    p = jax.device_get(cell.init(jax.random.key(0), d_in, d_h, dtype=jnp.float64))
    # non-zero biases, so that a zero input does not give a zero step
    rng = np.random.default_rng(0)
    return jax.tree.map(lambda a: a + 0.1 * _normal(rng, a.shape, a.dtype) if a.ndim == 1 else a,
                        p)  # fmt: skip


def _normal(rng, shape, dtype):
    """Standard normal draws from NumPy (no program compiled per shape); complex ones have
    unit variance as ``jax.random.normal``'s."""
    if np.issubdtype(dtype, np.complexfloating):
        z = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    else:
        z = rng.standard_normal(shape)
    return z.astype(dtype)


def _setup(cell, seed=0):
    rng = np.random.default_rng(seed)
    p = _params(cell.name)
    xs = _normal(rng, (B, T, sizes(cell)[0]), np.float64)
    shapes = jax.eval_shape(lambda: cell.initial_carry(cell.dims(p), (B,), jnp.float64))
    carry0 = jax.tree.map(lambda c: 0.3 * _normal(rng, c.shape, c.dtype), shapes)
    return p, xs, carry0


def _close(a, b, tol=TOL):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=tol, rtol=tol)


def _row(tree, b):
    return jax.tree.map(lambda a: a[b], tree)


@pytest.mark.usefixtures("x64")
def test_padding_law(cell):
    p, xs, c0 = _setup(cell)
    xs_np = np.asarray(xs)
    garbage = np.where(np.arange(T)[None, :, None] < LENGTHS[:, None, None], xs_np, 1e3)
    L = int(LENGTHS[1])
    runs = [(method, reverse) for method in methods(cell) for reverse in (False, True)]

    @jax.jit  # every call of every run compiled as one program
    def calls(p, xs, garbage, c0):
        out = []
        for method, reverse in runs:
            a = jaxrnn.cell_scan(p, xs, c0, lengths=LENGTHS, reverse=reverse, method=method)
            g = jaxrnn.cell_scan(p, garbage, c0, lengths=LENGTHS, reverse=reverse,
                                 method=method)  # fmt: skip
            # the valid part alone gives the same valid outputs and final carry
            alone = jaxrnn.cell_scan(p, xs[1:, :L], _row(c0, slice(1, 2)), reverse=reverse,
                                     method=method)  # fmt: skip
            out.append((a, g, alone))
        return out

    for a, g, alone in jax.device_get(calls(p, xs, garbage, c0)):
        _close(a, g)
        _close(_row(a[0], slice(1, 2)), alone[0])
        _close(a[1][1:, :L], alone[1])
        assert float(np.abs(a[1][1, L:]).max()) == 0.0  # padding emits zeros


def _segments(reverse: bool, own_rule_cell: bool) -> list[tuple[int, int, int, bool]]:
    """``(row, start, end, own_rule)`` of every segment that RESETS and LENGTHS cut."""
    out = []
    for b in range(B):
        L = int(LENGTHS[b])
        starts = [0, *(t for t in range(1, L) if RESETS[b, t]), L]
        for s, e in zip(starts[:-1], starts[1:]):
            own_rule = own_rule_cell and (e < L if reverse else s > 0)
            if own_rule and reverse:
                # A cell with its own reset rule (the RG-LRU: h_t = i_t x_t) applies it where
                # a segment is entered; reversed, that is the segment's last step, which a
                # call of its own cannot flag (test_rglru.py holds it against the float64
                # reference).
                continue
            out.append((b, s, e, own_rule))
    return out


@pytest.mark.usefixtures("x64")
def test_resets_equal_separate_calls_per_segment(cell):
    p, xs, c0 = _setup(cell, seed=1)
    runs = [(method, reverse) for method in methods(cell) for reverse in (False, True)]
    segs = {rev: _segments(rev, cell.reset_rule == "cell") for rev in (False, True)}

    @jax.jit  # every call of every run compiled as one program
    def calls(p, xs, c0):
        out = []
        for method, reverse in runs:
            _, ys = jaxrnn.cell_scan(p, xs, c0, lengths=LENGTHS, resets=RESETS,
                                     reverse=reverse, method=method)  # fmt: skip
            # The separate calls, one per segment, as the rows of one batch: each segment at
            # the start of its row, its length as the row's length (the padding law, tested
            # above, makes a padded row the same call as the segment alone). Forward, a call
            # flags its first step: the cell's own rule there, and for the others a restart
            # from the initial carry it reads anyway.
            rows = jnp.stack([jnp.pad(xs[b, s:e], ((0, T - (e - s)), (0, 0)))
                              for b, s, e, _ in segs[reverse]])  # fmt: skip
            flags = np.zeros((len(segs[reverse]), T), bool)
            flags[:, 0] = [own for *_, own in segs[reverse]]
            c0_rows = _row(c0, np.array([b for b, *_ in segs[reverse]]))
            lengths = np.array([e - s for _, s, e, _ in segs[reverse]])
            _, sep = jaxrnn.cell_scan(p, rows, c0_rows, lengths=lengths,
                                      resets=flags if flags.any() else None, reverse=reverse,
                                      method=method)  # fmt: skip
            out.append((ys, sep))
        return out

    for (_, reverse), (ys, sep) in zip(runs, jax.device_get(calls(p, xs, c0)), strict=True):
        for i, (b, s, e, _) in enumerate(segs[reverse]):
            _close(ys[b, s:e], sep[i, : e - s])


@pytest.mark.usefixtures("x64")
def test_streaming_in_chunks_equals_the_whole_pass(cell):
    p, xs, c0 = _setup(cell, seed=2)
    # chunks of 3 and 6 steps: resets inside both, one on the first step of the second (row
    # 1, t=3), and row 1's length ends inside the second
    cuts = [0, 3, T]

    def whole(p, xs, c0):
        return jaxrnn.cell_scan(p, xs, c0, lengths=LENGTHS, resets=RESETS)

    def chunked(p, xs, c0):
        carry, outs = c0, []
        for s, e in zip(cuts[:-1], cuts[1:]):
            lengths = np.clip(LENGTHS - s, 0, e - s)
            carry, ys = jaxrnn.cell_scan(p, xs[:, s:e], carry, lengths=lengths,
                                         resets=RESETS[:, s:e], reset_carry=c0)  # fmt: skip
            outs.append(ys)
        return carry, jnp.concatenate(outs, axis=1)

    def loss(fn):
        def f(p, xs, c0):
            carry, ys = fn(p, xs, c0)
            # |c|^2: a complex carry (the LRU's) still gives a real loss
            return (ys**2).sum() + sum((jnp.abs(c) ** 2).sum() for c in jax.tree.leaves(carry))

        return f

    @jax.jit  # both passes and both gradients compiled as one program
    def calls(p, xs, c0):
        return [(fn(p, xs, c0), jax.grad(loss(fn), argnums=(0, 1, 2))(p, xs, c0))
                for fn in (chunked, whole)]  # fmt: skip

    (out_chunks, g_chunks), (out_whole, g_whole) = jax.device_get(calls(p, xs, c0))
    _close(out_chunks, out_whole)
    _close(g_chunks, g_whole, tol=1e-8)


@pytest.mark.usefixtures("x64")
def test_stack_streams_and_passes_resets(cell):
    d_in, d_h = sizes(cell)
    layers = jaxrnn.init_stack(jax.random.key(3), cell.name, d_in, d_h, num_layers=2,
                               param_dtype=jnp.float64)  # fmt: skip
    xs = jnp.asarray(_normal(np.random.default_rng(4), (B, T, d_in), np.float64))
    finals, out = jaxrnn.stack(layers, xs, seq_lengths=LENGTHS, resets=RESETS)
    # layer by layer: the stack is the cells' scans with the same rules
    h = xs
    for layer in layers:
        _, h = jaxrnn.cell_scan(layer, h, lengths=LENGTHS, resets=RESETS)
        if jaxrnn.cell_for(layer).readout is not None and layer is layers[-1]:
            h = jaxrnn.cell_for(layer).readout(layer, h) * (
                jnp.arange(T) < LENGTHS[:, None])[..., None]
    _close(out, h)
    carry, outs = None, []
    for s, e in ((0, 4), (4, T)):
        lengths = np.clip(LENGTHS - s, 0, e - s)
        carry, o = jaxrnn.stack(layers, xs[:, s:e], carry, seq_lengths=lengths,
                                resets=RESETS[:, s:e], reset_carry=(None, None))  # fmt: skip
        outs.append(o)
    _close(jnp.concatenate(outs, axis=1), out)
    _close(carry, finals)
