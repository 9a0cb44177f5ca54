"""The training loop in numpy, mirroring cpp/train/trainer: the assignment's loop (batch 1) for
any model of the family, the oracle of the native Trainer.
"""

from __future__ import annotations

import warnings

import numpy as np

from .model import forward_backward
from .optim import OPTIMIZERS, adagrad_step, adam_step, clip_by_norm, clip_gradients, rmsprop_step
from .params import Params

__all__ = ["train"]


def train(
    params: Params,
    encoded,
    steps: int,
    seq_length: int = 25,
    eta: float = 0.1,
    eps: float = 1e-8,
    clip: float = 5.0,
    optimizer: str = "adagrad",
    clip_norm: float = 0.0,
    decay: float = 0.95,
    beta1: float = 0.9,
    beta2: float = 0.999,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    *,
    limit: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The assignment's training loop, as the native Trainer runs it (batch 1), for any model of
    the family, updating params in place. Returns (losses, smooth_losses), one per update.

    inputs = text[e : e+T], targets = text[e+1 : e+T+1]; forward, backward, clip (elementwise to
    +-clip, or by the global norm to clip_norm if clip_norm > 0), then the optimiser's update
    ("adagrad" with eps; "rmsprop" with decay, eps; "adam" with beta1, beta2, eps, t = the update's
    number from 1); e += T, the state (h, and c for lstm, every layer) carried; when fewer than
    T+1 characters remain a new epoch starts with e = 0 and the state zero. With dropout, update
    `step` (from 0) uses the masks of (dropout_seed, step). `limit` is the old name of `clip`
    (deprecated).
    """
    if limit is not None:
        warnings.warn("reference.train(limit=) is now clip=", DeprecationWarning, stacklevel=2)
        clip = limit
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose 'adagrad', 'rmsprop' or 'adam'")
    if not clip_norm >= 0:
        raise ValueError(f"clip_norm must be >= 0 (0: clip elementwise), got {clip_norm}")
    encoded = np.asarray(encoded)
    T = seq_length
    if encoded.size < T + 1:
        raise ValueError(f"the text has {encoded.size} characters; training needs {T + 1}")
    memory = Params.zeros(params.layout)  # adagrad: sum of g^2; rmsprop: mean of g^2
    m = Params.zeros(params.layout)  # adam: mean of g
    v = Params.zeros(params.layout)  # adam: mean of g^2
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
            clip_gradients(result.grads, clip)
        if optimizer == "adagrad":
            adagrad_step(params, result.grads, memory, eta, eps)
        elif optimizer == "rmsprop":
            rmsprop_step(params, result.grads, memory, eta, decay, eps)
        else:
            adam_step(params, result.grads, m, v, step + 1, eta, beta1, beta2, eps)
        h_prev, c_prev = result.h_last, result.c_last
        e += T
    return losses, smooth_losses
