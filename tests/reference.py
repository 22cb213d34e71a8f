"""The equations in float64 NumPy, with explicit Python loops, written to be obviously right.

Independent of jaxrnn: it reads parameters as plain arrays by field name and shares no
code with the library. Everything here handles ONE example (``xs`` of shape (T, d_in));
tests loop over batch examples themselves.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _f64(tree):
    """Field-name dict of float64 arrays from a NamedTuple of arrays (or of Gates)."""
    out = {}
    for name, value in tree._asdict().items():
        out[name] = _f64(value) if hasattr(value, "_asdict") else np.asarray(value, np.float64)
    return out


def _order(T, length, reverse):
    """Time indices visited: the valid steps 0..L-1, last-to-first when reversed."""
    L = T if length is None else int(min(max(length, 0), T))
    steps = list(range(L))
    return steps[::-1] if reverse else steps


def rnn_forward(params, xs, s0=None, length=None, reverse=False):
    """Vanilla RNN on one sequence.

    s_t = tanh(U x_t + W s_{t-1} + b_s);  logits_t = V s_t + b_o.
    Padding steps (t >= length) keep s and emit zeros.

    Returns (s_T, ss (T, d_h), logits (T, d_out)), all float64.
    """
    p = _f64(params)
    U, W, V, b_s, b_o = p["U"], p["W"], p["V"], p["b_s"], p["b_o"]
    xs = np.asarray(xs, np.float64)
    T = xs.shape[0]
    d_h, d_out = W.shape[0], V.shape[0]
    s = np.zeros(d_h) if s0 is None else np.asarray(s0, np.float64).copy()
    ss = np.zeros((T, d_h))
    logits = np.zeros((T, d_out))
    for t in _order(T, length, reverse):
        s = np.tanh(U @ xs[t] + W @ s + b_s)
        ss[t] = s
        logits[t] = V @ s + b_o
    return s, ss, logits


def lstm_forward(params, xs, h0=None, C0=None, length=None, reverse=False):
    """LSTM on one sequence, gate by gate.

    Returns (h_T, C_T, hs (T, d_h), Cs (T, d_h)), all float64.
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T = xs.shape[0]
    d_h = p["f"]["W"].shape[0]
    h = np.zeros(d_h) if h0 is None else np.asarray(h0, np.float64).copy()
    C = np.zeros(d_h) if C0 is None else np.asarray(C0, np.float64).copy()
    hs = np.zeros((T, d_h))
    Cs = np.zeros((T, d_h))

    def pre(g, x_t, h_prev):
        return p[g]["U"] @ x_t + p[g]["W"] @ h_prev + p[g]["b"]

    for t in _order(T, length, reverse):
        f_t = sigmoid(pre("f", xs[t], h))
        i_t = sigmoid(pre("i", xs[t], h))
        C_tilde_t = np.tanh(pre("c", xs[t], h))
        o_t = sigmoid(pre("o", xs[t], h))
        C = f_t * C + i_t * C_tilde_t
        h = o_t * np.tanh(C)
        hs[t] = h
        Cs[t] = C
    return h, C, hs, Cs


def gru_forward(params, xs, h0=None, length=None, reverse=False, reset_after=True):
    """GRU on one sequence, gate by gate (both placements of the reset gate).

    reset_after=True:  n_t = tanh(U_n x_t + b_n + r_t * (W_n h_{t-1} + b_hn))
    reset_after=False: n_t = tanh(U_n x_t + W_n (r_t * h_{t-1}) + b_n + b_hn)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}.

    Returns (h_T, hs (T, d_h)), float64.
    """
    p = _f64(params)
    z, r, n, b_hn = p["z"], p["r"], p["n"], p["b_hn"]
    xs = np.asarray(xs, np.float64)
    T = xs.shape[0]
    d_h = z["W"].shape[0]
    h = np.zeros(d_h) if h0 is None else np.asarray(h0, np.float64).copy()
    hs = np.zeros((T, d_h))
    for t in _order(T, length, reverse):
        x_t = xs[t]
        z_t = sigmoid(z["U"] @ x_t + z["W"] @ h + z["b"])
        r_t = sigmoid(r["U"] @ x_t + r["W"] @ h + r["b"])
        if reset_after:
            n_t = np.tanh(n["U"] @ x_t + n["b"] + r_t * (n["W"] @ h + b_hn))
        else:
            n_t = np.tanh(n["U"] @ x_t + n["W"] @ (r_t * h) + n["b"] + b_hn)
        h = (1 - z_t) * n_t + z_t * h
        hs[t] = h
    return h, hs


def numerical_grad(f, x, eps=1e-6):
    """Central finite differences of a scalar float64 function f at array x."""
    x = np.array(x, np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = f(x)
        flat[k] = old - eps
        down = f(x)
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return g


def mingru_forward(params, xs, h0=None, length=None, reverse=False):
    """minGRU on one sequence (Feng et al. 2024).

    z_t = sigmoid(U_z x_t + b_z);  h~_t = U_h x_t + b_h;  h_t = (1 - z_t) h_{t-1} + z_t h~_t.
    Padding steps (t >= length) keep h and emit zeros.

    Returns (h_T, hs (T, d_h)), float64.
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T, d_h = xs.shape[0], p["U_z"].shape[0]
    h = np.zeros(d_h) if h0 is None else np.asarray(h0, np.float64).copy()
    hs = np.zeros((T, d_h))
    for t in _order(T, length, reverse):
        z_t = sigmoid(p["U_z"] @ xs[t] + p["b_z"])
        h_tilde_t = p["U_h"] @ xs[t] + p["b_h"]
        h = (1 - z_t) * h + z_t * h_tilde_t
        hs[t] = h
    return h, hs


def minlstm_forward(params, xs, h0=None, length=None, reverse=False):
    """minLSTM on one sequence (Feng et al. 2024).

    f_t = sigmoid(U_f x_t + b_f);  i_t = sigmoid(U_i x_t + b_i);  h~_t = U_h x_t + b_h;
    h_t = f_t / (f_t + i_t) h_{t-1} + i_t / (f_t + i_t) h~_t.

    Returns (h_T, hs (T, d_h)), float64.
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T, d_h = xs.shape[0], p["U_f"].shape[0]
    h = np.zeros(d_h) if h0 is None else np.asarray(h0, np.float64).copy()
    hs = np.zeros((T, d_h))
    for t in _order(T, length, reverse):
        f_t = sigmoid(p["U_f"] @ xs[t] + p["b_f"])
        i_t = sigmoid(p["U_i"] @ xs[t] + p["b_i"])
        h_tilde_t = p["U_h"] @ xs[t] + p["b_h"]
        h = f_t / (f_t + i_t) * h + i_t / (f_t + i_t) * h_tilde_t
        hs[t] = h
    return h, hs


def log_sigmoid(z):
    return -np.logaddexp(0.0, -z)


def slstm_forward(params, xs, state0=None, length=None, reverse=False):
    """sLSTM on one sequence (Beck et al. 2024), W block-diagonal over heads.

    i~, f~, z~, o~ = U_g x_t + W_g h_{t-1} + b_g (W_g h: head k of h times block k);
    m_t = max(log sigmoid(f~) + m_{t-1}, i~);  i_t = exp(i~ - m_t);
    f_t = exp(log sigmoid(f~) + m_{t-1} - m_t);  c_t = f_t c + i_t tanh(z~);
    n_t = f_t n + i_t;  h_t = sigmoid(o~) c_t / n_t.  Default state: zeros, m = -inf.

    ``state0`` is a dict with keys h, c, n, m. Returns (state_T dict, hs (T, d_h)), float64.
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T, d_h = xs.shape[0], p["i"]["U"].shape[0]
    H, d, _ = p["i"]["W"].shape
    if state0 is None:
        s = {"h": np.zeros(d_h), "c": np.zeros(d_h), "n": np.zeros(d_h), "m": np.full(d_h, -np.inf)}
    else:
        s = {key: np.asarray(state0[key], np.float64).copy() for key in "hcnm"}
    hs = np.zeros((T, d_h))

    def pre(g, x_t, h_prev):
        Wh = np.zeros(d_h)
        for k in range(H):
            Wh[k * d : (k + 1) * d] = p[g]["W"][k] @ h_prev[k * d : (k + 1) * d]
        return p[g]["U"] @ x_t + Wh + p[g]["b"]

    for t in _order(T, length, reverse):
        i_pre, f_pre = pre("i", xs[t], s["h"]), pre("f", xs[t], s["h"])
        z_pre, o_pre = pre("z", xs[t], s["h"]), pre("o", xs[t], s["h"])
        log_f = log_sigmoid(f_pre)
        m = np.maximum(log_f + s["m"], i_pre)
        i_t = np.exp(i_pre - m)
        f_t = np.exp(log_f + s["m"] - m)
        c = f_t * s["c"] + i_t * np.tanh(z_pre)
        n = f_t * s["n"] + i_t
        h = sigmoid(o_pre) * c / n
        s = {"h": h, "c": c, "n": n, "m": m}
        hs[t] = h
    return s, hs


def mlstm_forward(q, k, v, i_pre, f_pre, state0=None, length=None, eps=1e-6):
    """mLSTM on one head of one sequence, step by step (Beck et al. 2024).

    k_t scaled by 1/sqrt(d_k); m_t = max(log sigmoid(f~_t) + m_{t-1}, i~_t);
    C_t = f_t C + i_t k_t v_t^T;  n_t = f_t n + i_t k_t;
    h_t = C_t^T q_t / (max(|n_t . q_t|, exp(-m_t)) + eps).  Default state: zeros, m = -inf.
    Padding steps (t >= length) keep the state and emit zeros.

    ``q, k (T, d_k)``, ``v (T, d_v)``, ``i_pre, f_pre (T,)``; ``state0`` a dict C, n, m.
    Returns (state_T dict, hs (T, d_v)), float64.
    """
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    i_pre, f_pre = np.asarray(i_pre, np.float64), np.asarray(f_pre, np.float64)
    T, d_k = q.shape
    d_v = v.shape[1]
    if state0 is None:
        C, n, m = np.zeros((d_k, d_v)), np.zeros(d_k), -np.inf
    else:
        C, n, m = (np.asarray(state0[key], np.float64).copy() for key in ("C", "n", "m"))
    hs = np.zeros((T, d_v))
    for t in _order(T, length, False):
        k_t = k[t] / np.sqrt(d_k)
        log_f = log_sigmoid(f_pre[t])
        m_new = max(log_f + m, i_pre[t])
        i_t = np.exp(i_pre[t] - m_new)
        f_t = np.exp(log_f + m - m_new)
        C = f_t * C + i_t * np.outer(k_t, v[t])
        n = f_t * n + i_t * k_t
        m = m_new
        hs[t] = C.T @ q[t] / (max(abs(n @ q[t]), np.exp(-m)) + eps)
    return {"C": C, "n": n, "m": m}, hs
# --- RG-LRU, the Hawk block and the LRU: one example, with resets --------------------------


def _segment_starts(T, length, resets, reverse):
    """The flags of the steps in the order they are taken: ``starts[t]`` is True where the
    step at ``t`` begins a segment. Forward: ``resets[t]``. Reverse: a segment is entered at
    its last step, the one before the next segment's start (and never past ``length``)."""
    L = T if length is None else int(min(max(length, 0), T))
    r = np.zeros(T, bool) if resets is None else np.asarray(resets, bool)
    if not reverse:
        return r
    return np.array([t + 1 < L and bool(r[t + 1]) for t in range(T)])


def _block_diagonal(W, x):
    """Head ``h`` of the output is ``W[h] @ x[h k:(h + 1) k]``."""
    H, k, _ = W.shape
    return np.concatenate([W[h] @ x[h * k : (h + 1) * k] for h in range(H)])


def _rglru_step(p, h, x, start):
    """One RG-LRU step: c = 8; at a segment start no carry and no normalisation."""
    r = sigmoid(_block_diagonal(p["W_a"], x) + p["b_a"])
    i = sigmoid(_block_diagonal(p["W_x"], x) + p["b_x"])
    a = np.exp(-8.0 * r * np.logaddexp(0.0, p["a_param"]))  # softplus
    if start:
        return i * x
    return a * h + np.sqrt(1 - a**2) * (i * x)


def rglru_forward(params, xs, h0=None, length=None, resets=None, reverse=False):
    """RG-LRU on one sequence (De et al. 2024; RecurrentGemma's RGLRU).

    r_t = sigmoid(W_a x_t + b_a);  i_t = sigmoid(W_x x_t + b_x) (block-diagonal products);
    a_t = exp(-8 r_t softplus(a_param));  h_t = a_t h_{t-1} + sqrt(1 - a_t^2) (i_t x_t),
    and h_t = i_t x_t where a segment starts. Padding steps keep h and emit zeros.

    Returns (h_T, hs (T, d)), float64.
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T, d = xs.shape[0], p["a_param"].shape[0]
    h = np.zeros(d) if h0 is None else np.asarray(h0, np.float64).copy()
    hs = np.zeros((T, d))
    starts = _segment_starts(T, length, resets, reverse)
    for t in _order(T, length, reverse):
        h = _rglru_step(p, h, xs[t], starts[t])
        hs[t] = h
    return h, hs


def gelu_tanh(z):
    """GeLU, tanh approximation (``jax.nn.gelu``'s default, RecurrentGemma's)."""
    return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3)))


def hawk_forward(params, xs, window0=None, h0=None, length=None, resets=None, reverse=False):
    """The Hawk block (Griffin's recurrent block) on one sequence.

    y_t = gelu(W_y x_t + b_y);  v_t = W_u x_t + b_u;
    u_t = sum_k W_conv[k] v_{t-w+1+k} + b_conv  (in reading order; the v before a segment's
    start are zeros, those before the sequence are ``window0``, oldest first);
    h_t = RG-LRU(h_{t-1}, u_t);  o_t = W_o (h_t y_t) + b_o.

    Returns (window_T (w-1, d_r), h_T (d_r,), outputs (T, d_h)), float64.
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T = xs.shape[0]
    w, d_r = p["W_conv"].shape
    window = [np.zeros(d_r) for _ in range(w - 1)]
    if window0 is not None:
        window = [np.asarray(v, np.float64).copy() for v in window0]
    h = np.zeros(d_r) if h0 is None else np.asarray(h0, np.float64).copy()
    out = np.zeros((T, p["W_o"].shape[0]))
    starts = _segment_starts(T, length, resets, reverse)
    for t in _order(T, length, reverse):
        if starts[t]:
            window = [np.zeros(d_r) for _ in range(w - 1)]
        y = gelu_tanh(p["W_y"] @ xs[t] + p["b_y"])
        v = p["W_u"] @ xs[t] + p["b_u"]
        seen = window + [v]  # oldest first
        u = sum(p["W_conv"][k] * seen[k] for k in range(w)) + p["b_conv"]
        h = _rglru_step(p["rglru"], h, u, starts[t])
        out[t] = p["W_o"] @ (h * y) + p["b_o"]
        window = seen[1:]
    return np.stack(window) if window else np.zeros((0, d_r)), h, out


def lru_forward(params, xs, h0=None, length=None, resets=None, reverse=False):
    """The LRU on one sequence (Orvieto et al. 2023), in complex128.

    lambda = exp(-exp(nu_log) + i exp(theta_log));  h_t = lambda h_{t-1} + exp(gamma_log)
    (B_re + i B_im) x_t;  y_t = Re((C_re + i C_im) h_t) + D x_t. A reset makes the step read
    ``h0``. Padding steps keep h and emit zeros.

    Returns (h_T (d_h,) complex, ys (T, d_in) real).
    """
    p = _f64(params)
    xs = np.asarray(xs, np.float64)
    T, d_h = xs.shape[0], p["nu_log"].shape[0]
    h0 = np.zeros(d_h, complex) if h0 is None else np.asarray(h0, np.complex128)
    lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
    B = p["B_re"] + 1j * p["B_im"]
    C = p["C_re"] + 1j * p["C_im"]
    h = h0.copy()
    ys = np.zeros((T, xs.shape[1]))
    starts = _segment_starts(T, length, resets, reverse)
    for t in _order(T, length, reverse):
        if starts[t]:
            h = h0.copy()
        h = lam * h + np.exp(p["gamma_log"]) * (B @ xs[t])
        ys[t] = (C @ h).real + p["D"] * xs[t]
    return h, ys
