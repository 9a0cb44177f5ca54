"""Clipping and the optimizers on flat parameter blocks, mirroring cpp/optim: elementwise and
global-norm clipping, AdaGrad, RMSprop and Adam, each updating params and its state in place.
"""

from __future__ import annotations

import numpy as np

from .params import Params

__all__ = [
    "OPTIMIZERS",
    "adagrad_step",
    "adam_step",
    "clip_by_norm",
    "clip_gradients",
    "rmsprop_step",
]

OPTIMIZERS = ("adagrad", "rmsprop", "adam")


def _same_layout(*blocks: Params) -> None:
    first = [(e["name"], e["shape"]) for e in blocks[0].layout]
    for other in blocks[1:]:
        if [(e["name"], e["shape"]) for e in other.layout] != first:
            raise ValueError(f"parameter blocks of different models: {blocks[0]!r} vs {other!r}")


def clip_gradients(grads: Params, clip: float = 5.0) -> None:
    """In place, elementwise: g <- min(max(g, -clip), clip). Kept out of backward()."""
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip}")
    np.clip(grads.flat, -clip, clip, out=grads.flat)


def clip_by_norm(grads: Params, clip_norm: float) -> float:
    """In place, by the global L2 norm, as torch.nn.utils.clip_grad_norm_ with max_norm =
    clip_norm: g <- g * min(1, clip_norm / (||g|| + 1e-6)). Returns ||g|| before clipping.

    The norm is taken as s sqrt(sum((g/s)^2)), s = max|g|, so that huge or tiny gradients
    neither overflow nor underflow."""
    if not clip_norm > 0:
        raise ValueError(f"clip_norm must be positive, got {clip_norm}")
    g = grads.flat
    s = float(np.max(np.abs(g))) if g.size else 0.0
    norm = s * float(np.sqrt(np.sum((g / s) ** 2))) if 0 < s < np.inf else s
    g *= min(1.0, clip_norm / (norm + 1e-6))
    return norm


def adagrad_step(
    params: Params, grads: Params, memory: Params, eta: float = 0.1, eps: float = 1e-8
) -> None:
    """In place, over the flat blocks: memory += g^2;  theta -= eta g / sqrt(memory + eps)."""
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
    memory = decay memory + (1 - decay) g^2;  theta -= eta g / (sqrt(memory) + eps)."""
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
