"""The vanilla (Elman) RNN layer in numpy: its forward over a sequence, then its backward, as
torch-rnn's VanillaRNN.lua. One layer of the stack in model.py; the output layer and the loss are
there, not here.

    a_t = W h_{t-1} + U x_t + b      # (B, m)  pre-activation
    h_t = tanh(a_t)                  # (B, m)  hidden state

x_t is a character (layer 1: U x_t is column x_t of U) or the layer below's h_t (a dense input).
"""

from __future__ import annotations

import numpy as np

from . import ops


def forward(p, x: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, dict]:
    """p: the layer's arrays by role, W (m, m), U (m, n), b (m,). x: (B, T) characters or
    (B, T, n) inputs; h0: (B, m). Returns hs (B, T, m) = h_1..h_T and the cache for backward."""
    W, U, b = p["W"], p["U"], p["b"]
    h = h0  # (B, m)  h_{t-1}
    steps = []  # T of (B, m)
    for t in range(x.shape[1]):
        a = ops.add_bias(ops.matvec(W, h) + ops.input_term(U, x[:, t]), b)  # (B, m)
        h = ops.tanh(a)  # (B, m)
        steps.append(h)
    hs = np.stack(steps, axis=1)  # (B, T, m)
    return hs, {"x": x, "h0": h0, "hs": hs}


def backward(p, cache: dict, dhs: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """dhs (B, T, m): dL/dh_t from above (the output layer, or the next layer's input), not
    through time. Returns ({"W": dW, "U": dU, "b": db}, dx): dx (B, T, n) = dL/dx_t for a dense
    input, None for characters. One reverse-time loop fills every gradient."""
    W, U = p["W"], p["U"]
    x, h0, hs = cache["x"], cache["h0"], cache["hs"]
    dtype = hs.dtype  # complex if the forward was
    dW, dU, db = (np.zeros(a.shape, dtype) for a in (W, U, p["b"]))  # (m, m) (m, n) (m)
    dx = None if x.dtype.kind in "iu" else np.zeros(x.shape, dtype)  # (B, T, n)
    dh_next = np.zeros(h0.shape, dtype)  # (B, m)  dL/dh_t through a_{t+1}
    for t in reversed(range(x.shape[1])):
        h = hs[:, t]  # (B, m)
        h_prev = hs[:, t - 1] if t > 0 else h0  # (B, m)
        dh = dhs[:, t] + dh_next  # h_t feeds the layer above and a_{t+1}
        da = (1.0 - h * h) * dh  # h_t = tanh(a_t), tanh' = 1 - tanh^2
        db += da.sum(axis=0)  # a_t = ... + b
        dW += da.T @ h_prev  # a_t = W h_{t-1} + ...
        dx_t = ops.input_term_backward(dU, U, x[:, t], da)  # a_t = ... + U x_t + ...
        if dx is not None:
            dx[:, t] = dx_t
        dh_next = da @ W  # a_t = W h_{t-1} + ...: W^T da for each row
    return {"W": dW, "U": dU, "b": db}, dx
