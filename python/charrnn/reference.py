"""The vanilla character RNN in plain numpy: the oracle the native core (cpp/rnn.cpp) is tested
against. Same names, shapes and order of operations as rnn.cpp; clarity over speed.

    a_t = W h_{t-1} + U x_t + b      # (m)   pre-activation
    h_t = tanh(a_t)                  # (m)   hidden state
    o_t = V h_t + c                  # (K)   logits
    p_t = softmax(o_t)               # (K)   probabilities
    L   = -sum_t log p_t[y_t]        # summed over the sequence

For readers of min-char-rnn: U=Wxh, W=Whh, V=Why, b=bh, c=by. Not here: data handling, sampling,
the training loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "NAMES",
    "Params",
    "Result",
    "adagrad_step",
    "backward",
    "clip_gradients",
    "forward",
    "forward_backward",
    "loss",
]

NAMES = ("W", "U", "V", "b", "c")


@dataclass(eq=False)
class Params:
    """The five parameter arrays. The same type holds weights, gradients and AdaGrad memory."""

    W: np.ndarray  # (m, m)  hidden -> hidden
    U: np.ndarray  # (m, K)  input -> hidden; column x is the input weight of character x
    V: np.ndarray  # (K, m)  hidden -> logits
    b: np.ndarray  # (m,)    hidden bias
    c: np.ndarray  # (K,)    logit bias

    def __post_init__(self) -> None:
        # asarray keeps the caller's arrays (no copy) so in-place edits reach them, and keeps
        # their dtype (complex for complex-step differentiation).
        for name in NAMES:
            setattr(self, name, np.asarray(getattr(self, name)))
        m, K = self.U.shape if self.U.ndim == 2 else (-1, -1)
        expected = {"W": (m, m), "U": (m, K), "V": (K, m), "b": (m,), "c": (K,)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape or m < 1 or K < 1:
                shapes = ", ".join(f"{n} {getattr(self, n).shape}" for n in NAMES)
                raise ValueError(
                    f"inconsistent parameter shapes ({shapes}); expected W (m, m), U (m, K), "
                    f"V (K, m), b (m,), c (K,) with K, m >= 1"
                )

    @classmethod
    def zeros(cls, K: int, m: int, dtype: npt.DTypeLike = float) -> Params:
        return cls(
            W=np.zeros((m, m), dtype),
            U=np.zeros((m, K), dtype),
            V=np.zeros((K, m), dtype),
            b=np.zeros(m, dtype),
            c=np.zeros(K, dtype),
        )

    @classmethod
    def random(cls, K: int, m: int, sig: float = 0.01, seed: int = 0) -> Params:
        """W, U, V ~ N(0, sig^2), drawn in that order from numpy's default_rng(seed); biases 0."""
        rng = np.random.default_rng(seed)
        W = rng.normal(0.0, sig, size=(m, m))
        U = rng.normal(0.0, sig, size=(m, K))
        V = rng.normal(0.0, sig, size=(K, m))
        return cls(W=W, U=U, V=V, b=np.zeros(m), c=np.zeros(K))

    @classmethod
    def from_any(cls, obj: object) -> Params:
        """Copy attributes W, U, V, b, c of any object (e.g. native params) into float64 arrays."""
        return cls(**{name: np.array(getattr(obj, name), dtype=np.float64) for name in NAMES})

    @property
    def K(self) -> int:
        return self.U.shape[1]

    @property
    def m(self) -> int:
        return self.W.shape[0]

    def copy(self) -> Params:
        return Params(**{name: arr.copy() for name, arr in self.items()})

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) pairs in the order of NAMES."""
        return ((name, getattr(self, name)) for name in NAMES)


@dataclass(eq=False)
class Result:
    loss: float
    grads: Params
    h_last: np.ndarray  # (m,)    h_T, the state to carry into the next chunk of text
    hs: np.ndarray  # (T, m)  h_1 .. h_T
    probs: np.ndarray  # (T, K)  p_1 .. p_T


def _check_sequence(
    params: Params, inputs, targets, h0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and convert (inputs, targets, h0); ValueError for shapes, IndexError for range."""
    x = np.asarray(inputs)
    y = np.asarray(targets)
    for name, seq in (("inputs", x), ("targets", y)):
        if seq.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of indices, got shape {seq.shape}")
        if seq.size == 0:
            raise ValueError(f"{name} is empty; a sequence needs at least one time step")
        if seq.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integers, got dtype {seq.dtype}")
    if x.shape != y.shape:
        raise ValueError(f"inputs and targets differ in length: {x.size} vs {y.size}")
    for name, seq in (("inputs", x), ("targets", y)):
        bad = (seq < 0) | (seq >= params.K)
        if bad.any():
            t = int(np.argmax(bad))
            raise IndexError(
                f"{name}[{t}] = {int(seq[t])} is outside the vocabulary [0, {params.K})"
            )
    h0 = np.asarray(h0)
    if h0.shape != (params.m,):
        raise ValueError(f"h0 must have shape ({params.m},), got {h0.shape}")
    return x, y, h0


def forward(params: Params, inputs, targets, h0) -> tuple[float | complex, np.ndarray, np.ndarray]:
    """Loss L, hidden states hs (T, m) = h_1..h_T and probabilities probs (T, K) = p_1..p_T.

    Works on complex params too (complex-step differentiation): the loss is then complex.
    """
    x, y, h0 = _check_sequence(params, inputs, targets, h0)
    W, U, V, b, c = params.W, params.U, params.V, params.b, params.c
    T = x.size
    dtype = np.result_type(W, U, V, b, c, h0, np.float64)
    hs = np.empty((T, params.m), dtype)  # (T, m)
    probs = np.empty((T, params.K), dtype)  # (T, K)
    loss = np.zeros((), dtype)
    h = h0  # (m)   h_{t-1}
    for t in range(T):
        a = W @ h + U[:, x[t]] + b  # (m)   U x_t is column x_t of U, never a one-hot product
        h = np.tanh(a)  # (m)
        o = V @ h + c  # (K)
        # Max-shift so exp cannot overflow; by the real part, so complex-step uses the same code.
        z = o - o.real.max()  # (K)
        e = np.exp(z)  # (K)
        p = e / e.sum()  # (K)
        loss -= z[y[t]] - np.log(e.sum())  # -log p_t[y_t], without ever taking log(0)
        hs[t] = h
        probs[t] = p
    loss_out = complex(loss) if np.iscomplexobj(loss) else float(loss)
    return loss_out, hs, probs


def backward(params: Params, inputs, targets, h0, hs: np.ndarray, probs: np.ndarray) -> Params:
    """Gradients of L by backpropagation through time, from forward()'s hs, probs. Unclipped."""
    x, y, h0 = _check_sequence(params, inputs, targets, h0)
    W, V = params.W, params.V
    grads = Params.zeros(params.K, params.m, dtype=np.result_type(hs, probs))
    dW, dU, dV, db, dc = grads.W, grads.U, grads.V, grads.b, grads.c
    dh_next = np.zeros(params.m, grads.W.dtype)  # (m)   dL/dh_t through a_{t+1}
    for t in reversed(range(x.size)):
        h = hs[t]  # (m)
        h_prev = hs[t - 1] if t > 0 else h0  # (m)
        d_o = probs[t].copy()  # (K)
        d_o[y[t]] -= 1.0  # p_t = softmax(o_t), L = -log p_t[y_t]  =>  d_o = p_t - onehot(y_t)
        dV += np.outer(d_o, h)  # o_t = V h_t + c
        dc += d_o  # o_t = V h_t + c
        dh = V.T @ d_o + dh_next  # h_t feeds o_t and a_{t+1}
        da = (1.0 - h * h) * dh  # h_t = tanh(a_t), tanh' = 1 - tanh^2
        db += da  # a_t = W h_{t-1} + U x_t + b
        dW += np.outer(da, h_prev)  # a_t = W h_{t-1} + ...
        dU[:, x[t]] += da  # a_t = ... + U x_t + ...  (only column x_t is used)
        dh_next = W.T @ da  # a_t = W h_{t-1} + ...  (h_{t-1} is the previous step's h)
    return grads


def forward_backward(params: Params, inputs, targets, h0) -> Result:
    """Loss, gradients (unclipped) and activations for one sequence starting from state h0."""
    loss_value, hs, probs = forward(params, inputs, targets, h0)
    grads = backward(params, inputs, targets, h0, hs, probs)
    return Result(loss=float(loss_value), grads=grads, h_last=hs[-1].copy(), hs=hs, probs=probs)


def loss(params: Params, inputs, targets, h0) -> float | complex:
    """Forward only: L = -sum_t log p_t[y_t]. Complex if params are complex (complex step)."""
    return forward(params, inputs, targets, h0)[0]


def clip_gradients(grads: Params, limit: float = 5.0) -> None:
    """In place, elementwise: g <- min(max(g, -limit), limit). Kept out of backward()."""
    if not limit > 0:
        raise ValueError(f"clip limit must be positive, got {limit}")
    for _, g in grads.items():
        np.clip(g, -limit, limit, out=g)


def adagrad_step(
    params: Params, grads: Params, memory: Params, eta: float = 0.1, eps: float = 1e-8
) -> None:
    """In place: mem += g^2;  theta -= eta g / sqrt(mem + eps)."""
    for name, theta in params.items():
        g = getattr(grads, name)
        mem = getattr(memory, name)
        mem += g * g
        theta -= eta * g / np.sqrt(mem + eps)


def train(params: Params, encoded, steps: int, seq_length: int = 25, eta: float = 0.1,
          eps: float = 1e-8, limit: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's training loop, as the native Trainer runs it (batch 1), updating params
    in place. Returns (losses, smooth_losses), one per update.

    inputs = text[e : e+T], targets = text[e+1 : e+T+1]; forward, backward, clip, AdaGrad;
    e += T; when fewer than T+1 characters remain a new epoch starts with e = 0 and h_prev = 0.
    """
    encoded = np.asarray(encoded)
    T = seq_length
    if encoded.size < T + 1:
        raise ValueError(f"the text has {encoded.size} characters; training needs {T + 1}")
    memory = Params.zeros(params.K, params.m)
    h_prev = np.zeros(params.m)
    e = 0
    smooth = float("nan")
    losses, smooth_losses = np.empty(steps), np.empty(steps)
    for step in range(steps):
        if e + T + 1 > encoded.size:
            e, h_prev = 0, np.zeros(params.m)
        result = forward_backward(params, encoded[e:e + T], encoded[e + 1:e + T + 1], h_prev)
        smooth = result.loss if step == 0 else 0.999 * smooth + 0.001 * result.loss
        losses[step], smooth_losses[step] = result.loss, smooth
        clip_gradients(result.grads, limit)
        adagrad_step(params, result.grads, memory, eta, eps)
        h_prev = result.h_last
        e += T
    return losses, smooth_losses
