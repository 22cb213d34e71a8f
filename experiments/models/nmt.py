r"""The sequence-to-sequence model of the translation experiment: LSTM encoder, LSTM
decoder started from the encoder's final state, optional Luong "general" attention.

.. math::

    a_{ts} = \mathrm{softmax}_s(h_t^\top W_a e_s), \quad c_t = \sum_s a_{ts} e_s, \quad
    \tilde h_t = \tanh(W_c [c_t; h_t]), \quad p(y_t) = \mathrm{softmax}(V \tilde h_t + b)

Training reads the target with one ``lstm_scan`` (teacher forcing) and attends for all
``t`` at once; decoding steps the same equations inside ``jaxrnn.beam_search`` with the
encoder states, their projections ``W_a e_s`` and the source mask in the carry.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments.data.text import Vocab
from experiments.models.decoder import init_decoder
from experiments.models.losses import length_mask, token_nll


def init_params(
    key: jax.Array, n_src: int, n_tgt: int, *, embed: int, hidden: int, attention: bool
) -> dict:
    """``{"src_E", "enc", "dec"}`` (+ ``"att": {"W_a", "W_c"}`` with ``attention``)."""
    k_E, k_enc, k_dec, k_a, k_c = jax.random.split(key, 5)
    H = hidden
    params = {
        "src_E": jax.random.normal(k_E, (n_src, embed), jnp.float32) / np.sqrt(embed),
        "enc": jaxrnn.init_lstm_params(k_enc, embed, H),
        "dec": init_decoder(k_dec, n_tgt, embed, H),
    }
    if attention:
        glorot = jax.nn.initializers.glorot_uniform()
        params["att"] = {"W_a": glorot(k_a, (H, H)), "W_c": glorot(k_c, (H, 2 * H))}
    return params


def encode(params: dict, src: jax.Array, src_len: jax.Array, reverse: bool, xs=None):
    """``(LSTMState after the source, memory)``; memory is ``(e, W_a e, mask)`` or None.

    ``xs (B, S, embed)`` replaces the source embeddings ``src_E[src]`` (training passes them
    after dropout).
    """
    xs = params["src_E"][src] if xs is None else xs
    state_T, es = jaxrnn.lstm_scan(params["enc"], xs, lengths=src_len, reverse=reverse)
    if "att" not in params:
        return state_T, None
    mask = length_mask(src_len, src.shape[1])
    return state_T, (es, es @ params["att"]["W_a"].T, mask)


def attend(att: dict, hs: jax.Array, memory) -> jax.Array:
    """``tanh(W_c [c_t; h_t])`` for decoder states ``hs (B, T, H)`` or ``(B, H)``."""
    es, keys, mask = memory
    single = hs.ndim == 2
    q = hs[:, None] if single else hs
    scores = jnp.einsum("bth,bsh->bts", q, keys)
    scores = jnp.where(mask[:, None, :], scores, -1e9)
    context = jnp.einsum("bts,bsh->bth", jax.nn.softmax(scores, axis=-1), es)
    out = jnp.tanh(jnp.concatenate([context, q], axis=-1) @ att["W_c"].T)
    return out[:, 0] if single else out


def dropout(x: jax.Array, seeds: jax.Array | None, rate: float, salt: int) -> jax.Array:
    """Inverted dropout of ``x (B, ...)`` with one key per example from ``seeds (B,)``.

    ``seeds`` is None (evaluation) or ``rate == 0`` returns ``x`` unchanged. Per-example keys
    keep the mask a function of the example alone, so a batch split over devices draws the
    same masks as on one device.
    """
    if seeds is None or rate == 0.0:
        return x

    def mask(seed):
        key = jax.random.fold_in(jax.random.key(seed), salt)
        return jax.random.bernoulli(key, 1.0 - rate, x.shape[1:])

    keep = jax.vmap(mask)(seeds)
    return jnp.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype)


def loss_fn(params: dict, batch, reverse: bool, rate: float = 0.0) -> jax.Array:
    """Mean token NLL of a batch ``(src, src_len, ys_in, ys_out, tgt_len[, seeds])``.

    With ``seeds (B,)`` (training) dropout at ``rate`` hits the source and target embeddings
    and the decoder's output before the softmax; without (evaluation) nothing is dropped.
    """
    src, src_len, ys_in, ys_out, tgt_len, *rest = batch
    seeds = rest[0] if rest else None
    dec = params["dec"]
    xs = dropout(params["src_E"][src], seeds, rate, 0)
    state0, memory = encode(params, src, src_len, reverse, xs)
    ys = dropout(dec["E"][ys_in], seeds, rate, 1)
    _, hs = jaxrnn.lstm_scan(dec["cell"], ys, state0, lengths=tgt_len)
    if memory is not None:
        hs = attend(params["att"], hs, memory)
    logits = dropout(hs, seeds, rate, 2) @ dec["V"].T + dec["b"]
    return token_nll(logits, ys_out, length_mask(tgt_len, ys_in.shape[1]))


def translate_ids(params: dict, src, src_len, *, reverse: bool, beam_size: int, max_len: int):
    """Beam-search target ids ``(B, max_len)`` for padded sources ``src (B, S)``."""
    state0, memory = encode(params, src, src_len, reverse)
    dec, att = params["dec"], params.get("att")

    def step(carry, y_prev):
        state, mem = carry
        state = jaxrnn.lstm_step(dec["cell"], state, dec["E"][y_prev])[0]
        h = state.h if mem is None else attend(att, state.h, mem)
        return (state, mem), h @ dec["V"].T + dec["b"]

    kw = dict(max_len=max_len, end_token=Vocab.eos, pad_id=Vocab.pad)
    return jaxrnn.beam_search(
        step, (state0, memory), Vocab.bos, beam_size=beam_size, **kw
    ).tokens
