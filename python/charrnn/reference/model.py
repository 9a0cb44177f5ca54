"""The model family in plain numpy: a stack of L recurrent layers (rnn.py, lstm.py, gru.py) and
the output layer, the oracle the native core is tested against. Clarity over speed, float64
(complex works too, for complex-step derivatives); sequences are batched throughout.

    layer 1 reads the character x_t (a column of U1), or with an embedding e_t = E[:, x_t]
    (D); layer l > 1 reads h_t of layer l-1
    o_t = V h_t + c                  # (B, K)  logits, from the top layer's h_t
    p_t = softmax(o_t)               # (B, K)  probabilities, max-shifted
    L   = -(1/B) sum_b sum_t log p_t[y_t]    # summed over the sequence, mean over the batch

With dropout, each layer's h_t is multiplied by its mask where it leaves the layer: into layer
l+1, or from the top into o_t (dropout.py). A target y_t = -1 predicts nothing (a document's
padding): the sum runs over the n targets there are, and 1/B becomes T/n, the loss of full
windows of T characters (loss_scale).

The parameter layout (names, shapes, block order, init kinds) is the native core's, passed in
(charrnn._core.layout); nothing here spells it out. Not here: data handling, sampling.
For readers of min-char-rnn: U=Wxh, W=Whh, V=Why, b=bh, c=by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import gru, lstm, ops, rnn
from .dropout import masks as dropout_masks
from .params import Params

__all__ = [
    "Batch",
    "Forward",
    "Result",
    "backward",
    "check_inputs",
    "forward",
    "forward_backward",
    "loss",
    "loss_scale",
    "output_backward",
    "output_forward",
    "run",
]

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}


@dataclass(eq=False)
class Batch:
    """Checked input, batch-shaped, and how the caller shaped it (outputs are shaped alike)."""

    x: np.ndarray
    """Input characters, integer (B, T)."""
    y: np.ndarray
    """Target characters, integer (B, T); -1 for none."""
    h0: np.ndarray
    """Initial hidden state (L, B, m)."""
    c0: np.ndarray | None
    """lstm: initial cell state (L, B, m); None otherwise."""
    batched: bool
    """Whether inputs were (B, T), not (T,)."""
    layer_axis: bool
    """Whether h0 had the leading layer axis (h0 None: when L > 1), whatever c0 had."""


def check_inputs(params: Params, inputs, targets, h0=None, c0=None) -> Batch:
    """Validate and convert; ValueError for shapes and types, IndexError for indices out of the
    vocabulary (a target may be -1: no prediction there). inputs, targets (T,) or (B, T); h0, c0
    (L, m) / (L, B, m), or without the layer axis when L == 1, (m,) / (B, m); None means zeros.
    c0 is for lstm models only."""
    x, y = np.asarray(inputs), np.asarray(targets)
    for name, seq in (("inputs", x), ("targets", y)):
        if seq.ndim not in (1, 2):
            raise ValueError(
                f"{name} must be a sequence of indices (T,) or a batch of them "
                f"(B, T), got shape {seq.shape}"
            )
        if seq.size == 0:
            raise ValueError(f"{name} is empty; a sequence needs at least one time step")
        if seq.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integers, got dtype {seq.dtype}")
    if x.shape != y.shape:
        raise ValueError(f"inputs and targets differ in shape (length): {x.shape} vs {y.shape}")
    for name, seq, low in (("inputs", x, 0), ("targets", y, -1)):
        bad = (seq < low) | (seq >= params.K)
        if bad.any():
            where = np.unravel_index(int(np.argmax(bad)), seq.shape)
            index = ", ".join(str(int(i)) for i in where)
            raise IndexError(
                f"{name}[{index}] = {int(seq[where])} is outside the vocabulary [{low}, {params.K})"
            )
    batched = x.ndim == 2
    x, y = np.atleast_2d(x), np.atleast_2d(y)
    B, L, m = x.shape[0], params.layers, params.m
    with_axis = (L, B, m) if batched else (L, m)
    without = (B, m) if batched else (m,)
    allowed = [with_axis] + ([without] if L == 1 else [])

    def state(name: str, s) -> np.ndarray | None:
        if s is None:
            return None
        s = np.asarray(s)
        if s.dtype.kind in "iu":
            s = s.astype(np.float64)
        if s.shape not in allowed or s.dtype.kind not in "fc":
            shapes = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must be a float array of shape {shapes} for {L} layer(s) of "
                f"{m} units and inputs of shape {np.shape(inputs)}, got {s.shape} "
                f"{s.dtype}"
            )
        return s

    h0, c0 = state("h0", h0), state("c0", c0)
    if c0 is not None and params.cell != "lstm":
        raise ValueError(f"c0 is the LSTM's cell state; a {params.cell} model has none")
    layer_axis = h0.shape == with_axis if h0 is not None else L > 1  # h0 decides, not c0

    def full(s) -> np.ndarray:  # (L, B, m)
        return np.zeros((L, B, m)) if s is None else s.reshape(L, B, m)

    return Batch(x, y, full(h0), full(c0) if params.cell == "lstm" else None, batched, layer_axis)


def run(
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    first: int = 1,
    below: np.ndarray | None = None,
    perturbed: Mapping[str, ops.Perturbed] | None = None,
    masks: Sequence[np.ndarray] | None = None,
):
    """The model on checked, batch-shaped arrays (see check_inputs): layers first..L, then the
    output layer. Layer first reads `below` (B, T, m), the hs of layer first-1, if first > 1;
    first = L + 1 runs the output layer only. `perturbed` replaces arrays by name (complex step).
    masks: dropout's (B, T, m) for each layer's output (dropout.masks), or None.

    Returns (losses (B,) per sequence, probs (B, T, K), [(hs, cs, cache) per layer run]).
    """
    perturbed = perturbed or {}

    def leaving(l: int, hs: np.ndarray) -> np.ndarray:  # what leaves layer l: mask .* h_t
        return hs if masks is None else hs * masks[l - 1]

    def arrays(layer: int) -> dict:  # role -> array of one layer
        return {
            role: perturbed.get(name, params[name]) for role, name in params.roles(layer).items()
        }

    layers = []
    if first > 1:
        assert below is not None, "a run from layer first > 1 reads below"
        inp = leaving(first - 1, below)  # (B, T, m)
    elif params.embedding:
        inp = ops.embed(perturbed.get("E", params["E"]), x)  # (B, T, D)  e_t = E[:, x_t]
    else:
        inp = x  # (B, T) characters
    for l in range(first, params.layers + 1):
        if params.cell == "lstm":
            assert c0 is not None  # check_inputs gives an lstm its c0
            hs, cache = lstm.forward(arrays(l), inp, h0[l - 1], c0[l - 1])
        else:
            hs, cache = CELLS[params.cell].forward(arrays(l), inp, h0[l - 1])
        layers.append((hs, cache.get("cs"), cache))
        inp = leaving(l, hs)
    head = arrays(0)
    losses, probs = output_forward(head["V"], head["c"], inp, y)
    return losses, probs, layers


def loss_scale(y: np.ndarray) -> float:
    """The factor from the summed losses of a batch of targets y (B, T) to L: 1/B, or T/n when
    only n targets are not -1 (0 when none is)."""
    n = int(np.count_nonzero(y >= 0))
    return y.shape[1] / n if n else 0.0


def output_forward(V, c, hs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The output layer on the top layer's hs (B, T, m): o_t = V h_t + c, p_t = softmax(o_t).
    Returns the losses -sum_t log p_t[y_t] per sequence (B,), over the targets that are not -1,
    and probs (B, T, K)."""
    rows = np.arange(y.shape[0])
    losses = np.zeros(y.shape[0])  # (B)
    probs = []  # T of (B, K)
    for t in range(y.shape[1]):
        o = ops.add_bias(ops.matvec(V, hs[:, t]), c)  # (B, K)
        # Max-shift so exp cannot overflow; by the real part, so complex step uses the same code.
        z = o - o.real.max(axis=1, keepdims=True)  # (B, K)
        e = np.exp(z)  # (B, K)
        s = e.sum(axis=1)  # (B)
        probs.append(e / s[:, None])
        counted = y[:, t] >= 0
        log_p = z[rows, np.where(counted, y[:, t], 0)] - np.log(s)  # never log(0)
        losses = losses - np.where(counted, log_p, 0)  # -log p_t[y_t]
    return losses, np.stack(probs, axis=1)


def output_backward(V: np.ndarray, hs: np.ndarray, y: np.ndarray, probs: np.ndarray):
    """The output layer's backward for L = (1/B) sum_b L_b (see loss_scale). Returns dV (K, m),
    dc (K,) and dhs (B, T, m) = dL/dh_t of the top layer."""
    counted = y >= 0  # (B, T)
    b, t = np.nonzero(counted)
    d_o = probs.copy()  # (B, T, K)
    d_o[b, t, y[b, t]] -= 1.0  # p = softmax(o), L_b = -log p[y]  =>  d_o = p - onehot(y)
    d_o[~counted] = 0.0  # no target, no loss
    d_o *= loss_scale(y)  # L = (1/B) sum_b L_b
    dV = np.einsum("btk,btm->km", d_o, hs)  # o_t = V h_t + c, summed over b and t
    dc = d_o.sum(axis=(0, 1))  # o_t = V h_t + c
    dhs = d_o @ V  # (B, T, m)  V^T d_o: h_t feeds o_t
    return dV, dc, dhs


@dataclass(eq=False)
class Forward:
    """forward()'s output: the loss, the activations shaped as the caller shaped the input, and
    what backward() needs."""

    loss: float | complex
    """L (complex under complex step)."""
    hs: np.ndarray
    """h_1 .. h_T: (T, m) / (B, T, m), or (L, T, m) / (L, B, T, m) with the layer axis."""
    cs: np.ndarray | None
    """lstm: c_1 .. c_T, like hs; None otherwise."""
    h_last: np.ndarray
    """h_T, like h0: (m,) / (B, m) or (L, m) / (L, B, m)."""
    c_last: np.ndarray | None
    """lstm: c_T, like h_last; None otherwise."""
    probs: np.ndarray
    """p_1 .. p_T: (T, K) / (B, T, K)."""
    batch: Batch
    """The checked input."""
    layers: list
    """[(hs (B, T, m), cs, cache) per layer], for backward()."""
    batch_probs: np.ndarray
    """p_1 .. p_T batch-shaped, (B, T, K)."""
    masks: list | None = None
    """Dropout's (B, T, m) mask per layer, or None."""


def _shaped(a: np.ndarray, batch: Batch) -> np.ndarray:
    """(L, B, ...) -> the caller's convention: drop B for unbatched input, L without the axis."""
    if not batch.batched:
        a = a[:, 0]
    return a if batch.layer_axis else a[0]


def forward(
    params: Params,
    inputs,
    targets,
    h0=None,
    c0=None,
    *,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    dropout_step: int = 0,
) -> Forward:
    """Loss and every activation for a sequence (T,) or a batch (B, T) from state h0 (and c0).
    dropout > 0: the masks of (dropout_seed, dropout_step), as the native core draws them."""
    batch = check_inputs(params, inputs, targets, h0, c0)
    B, T = batch.x.shape
    masks = dropout_masks(dropout, dropout_seed, dropout_step, params.layers, B, T, params.m)
    losses, probs, layers = run(params, batch.x, batch.y, batch.h0, batch.c0, masks=masks)
    loss = losses.sum() * loss_scale(batch.y)  # L = (1/B) sum_b L_b
    hs = np.stack([hs for hs, _, _ in layers])  # (L, B, T, m)
    cs = np.stack([cs for _, cs, _ in layers]) if params.cell == "lstm" else None
    return Forward(
        loss=complex(loss) if np.iscomplexobj(loss) else float(loss),
        hs=_shaped(hs, batch),
        cs=None if cs is None else _shaped(cs, batch),
        h_last=_shaped(hs[:, :, -1], batch),
        c_last=None if cs is None else _shaped(cs[:, :, -1], batch),
        probs=probs if batch.batched else probs[0],
        batch=batch,
        layers=layers,
        batch_probs=probs,
        masks=masks,
    )


def backward(params: Params, fwd: Forward) -> Params:
    """Gradients of the loss by backpropagation through time, from forward()'s output. Unclipped:
    clipping is its own step, so a gradient check sees the true gradients."""
    masks = fwd.masks
    top = fwd.layers[-1][0]  # (B, T, m)  h_t of the top layer
    if masks is not None:
        top = top * masks[-1]  # what o_t reads
    grads = Params.zeros(params.layout, np.result_type(top, fwd.batch_probs, params.flat))
    grads["V"], grads["c"], dhs = output_backward(params["V"], top, fwd.batch.y, fwd.batch_probs)
    for l in reversed(range(1, params.layers + 1)):  # dhs: dL/dh_t of layer l, from above
        if masks is not None:
            dhs = dhs * masks[l - 1]  # h_t leaves the layer as mask .* h_t
        names = params.roles(l)
        p = {role: params[name] for role, name in names.items()}
        layer_grads, dhs = CELLS[params.cell].backward(p, fwd.layers[l - 1][2], dhs)
        for role, g in layer_grads.items():  # dhs is now that of layer l-1 (None at l = 1)
            grads[names[role]] = g
    if params.embedding:  # e_t = E[:, x_t]: column x_t of dE gets de_t (dhs of layer 1's input)
        np.add.at(grads["E"].T, fwd.batch.x, dhs)
    return grads


@dataclass(eq=False)
class Result:
    """forward_backward()'s output, shaped like the native Result (see Forward for the shapes)."""

    loss: float
    """L, a float."""
    grads: Params
    """The gradients, unclipped, in the model's layout."""
    h_last: np.ndarray
    """h_T of every layer, shaped as h0."""
    c_last: np.ndarray | None
    """lstm: c_T, shaped as h_last; None otherwise."""
    hs: np.ndarray
    """h_1 .. h_T, as Forward.hs."""
    cs: np.ndarray | None
    """lstm: c_1 .. c_T, as hs; None otherwise."""
    probs: np.ndarray
    """p_1 .. p_T: (T, K) or (B, T, K)."""


def forward_backward(
    params: Params,
    inputs,
    targets,
    h0=None,
    c0=None,
    *,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    dropout_step: int = 0,
) -> Result:
    """Loss, gradients (unclipped) and activations for a sequence or a batch from (h0, c0);
    dropout as in forward()."""
    fwd = forward(
        params,
        inputs,
        targets,
        h0,
        c0,
        dropout=dropout,
        dropout_seed=dropout_seed,
        dropout_step=dropout_step,
    )
    grads = backward(params, fwd)
    return Result(
        loss=float(np.real(fwd.loss)),
        grads=grads,
        h_last=fwd.h_last,
        c_last=fwd.c_last,
        hs=fwd.hs,
        cs=fwd.cs,
        probs=fwd.probs,
    )


def loss(
    params: Params,
    inputs,
    targets,
    h0=None,
    c0=None,
    *,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    dropout_step: int = 0,
) -> float | complex:
    """Forward only: L = -(1/B) sum_b sum_t log p_t[y_t]. Complex if params are (complex step)."""
    return forward(
        params,
        inputs,
        targets,
        h0,
        c0,
        dropout=dropout,
        dropout_seed=dropout_seed,
        dropout_step=dropout_step,
    ).loss
