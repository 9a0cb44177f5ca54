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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from charrnn.spec import ModelSpec

from . import gru, lstm, ops, rnn
from .dropout import masks as dropout_masks

__all__ = [
    "Batch",
    "Forward",
    "OPTIMIZERS",
    "Params",
    "Result",
    "adagrad_step",
    "adam_step",
    "backward",
    "check_inputs",
    "clip_by_norm",
    "clip_gradients",
    "forward",
    "forward_backward",
    "loss",
    "loss_scale",
    "output_backward",
    "output_forward",
    "rmsprop_step",
    "run",
    "train",
]

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # rows of a layer's stacked weights per hidden unit
OPTIMIZERS = ("adagrad", "rmsprop", "adam")


def _read_layout(layout: Sequence[Mapping[str, Any]]) -> tuple[tuple[dict, ...], ModelSpec]:
    """Normalise a layout table and derive its spec; ValueError if it is not a model of the
    family (the shapes are those the equations need, checked here so that a wrong table fails
    with its own message rather than deep inside a product)."""
    entries = tuple(
        dict(
            name=str(e["name"]),
            role=str(e["role"]),
            layer=int(e["layer"]),
            shape=tuple(int(s) for s in e["shape"]),
            offset=int(e["offset"]),
            size=int(e["size"]),
            init=str(e["init"]),
        )
        for e in layout
    )
    by_role = {(e["role"], e["layer"]): e for e in entries}
    Ws = sorted(layer for role, layer in by_role if role == "W")
    if not Ws or ("V", 0) not in by_role or len(by_role) != len(entries):
        raise ValueError("a layout needs one W per layer, one V and no repeated (role, layer)")
    L = len(Ws)
    m = by_role[("W", 1)]["shape"][-1]
    G = by_role[("W", 1)]["shape"][0] // max(m, 1)
    K = by_role[("V", 0)]["shape"][0]
    cell = {g: c for c, g in GATES.items()}.get(G)
    if cell is None or Ws != list(range(1, L + 1)) or K < 1 or m < 1:
        raise ValueError(
            f"layout: W1 {by_role[('W', 1)]['shape']} is not (G m, m) with G in "
            f"1, 4, 3 (rnn, lstm, gru), or layers are not numbered 1..L"
        )
    expected = {("V", 0): (K, m), ("c", 0): (K,)}
    D = by_role[("E", 0)]["shape"][0] if ("E", 0) in by_role else 0
    if D:
        expected[("E", 0)] = (D, K)
    for l in range(1, L + 1):
        expected[("W", l)] = (G * m, m)
        expected[("U", l)] = (G * m, (D or K) if l == 1 else m)
        expected[("b", l)] = (G * m,)
        if cell == "gru":
            expected[("bn", l)] = (m,)
    got = {key: e["shape"] for key, e in by_role.items()}
    if got != expected:
        raise ValueError(
            f"layout does not match a {L}-layer {cell} with K={K}, m={m}: "
            f"expected {expected}, got {got}"
        )
    offset = 0
    for e in sorted(entries, key=lambda e: e["offset"]):
        if e["offset"] != offset or e["size"] != int(np.prod(e["shape"])):
            raise ValueError(
                f"layout: {e['name']} at offset {e['offset']} size {e['size']} "
                f"does not continue the block at {offset}"
            )
        offset += e["size"]
    return entries, ModelSpec(cell, K, m, L, D)


class Params(Mapping[str, np.ndarray]):
    """All parameters of one model in one flat block, with a view per name, in the layout's order.

    The same type holds weights, gradients and optimizer state (clipping and the update are flat
    loops). params["W1"] and params.W1 are views into params.flat; assigning to a name copies in.
    Carries its layout (the native table) and spec: cell, K, m, layers.

    Args:
        layout: The native layout table (charrnn.layout(cell, K, m, layers)).
        flat: The block to view, (n,), kept without a copy; None: zeros of `dtype`.
        dtype: The dtype of a new block (float64; complex128 for complex step).

    Raises:
        ValueError: A layout that is not a model of the family, or a flat of another length.
        KeyError: params[name] for a name not in the layout.
        AttributeError: params.name for a name not in the layout, or setting one.
    """

    def __init__(
        self,
        layout: Sequence[Mapping[str, Any]],
        flat: npt.ArrayLike | None = None,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        entries, spec = _read_layout(layout)
        size = sum(e["size"] for e in entries)
        # asarray keeps the caller's block (no copy) and its dtype (complex for complex step).
        block = np.zeros(size, dtype) if flat is None else np.asarray(flat)
        if block.shape != (size,):
            raise ValueError(f"flat must have shape ({size},), got {block.shape}")
        object.__setattr__(self, "layout", entries)
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "flat", block)
        object.__setattr__(
            self,
            "_arrays",
            {
                e["name"]: block[e["offset"] : e["offset"] + e["size"]].reshape(e["shape"])
                for e in entries
            },
        )

    # --- constructors
    @classmethod
    def zeros(
        cls, layout: Sequence[Mapping[str, Any]], dtype: npt.DTypeLike = np.float64
    ) -> Params:
        """All-zero parameters of a layout (float64 by default; complex128 for complex step)."""
        return cls(layout, dtype=dtype)

    @classmethod
    def random(
        cls,
        layout: Sequence[Mapping[str, Any]],
        sig: float = 0.01,
        seed: int = 0,
        forget_bias: float = 1.0,
    ) -> Params:
        """Each array drawn by its init kind, in layout order, from numpy's default_rng(seed):
        normal N(0, sig^2); uniform U(-1/sqrt(m), 1/sqrt(m)); unit_normal N(0, 1) (the
        embedding); zeros; forget_bias (zeros, but `forget_bias` for rows m..2m, the LSTM's
        forget gate). The vanilla model is thus W, U, V ~ N(0, sig^2)
        drawn in that order, biases 0."""
        params = cls(layout)
        rng = np.random.default_rng(seed)
        m = params.m
        for e in params.layout:
            theta = params[e["name"]]
            if e["init"] == "normal":
                theta[...] = rng.normal(0.0, sig, size=e["shape"])
            elif e["init"] == "uniform":
                theta[...] = rng.uniform(-1.0 / np.sqrt(m), 1.0 / np.sqrt(m), size=e["shape"])
            elif e["init"] == "unit_normal":
                theta[...] = rng.normal(0.0, 1.0, size=e["shape"])
            elif e["init"] == "forget_bias":
                theta[m : 2 * m] = forget_bias
            elif e["init"] != "zeros":
                raise ValueError(f"{e['name']}: unknown init kind {e['init']!r}")
        return params

    @classmethod
    def from_native(cls, native: Any) -> Params:
        """A float64 copy of any params object with .layout and an array attribute per name
        (the native core's Params)."""
        params = cls(native.layout)
        for name in params:
            params[name] = np.asarray(getattr(native, name), dtype=np.float64)
        return params

    def copy(self) -> Params:
        """An independent copy."""
        return Params(self.layout, self.flat.copy())

    def astype(self, dtype: npt.DTypeLike) -> Params:
        """A copy in another dtype (complex128 for complex-step derivatives)."""
        return Params(self.layout, self.flat.astype(dtype))

    # --- the mapping: name -> view, in layout order
    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __setitem__(self, name: str, value: npt.ArrayLike) -> None:
        target = self._arrays[name]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{name} has shape {target.shape}, got {value.shape}")
        target[...] = value

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or parameter {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._arrays:
            self[name] = value
        else:
            raise AttributeError(f"cannot set {name!r}: not a parameter of this model")

    __eq__ = object.__eq__  # Mapping's would compare arrays elementwise
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"Params({s.cell}, K={s.K}, m={s.m}, layers={s.layers}, "
            f"dtype={self.flat.dtype}, names={list(self)})"
        )

    # --- the spec
    @property
    def cell(self) -> str:
        """'rnn', 'lstm' or 'gru'."""
        return self.spec.cell

    @property
    def K(self) -> int:
        """Vocabulary size."""
        return self.spec.K

    @property
    def m(self) -> int:
        """Hidden units per layer."""
        return self.spec.m

    @property
    def layers(self) -> int:
        """Number of layers L."""
        return self.spec.layers

    @property
    def embedding(self) -> int:
        """D, the embedding's width; 0: none."""
        return self.spec.embedding

    @property
    def names(self) -> list[str]:
        """The array names in layout order."""
        return list(self._arrays)

    def roles(self, layer: int) -> dict[str, str]:
        """role -> name of the arrays of one layer (0: the output layer's V and c)."""
        return {e["role"]: e["name"] for e in self.layout if e["layer"] == layer}


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
        inp = leaving(first - 1, below)  # (B, T, m)
    elif params.embedding:
        inp = ops.embed(perturbed.get("E", params["E"]), x)  # (B, T, D)  e_t = E[:, x_t]
    else:
        inp = x  # (B, T) characters
    for l in range(first, params.layers + 1):
        if params.cell == "lstm":
            hs, cs, cache = lstm.forward(arrays(l), inp, h0[l - 1], c0[l - 1])
        else:
            hs, cache = CELLS[params.cell].forward(arrays(l), inp, h0[l - 1])
            cs = None
        layers.append((hs, cs, cache))
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


def _same_layout(*blocks: Params) -> None:
    first = [(e["name"], e["shape"]) for e in blocks[0].layout]
    for other in blocks[1:]:
        if [(e["name"], e["shape"]) for e in other.layout] != first:
            raise ValueError(f"parameter blocks of different models: {blocks[0]!r} vs {other!r}")


def clip_gradients(grads: Params, limit: float = 5.0) -> None:
    """In place, elementwise: g <- min(max(g, -limit), limit). Kept out of backward()."""
    if not limit > 0:
        raise ValueError(f"clip limit must be positive, got {limit}")
    np.clip(grads.flat, -limit, limit, out=grads.flat)


def clip_by_norm(grads: Params, max_norm: float) -> float:
    """In place, by the global L2 norm, as torch.nn.utils.clip_grad_norm_:
    g <- g * min(1, max_norm / (||g|| + 1e-6)). Returns ||g|| before clipping.

    The norm is taken as s sqrt(sum((g/s)^2)), s = max|g|, so that huge or tiny gradients
    neither overflow nor underflow."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    g = grads.flat
    s = float(np.max(np.abs(g))) if g.size else 0.0
    norm = s * float(np.sqrt(np.sum((g / s) ** 2))) if 0 < s < np.inf else s
    g *= min(1.0, max_norm / (norm + 1e-6))
    return norm


def adagrad_step(
    params: Params, grads: Params, memory: Params, eta: float = 0.1, eps: float = 1e-8
) -> None:
    """In place, over the flat blocks: mem += g^2;  theta -= eta g / sqrt(mem + eps)."""
    _same_layout(params, grads, memory)
    g = grads.flat
    memory.flat[...] += g * g
    params.flat[...] -= eta * g / np.sqrt(memory.flat + eps)


def rmsprop_step(
    params: Params,
    grads: Params,
    memory: Params,
    eta: float = 0.1,
    decay: float = 0.95,
    eps: float = 1e-8,
) -> None:
    """In place (char-rnn's RMSprop; torch.optim.RMSprop with alpha=decay, centered=False):
    v = decay v + (1 - decay) g^2;  theta -= eta g / (sqrt(v) + eps),  v = memory."""
    _same_layout(params, grads, memory)
    g = grads.flat
    memory.flat[...] = decay * memory.flat + (1 - decay) * g * g
    params.flat[...] -= eta * g / (np.sqrt(memory.flat) + eps)


def adam_step(
    params: Params,
    grads: Params,
    m: Params,
    v: Params,
    t: int,
    eta: float = 0.1,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> None:
    """In place (torch.optim.Adam, torch-rnn's adam), t = updates done including this one:
    m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
    theta -= eta m_hat / (sqrt(v_hat) + eps);  m_hat = m/(1 - beta1^t), v_hat = v/(1 - beta2^t)
    """
    _same_layout(params, grads, m, v)
    if t < 1:
        raise ValueError(f"t counts the updates including this one: it must be >= 1, got {t}")
    g = grads.flat
    m.flat[...] = beta1 * m.flat + (1 - beta1) * g
    v.flat[...] = beta2 * v.flat + (1 - beta2) * g * g
    m_hat = m.flat / (1 - beta1**t)
    v_hat = v.flat / (1 - beta2**t)
    params.flat[...] -= eta * m_hat / (np.sqrt(v_hat) + eps)


def train(
    params: Params,
    encoded,
    steps: int,
    seq_length: int = 25,
    eta: float = 0.1,
    eps: float = 1e-8,
    limit: float = 5.0,
    optimizer: str = "adagrad",
    clip_norm: float = 0.0,
    decay: float = 0.95,
    beta1: float = 0.9,
    beta2: float = 0.999,
    dropout: float = 0.0,
    dropout_seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's training loop, as the native Trainer runs it (batch 1), for any model of
    the family, updating params in place. Returns (losses, smooth_losses), one per update.

    inputs = text[e : e+T], targets = text[e+1 : e+T+1]; forward, backward, clip (elementwise to
    +-limit, or by the global norm to clip_norm if clip_norm > 0), then the optimiser's update
    ("adagrad" with eps; "rmsprop" with decay, eps; "adam" with beta1, beta2, eps, t = the update's
    number from 1); e += T, the state (h, and c for lstm, every layer) carried; when fewer than
    T+1 characters remain a new epoch starts with e = 0 and the state zero. With dropout, update
    `step` (from 0) uses the masks of (dropout_seed, step).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose 'adagrad', 'rmsprop' or 'adam'")
    if not clip_norm >= 0:
        raise ValueError(f"clip_norm must be >= 0 (0: clip elementwise), got {clip_norm}")
    encoded = np.asarray(encoded)
    T = seq_length
    if encoded.size < T + 1:
        raise ValueError(f"the text has {encoded.size} characters; training needs {T + 1}")
    memory = Params.zeros(params.layout)  # adagrad: sum g^2; rmsprop, adam: v
    moment = Params.zeros(params.layout)  # adam: m
    lstm_model = params.cell == "lstm"

    def zero_state() -> tuple[np.ndarray, np.ndarray | None]:  # (L, m) each
        zeros = np.zeros((params.layers, params.m))
        return zeros, (zeros.copy() if lstm_model else None)

    h_prev, c_prev = zero_state()
    e = 0
    smooth = float("nan")
    losses, smooth_losses = np.empty(steps), np.empty(steps)
    for step in range(steps):
        if e + T + 1 > encoded.size:
            e, (h_prev, c_prev) = 0, zero_state()
        result = forward_backward(
            params,
            encoded[e : e + T],
            encoded[e + 1 : e + T + 1],
            h_prev,
            c_prev,
            dropout=dropout,
            dropout_seed=dropout_seed,
            dropout_step=step,
        )
        smooth = result.loss if step == 0 else 0.999 * smooth + 0.001 * result.loss
        losses[step], smooth_losses[step] = result.loss, smooth
        if clip_norm > 0:
            clip_by_norm(result.grads, clip_norm)
        else:
            clip_gradients(result.grads, limit)
        if optimizer == "adagrad":
            adagrad_step(params, result.grads, memory, eta, eps)
        elif optimizer == "rmsprop":
            rmsprop_step(params, result.grads, memory, eta, decay, eps)
        else:
            adam_step(params, result.grads, moment, memory, step + 1, eta, beta1, beta2, eps)
        h_prev, c_prev = result.h_last, result.c_last
        e += T
    return losses, smooth_losses
