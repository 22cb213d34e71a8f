r"""The fast loops of the nonlinear cells (their ``Cell.sequence``), built for speed.

One module per network whose step reads ``h_{t-1}`` through a matrix (``rnn.py``,
``lstm.py``, ``gru.py``) and the pieces they share in ``common.py``. Cells linear in their
carry (``Cell.coefficients``) need no loop of their own: :mod:`jaxrnn._src.linear` evaluates
``h_t = a_t h_{t-1} + b_t`` for any of them; :mod:`jaxrnn._src.newton` solves
``h_t = f(h_{t-1}, x_t)`` for all steps at once. Every loop takes the padding mask and the
resets of the sequence rules (:mod:`jaxrnn._src.sequence`): a reset makes the step read the
initial carry, in the primal loop and in its tangent loop alike.

Each network's loop is a ``jax.custom_jvp`` whose tangent loop carries only the recurrent
tangents (``ds``, or ``(dh, dC)``). Every other tangent enters through one large product
over all steps, before the loop (the derivation is written above each JVP rule):

.. math::

    dz_{\mathrm{proj}} = X\,dU^\top + dX\,U^\top + H_{\mathrm{prev}}\,dW^\top + db

Forward mode (``jax.jvp``, ``jax.jacfwd``) runs this directly. Reverse mode is JAX's
transpose of it, which is the structure cuDNN uses: the reverse loop carries
``(dh, dC)`` and does one small product per step, and the weight gradients
``dW = \sum_t dz_t^\top h_{t-1}``, ``dU = \sum_t dz_t^\top x_t`` come out as single large
products after it. JAX's autodiff of a plain scan instead adds two small products into
the weight gradients at every step.

What the profile of XLA's CPU backend showed, and what is done about it (the
measurements and their commands are in ``docs/design_loops.md``):

- The input projection ``x_t U^\top`` is one product over all steps, before the loop
  (on CPU, for the forward pass, one product per chunk of steps: ``chunked_scan``).
- A fused elementwise kernel that applies ``exp``/``tanh`` to slices of a row (the four
  gates of ``z``) was several times slower than one that applies them to the whole row. So
  the LSTM applies a single ``tanh`` to the whole stacked pre-activation, using
  ``sigma(x) = (1 + tanh(x/2)) / 2``; the halving is folded into the sigmoid gates' rows
  of ``U``, ``W`` and ``b`` (multiplying by 0.5 is exact). Stacking and scaling are done
  in one place, ``common.fuse_gates``.
- A product against the transpose of a matrix (``dz W`` with ``W^\top`` stored) was
  slower than against a matrix stored in that orientation, so both orientations of
  ``U`` and ``W`` are materialised once, outside the loops (``common.FusedWeights``).
- The primal loop emits exactly the per-step coefficients the tangent loop multiplies
  by, so the tangent loop has no work that depends on the primal values only (JAX would
  move such work into an extra loop and store its results).
- 16-bit floats on CPU run in float32 (results rounded back; ``jaxrnn._src.ops.cpu_float32``).
- ``remat=k`` runs the same loops on segments of ``k`` steps, each under ``jax.checkpoint``
  (``common.in_segments``).
"""
