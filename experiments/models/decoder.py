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
