"""The LSTM layer in numpy: its forward over a sequence, then its backward, as torch-rnn's
LSTM.lua: the four gates in one fused weight pair and one bias, sliced from one pre-activation.
One layer of the stack in model.py; the output layer and the loss are there, not here.

    z_t = W h_{t-1} + U x_t + b      # (B, 4m)  rows stacked [i f g o], PyTorch's gate order
    i = sig(z_i), f = sig(z_f), g = tanh(z_g), o = sig(z_o)    # (B, m) each
    c_t = f * c_{t-1} + i * g        # (B, m)  cell state
    h_t = o * tanh(c_t)              # (B, m)  hidden state

The forget-gate bias (rows m..2m of b) starts at 1 (the layout's "forget_bias" init).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops


def forward(p, x: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> tuple[np.ndarray, dict]:
    """p: the layer's arrays by role, W (4m, m), U (4m, n), b (4m,). x: (B, T) characters or
    (B, T, n) inputs; h0, c0: (B, m). Returns hs (B, T, m) and the cache for backward, which
    holds cs (B, T, m), the cell states c_1..c_T, too (as rnn.py and gru.py return hs, cache)."""
    W, U, b = p["W"], p["U"], p["b"]
    m = h0.shape[1]
    h, c = h0, c0  # (B, m)  h_{t-1}, c_{t-1}
    h_steps: list[np.ndarray] = []  # T of (B, m)
    c_steps: list[np.ndarray] = []  # T of (B, m)
    gates = []  # T of (i, f, g, o)
    for t in range(x.shape[1]):
        z = ops.add_bias(ops.matvec(W, h) + ops.input_term(U, x[:, t]), b)  # (B, 4m)
        i = ops.sigmoid(z[:, :m])  # (B, m)  input gate
        f = ops.sigmoid(z[:, m : 2 * m])  # (B, m)  forget gate
        g = ops.tanh(z[:, 2 * m : 3 * m])  # (B, m)  candidate
        o = ops.sigmoid(z[:, 3 * m :])  # (B, m)  output gate
        c = f * c + i * g  # (B, m)
        h = o * ops.tanh(c)  # (B, m)
        h_steps.append(h)
        c_steps.append(c)
        gates.append((i, f, g, o))
    hs, cs = np.stack(h_steps, axis=1), np.stack(c_steps, axis=1)  # (B, T, m) each
    cache: dict[str, Any] = {"x": x, "h0": h0, "c0": c0, "hs": hs, "cs": cs, "gates": gates}
    return hs, cache


def backward(p, cache: dict, dhs: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """dhs (B, T, m): dL/dh_t from above (the output layer, or the next layer's input), not
    through time; the loss does not read c_T. Returns ({"W": dW, "U": dU, "b": db}, dx): dx
    (B, T, n) = dL/dx_t for a dense input, None for characters. One reverse-time loop."""
    W, U = p["W"], p["U"]
    x, h0, c0, hs, cs, gates = (cache[k] for k in ("x", "h0", "c0", "hs", "cs", "gates"))
    dtype = hs.dtype  # complex if the forward was
    dW, dU, db = (np.zeros(a.shape, dtype) for a in (W, U, p["b"]))  # (4m, m) (4m, n) (4m)
    dx = None if x.dtype.kind in "iu" else np.zeros(x.shape, dtype)  # (B, T, n)
    dh_next = np.zeros(h0.shape, dtype)  # (B, m)  dL/dh_t through z_{t+1}
    dc_next = np.zeros(h0.shape, dtype)  # (B, m)  dL/dc_t through c_{t+1}
    for t in reversed(range(x.shape[1])):
        i, f, g, o = gates[t]  # (B, m) each
        h_prev = hs[:, t - 1] if t > 0 else h0  # (B, m)
        c_prev = cs[:, t - 1] if t > 0 else c0  # (B, m)
        tc = ops.tanh(cs[:, t])  # (B, m)  tanh(c_t)
        dh = dhs[:, t] + dh_next  # h_t feeds the layer above and z_{t+1}
        dc = dc_next + dh * o * (1.0 - tc * tc)  # h_t = o * tanh(c_t); c_t feeds c_{t+1}
        d_o = dh * tc  # h_t = o * tanh(c_t)  (d_o: `do` is a keyword)
        di = dc * g  # c_t = f * c_{t-1} + i * g
        df = dc * c_prev  # c_t = f * c_{t-1} + ...
        dg = dc * i  # c_t = ... + i * g
        dc_next = dc * f  # c_t = f * c_{t-1} + ...
        dz = np.concatenate(
            [
                di * i * (1.0 - i),  # i = sig(z_i), sig' = sig (1 - sig)
                df * f * (1.0 - f),  # f = sig(z_f)
                dg * (1.0 - g * g),  # g = tanh(z_g), tanh' = 1 - tanh^2
                d_o * o * (1.0 - o),
            ],  # o = sig(z_o)
            axis=1,
        )  # (B, 4m)
        db += dz.sum(axis=0)  # z_t = ... + b
        dW += dz.T @ h_prev  # z_t = W h_{t-1} + ...
        dx_t = ops.input_term_backward(dU, U, x[:, t], dz)  # z_t = ... + U x_t + ...
        if dx is not None:
            dx[:, t] = dx_t
        dh_next = dz @ W  # z_t = W h_{t-1} + ...: W^T dz for each row
    return {"W": dW, "U": dU, "b": db}, dx
