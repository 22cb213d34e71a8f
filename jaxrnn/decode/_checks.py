"""Trace-time validation for the decoders and the step builders of ``jaxrnn.decode``.

Runs once, in plain Python, while a decoder is traced: shapes, static ints, token ids,
keys and temperatures, with errors that say what was expected and what came.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn._src import checks
from jaxrnn._src.typing import Array


def _check_token_id(value: Any, name: str, where: str, n_vocab: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: expected {name} to be an int >= 0, got {value!r}")
    if n_vocab is not None and value >= n_vocab:
        raise ValueError(
            f"{where}: expected {name} < n_vocab = {n_vocab} (from step_fn's logits), got {value}"
        )


def _batch_size(carry0: Any, start: Array, where: str) -> int:
    """``B`` from per-example start tokens, else from the carry's leading axis."""
    leaves = jax.tree.leaves(carry0)
    if start.ndim == 1:
        B = start.shape[0]
    elif not leaves or any(getattr(x, "ndim", 0) == 0 for x in leaves):
        raise ValueError(
            f"{where}: expected start_tokens of shape (B,) when the carry has no batch "
            f"axis to read B from, got shape {tuple(start.shape)}"
        )
    else:
        B = leaves[0].shape[0]
    for path, leaf in jax.tree_util.tree_flatten_with_path(carry0)[0]:
        shape = tuple(getattr(leaf, "shape", ()))
        if not shape or shape[0] != B:
            raise ValueError(
                f"{where}: expected every carry leaf to have the batch axis B={B} first, got "
                f"carry{jax.tree_util.keystr(path)} of shape {shape}"
            )
    return B


def prepare(step_fn: Any, carry0: Any, start_tokens: Any, max_len: Any, where: str):
    """Validate the common arguments; return ``(y_start (B,), B, n_vocab, logits dtype)``.

    ``step_fn`` is traced once abstractly (``jax.eval_shape``) so that a carry that
    changes shape or a malformed return is reported here, not deep inside the loop.
    """
    if not callable(step_fn):
        raise TypeError(f"{where}: expected step_fn to be callable, got {type(step_fn).__name__}")
    checks.check_static_int(max_len, "max_len", where, minimum=1)
    start = checks.as_array(start_tokens, "start_tokens", where)
    if start.ndim > 1 or not jnp.issubdtype(start.dtype, jnp.integer):
        raise ValueError(
            f"{where}: expected start_tokens to be an int or an integer array of shape (B,), "
            f"got dtype {start.dtype} shape {tuple(start.shape)}"
        )
    B = _batch_size(carry0, start, where)
    start = jnp.broadcast_to(start.astype(jnp.int32), (B,))
    out = jax.eval_shape(step_fn, carry0, start)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"{where}: expected step_fn to return (carry, logits), got {out!r}")
    carry_spec, logits = out
    want = jax.tree.map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)), carry0)
    got = jax.tree.map(lambda x: (tuple(x.shape), jnp.dtype(x.dtype)), carry_spec)
    same_structure = str(jax.tree.structure(want)) == str(jax.tree.structure(got))
    if not same_structure or want != got:
        raise ValueError(
            f"{where}: expected step_fn to return a carry with the structure, shapes and "
            f"dtypes of carry0 {want}, got {got}"
        )
    if logits.ndim != 2 or logits.shape[0] != B or not jnp.issubdtype(logits.dtype, jnp.floating):
        raise ValueError(
            f"{where}: expected step_fn's logits to be floating with shape (B, n_vocab) = "
            f"({B}, n_vocab), got {logits.dtype} {tuple(logits.shape)}"
        )
    return start, B, logits.shape[1], logits.dtype


def check_end_and_pad(end_token: Any, pad_id: Any, n_vocab: int, where: str) -> None:
    if end_token is not None:
        _check_token_id(end_token, "end_token (or None)", where, n_vocab)
    _check_token_id(pad_id, "pad_id", where, None)


def compute_dtype(dtype: Any) -> Any:
    """Log-probabilities are accumulated in at least float32."""
    return jnp.dtype(dtype) if jnp.finfo(dtype).bits >= 32 else jnp.dtype(jnp.float32)


def row_keys(key: Any, B: int, where: str) -> Array:
    """Typed keys of shape ``(B,)``: ``fold_in(key, b)`` for one key, or the given ones."""
    key = checks.as_array(key, "key", where)
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if not typed:
        if key.dtype != jnp.uint32 or key.ndim not in (1, 2):
            raise TypeError(
                f"{where}: expected key to be a jax.random.key(...) (shape () or (B,)) or a "
                f"raw uint32 PRNGKey, got dtype {key.dtype} shape {tuple(key.shape)}"
            )
        key = jax.random.wrap_key_data(key)
    if key.ndim == 0:
        return jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(B, dtype=jnp.uint32))
    if key.shape != (B,):
        raise ValueError(
            f"{where}: expected one key or one key per row, shape () or ({B},), "
            f"got {tuple(key.shape)}"
        )
    return key


def check_temperature(temperature: Any, where: str) -> Any:
    """A Python number must be finite and > 0; a (traced) scalar array is taken as is."""
    if isinstance(temperature, bool):
        raise ValueError(f"{where}: expected temperature > 0, got {temperature!r}")
    if isinstance(temperature, (int, float)):
        if not (0 < temperature < float("inf")):
            raise ValueError(
                f"{where}: expected temperature to be a finite float > 0, got {temperature!r}; "
                "for temperature -> 0 use greedy_decode"
            )
        return temperature
    temperature = checks.as_array(temperature, "temperature", where)
    if temperature.ndim != 0 or not jnp.issubdtype(temperature.dtype, jnp.floating):
        raise ValueError(
            f"{where}: expected temperature to be a float or a scalar float array, got "
            f"{temperature.dtype} {tuple(temperature.shape)}"
        )
    try:
        value = float(temperature)
    except jax.errors.ConcretizationTypeError:  # traced under jit: checked by the caller
        return temperature
    return check_temperature(value, where)


def check_matrix(
    x: Any, shape: tuple[int | None, ...], name: str, layout: str, where: str
) -> Array:
    """A float array whose shape matches ``shape`` (``None`` entries match any size)."""
    x = checks.as_array(x, name, where)
    ok = x.ndim == len(shape) and all(s is None or s == n for s, n in zip(shape, x.shape))
    if not ok:
        raise ValueError(f"{where}: expected {name} to have shape {layout}, got {tuple(x.shape)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{where}: expected {name} to have a floating dtype, got {x.dtype}")
    return x


def check_embed_readout(
    E: Any, V: Any, b_o: Any, d_in: int, d_h: int, where: str
) -> tuple[Array, Array, Array]:
    """A step builder's embedding ``E (n_vocab, d_in)`` and readout ``V (d_out, d_h)``, ``b_o``."""
    E = check_matrix(E, (None, d_in), "E", f"(n_vocab, d_in={d_in})", where)
    V = check_matrix(V, (None, d_h), "V", f"(d_out, d_h={d_h})", where)
    b_o = check_matrix(b_o, (V.shape[0],), "b_o", f"(d_out={V.shape[0]},)", where)
    return E, V, b_o
