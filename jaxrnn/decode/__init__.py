r"""Decoding: turn a recurrent model into token sequences (greedy, sampled, beam search).

Every decoder here drives one user-supplied *step function*

.. math::

    (\mathrm{carry}_t, \mathrm{logits}_t) = \mathrm{step\_fn}(\mathrm{carry}_{t-1}, y_{t-1}),
    \qquad p(y_t \mid y_{<t}) = \mathrm{softmax}(\mathrm{logits}_t)

with ``y_{-1}`` the start token. ``step_fn(carry, y_prev)`` takes the carry (any pytree
whose leaves all have the batch axis ``B`` first, e.g. an ``LSTMState`` from an encoder)
and the previous tokens ``y_prev`` of shape ``(B,)`` (int32), and returns the new carry
(same structure, shapes and dtypes) and ``logits`` of shape ``(B, n_vocab)``. Embedding,
cell(s), attention and readout are the user's; :func:`make_step_fn` builds the common case
for any cell (each family's ``jaxrnn.make_*_step_fn`` is it with that family's cell). Anything per
example that ``step_fn`` reads (e.g. encoder outputs for attention) belongs in the carry,
not in a closure: beam search tiles the carry to ``B * beam_size`` rows.

The decoders are pure and jit-compatible but not jitted themselves (one jit at the top):
wrap your own ``decode(params, inputs, key)`` in ``jax.jit``. ``max_len``, ``end_token``,
``pad_id``, ``top_k``, ``beam_size`` are static Python ints. The time loop is one
``lax.while_loop`` that stops after ``max_len`` steps or as soon as every sequence has
emitted ``end_token``.

Output convention (``Decoded``): ``tokens[b, t]`` is ``y_t``; the end token is kept and
counted in ``lengths``; every position after it holds ``pad_id`` and has log-probability 0.
"""

from jaxrnn.decode.beam import beam_search
from jaxrnn.decode.greedy import Decoded, StepFn, greedy_decode, sample_decode
from jaxrnn.decode.steps import make_step_fn

__all__ = ["Decoded", "StepFn", "beam_search", "greedy_decode", "make_step_fn", "sample_decode"]
