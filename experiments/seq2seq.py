r"""Token decoders shared by the generative experiments (captioning, charlm, translation).

A *decoder* is an embedding, an LSTM and a linear readout, as a dict
``{"E": (n_vocab, d_emb), "cell": LSTMParams, "V": (n_vocab, d_h), "b": (n_vocab,)}``:

.. math::

    x_t = E[y_{t-1}], \quad (h_t, C_t) = \mathrm{LSTM}(x_t, h_{t-1}, C_{t-1}), \quad
    p(y_t \mid y_{<t}) = \mathrm{softmax}(V h_t + b)

Training uses teacher forcing (:func:`decoder_logits` reads the true previous tokens with
one ``lstm_scan``); generation feeds back its own tokens through
:func:`jaxrnn.make_lstm_step_fn` and the library decoders. Both compute the same equations,
which the tests check.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments.config import ConfigError

BOS, EOS, PAD = "<s>", "</s>", "<pad>"


def init_decoder(key: jax.Array, n_vocab: int, d_emb: int, d_h: int) -> dict[str, Any]:
    """Decoder parameters: ``E ~ N(0, 1/d_emb)``, LSTM (forget bias 1), Glorot readout."""
    k_E, k_cell, k_V = jax.random.split(key, 3)
    return {
        "E": jax.random.normal(k_E, (n_vocab, d_emb), jnp.float32) / np.sqrt(d_emb),
        "cell": jaxrnn.init_lstm_params(k_cell, d_emb, d_h),
        "V": jax.nn.initializers.glorot_uniform()(k_V, (n_vocab, d_h), jnp.float32),
        "b": jnp.zeros((n_vocab,), jnp.float32),
    }


def decoder_states(dec: dict, state0: jaxrnn.LSTMState, ys_in: jax.Array, lengths=None):
    """``(state_T, hs (B, T, d_h))`` of the decoder reading the tokens ``ys_in (B, T)``."""
    return jaxrnn.lstm_scan(dec["cell"], dec["E"][ys_in], state0, lengths=lengths)


def decoder_logits(dec: dict, state0: jaxrnn.LSTMState, ys_in: jax.Array, lengths=None):
    """Teacher-forced logits ``(B, T, n_vocab)`` of ``p(y_t | ys_in[:, :t+1])``."""
    _, hs = decoder_states(dec, state0, ys_in, lengths)
    return hs @ dec["V"].T + dec["b"]


def step_fn(dec: dict) -> jaxrnn.StepFn:
    """The same decoder as a ``step_fn(LSTMState, y_prev) -> (LSTMState, logits)``."""
    return jaxrnn.make_lstm_step_fn(dec["E"], dec["cell"], dec["V"], dec["b"])


def zero_state(batch: int, d_h: int) -> jaxrnn.LSTMState:
    z = jnp.zeros((batch, d_h), jnp.float32)
    return jaxrnn.LSTMState(h=z, C=z)


def token_nll(logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None):
    """Mean ``-log p(target)`` over the positions where ``mask`` (default: all) is true.

    Example:
        >>> logits = jnp.log(jnp.array([[[0.5, 0.5], [0.9, 0.1]]]))
        >>> round(float(token_nll(logits, jnp.array([[0, 1]]), jnp.array([[True, False]]))), 4)
        0.6931
    """
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    if mask is None:
        return jnp.mean(nll)
    mask = mask.astype(nll.dtype)
    return jnp.sum(nll * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def length_mask(lengths: jax.Array, T: int) -> jax.Array:
    """``(B, T)`` booleans, true for ``t < lengths[b]``."""
    return jnp.arange(T)[None, :] < lengths[:, None]


class WordVocab:
    """Word <-> id with ``<pad>`` = 0, ``<s>`` = 1, ``</s>`` = 2 and ``<unk>`` = 3.

    Example:
        >>> v = WordVocab(["two", "one"])
        >>> v.encode(["one", "three"]), v.decode([4, 5, 2, 4])
        ([5, 3], ['two', 'one'])
    """

    SPECIALS = (PAD, BOS, EOS, "<unk>")

    def __init__(self, words) -> None:
        self.tokens = list(self.SPECIALS) + [w for w in words if w not in self.SPECIALS]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    pad, bos, eos, unk = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, words) -> list[int]:
        return [self.index.get(w, self.unk) for w in words]

    def decode(self, ids) -> list[str]:
        """Tokens up to (not including) the first ``</s>``; specials dropped."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i >= len(self.SPECIALS):
                out.append(self.tokens[i])
        return out


def pad_targets(seqs, T: int, vocab: WordVocab) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Teacher-forcing arrays for token lists ``seqs`` (cut to ``T - 1`` tokens).

    Returns ``(ys_in (B, T), ys_out (B, T), lengths (B,))``: ``ys_in = <s> w_1 .. w_n``,
    ``ys_out = w_1 .. w_n </s>``, padded with ``<pad>``; ``lengths = n + 1``.
    """
    B = len(seqs)
    ys_in = np.full((B, T), vocab.pad, np.int32)
    ys_out = np.full((B, T), vocab.pad, np.int32)
    lengths = np.zeros((B,), np.int32)
    for b, s in enumerate(seqs):
        s = list(s)[: T - 1]
        ys_in[b, : len(s) + 1] = [vocab.bos, *s]
        ys_out[b, : len(s) + 1] = [*s, vocab.eos]
        lengths[b] = len(s) + 1
    return ys_in, ys_out, lengths


def require_positive(cfg: Any, names: tuple[str, ...]) -> None:
    """Raise ConfigError ``--name: expected a positive int`` for the first field < 1."""
    for name in names:
        if getattr(cfg, name) < 1:
            raise ConfigError(f"--{name}: expected a positive int, got {getattr(cfg, name)}")
