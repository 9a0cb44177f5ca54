"""The GRU layer in numpy, in PyTorch's (cuDNN's) form, where the reset gate multiplies W_n h + b_hn
rather than h: its forward over a sequence, then its backward. One fused weight pair for the
three blocks, sliced from one product. One layer of the stack in model.py; the output layer and
the loss are there, not here.

    rows stacked [r z n] (3m); b = [b_r, b_z, b_in] (3m), bn = b_hn (m)
    r = sig(W_r h_{t-1} + U_r x_t + b_r)              # (B, m)  reset gate
    z = sig(W_z h_{t-1} + U_z x_t + b_z)              # (B, m)  update gate
    n = tanh(U_n x_t + b_in + r * (W_n h_{t-1} + b_hn))   # (B, m)  candidate
    h_t = (1 - z) * n + z * h_{t-1}                   # (B, m)  hidden state
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops


def forward(p, x: np.ndarray, h0: np.ndarray) -> tuple[np.ndarray, dict]:
    """p: the layer's arrays by role, W (3m, m), U (3m, n), b (3m,), bn (m,). x: (B, T)
    characters or (B, T, n) inputs; h0: (B, m). Returns hs (B, T, m) and the cache for backward."""
    W, U, b, bn = p["W"], p["U"], p["b"], p["bn"]
    m = h0.shape[1]
    h = h0  # (B, m)  h_{t-1}
    h_steps: list[np.ndarray] = []  # T of (B, m)
    gates, hns = [], []  # T of (r, z, n), (B, m)
    for t in range(x.shape[1]):
        wh = ops.matvec(W, h)  # (B, 3m)  [W_r h, W_z h, W_n h]
        ux = ops.add_bias(ops.input_term(U, x[:, t]), b)  # (B, 3m)  [U_r x + b_r, .., U_n x + b_in]
        r = ops.sigmoid(ux[:, :m] + wh[:, :m])  # (B, m)
        z = ops.sigmoid(ux[:, m : 2 * m] + wh[:, m : 2 * m])  # (B, m)
        hn = ops.add_bias(wh[:, 2 * m :], bn)  # (B, m)  W_n h_{t-1} + b_hn
        n = ops.tanh(ux[:, 2 * m :] + r * hn)  # (B, m)
        h = (1.0 - z) * n + z * h  # (B, m)
        h_steps.append(h)
        gates.append((r, z, n))
        hns.append(hn)
    hs = np.stack(h_steps, axis=1)  # (B, T, m)
    cache: dict[str, Any] = {"x": x, "h0": h0, "hs": hs, "gates": gates, "hns": hns}
    return hs, cache


def backward(p, cache: dict, dhs: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """dhs (B, T, m): dL/dh_t from above (the output layer, or the next layer's input), not
    through time. Returns ({"W": dW, "U": dU, "b": db, "bn": dbn}, dx): dx (B, T, n) = dL/dx_t
    for a dense input, None for characters. One reverse-time loop fills every gradient."""
    W, U = p["W"], p["U"]
    x, h0, hs, gates, hns = (cache[k] for k in ("x", "h0", "hs", "gates", "hns"))
    dtype = hs.dtype  # complex if the forward was
    dW, dU, db, dbn = (np.zeros(a.shape, dtype) for a in (W, U, p["b"], p["bn"]))
    dx = None if x.dtype.kind in "iu" else np.zeros(x.shape, dtype)  # (B, T, n)
    dh_next = np.zeros(h0.shape, dtype)  # (B, m)  dL/dh_t through step t+1
    for t in reversed(range(x.shape[1])):
        r, z, n = gates[t]  # (B, m) each
        hn = hns[t]  # (B, m)  W_n h_{t-1} + b_hn
        h_prev = hs[:, t - 1] if t > 0 else h0  # (B, m)
        dh = dhs[:, t] + dh_next  # h_t feeds the layer above and step t+1
        dz = dh * (h_prev - n)  # h_t = (1 - z) * n + z * h_{t-1}
        dn = dh * (1.0 - z)  # h_t = (1 - z) * n + ...
        dan = dn * (1.0 - n * n)  # n = tanh(a_n), tanh' = 1 - tanh^2
        dr = dan * hn  # a_n = U_n x + b_in + r * hn
        dhn = dan * r  # a_n = ... + r * hn
        dar = dr * r * (1.0 - r)  # r = sig(a_r), sig' = sig (1 - sig)
        daz = dz * z * (1.0 - z)  # z = sig(a_z)
        dux = np.concatenate([dar, daz, dan], axis=1)  # (B, 3m)  into U x_t + b
        dwh = np.concatenate([dar, daz, dhn], axis=1)  # (B, 3m)  into W h_{t-1} (+ b_hn)
        db += dux.sum(axis=0)  # [a_r, a_z, a_n] = ... + [b_r, b_z, b_in]
        dbn += dhn.sum(axis=0)  # hn = W_n h_{t-1} + b_hn
        dW += dwh.T @ h_prev  # a_r, a_z, hn read W h_{t-1}
        dx_t = ops.input_term_backward(dU, U, x[:, t], dux)  # a_r, a_z, a_n read U x_t
        if dx is not None:
            dx[:, t] = dx_t
        dh_next = dwh @ W + dh * z  # W h_{t-1} in a_r, a_z, hn; h_t = ... + z * h_{t-1}
    return {"W": dW, "U": dU, "b": db, "bn": dbn}, dx
