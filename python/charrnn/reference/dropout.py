"""Dropout masks in numpy, bit for bit those of the native core (cpp/model/dropout.hpp): a
counter-based generator, so a mask is a pure function of (seed, step, point) and an entry's
index. Point l = 1 .. L is the output h_t of layer l, where it leaves the layer (into layer l+1,
or from the top into the output layer: char-rnn's placement). Not here: where the masks are
applied (model.py).

    stream = mix(mix(mix(seed + G) + step + G) + point + G)
    u_i    = (mix(stream + (i + 1) G) >> 11) 2^-53          # SplitMix64's i-th output, in [0, 1)
    mask_i = 0 if u_i < p else 1 / (1 - p)                   # inverted dropout

with entry i = (t B + j) m + r for unit r of sequence j at time step t.
"""

from __future__ import annotations

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function on uint64 arrays (arithmetic modulo 2^64)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _stream(seed: int, step: int, point: int) -> np.ndarray:
    # 1-element arrays: numpy wraps array arithmetic modulo 2^64 without the overflow warning
    # scalar arithmetic raises.
    def word(value: int) -> np.ndarray:
        return np.array([value % 2**64], dtype=np.uint64)

    s = _mix(word(seed) + GAMMA)
    s = _mix(s + word(step) + GAMMA)
    return _mix(s + word(point) + GAMMA)


def mask(p: float, seed: int, step: int, point: int, B: int, T: int, m: int) -> np.ndarray:
    """(B, T, m) float64: 0 with probability p, else 1 / (1 - p), for dropout point `point` of
    update `step` of a run seeded `seed`."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout must be a probability in [0, 1), got {p}")
    i = np.arange(T * B * m, dtype=np.uint64)  # entry (t B + j) m + r
    u = (_mix(_stream(seed, step, point) + (i + np.uint64(1)) * GAMMA) >> np.uint64(11)).astype(
        np.float64
    ) * 2.0**-53
    keep = np.where(u < p, 0.0, 1.0 / (1.0 - p))  # (T B m)
    return keep.reshape(T, B, m).transpose(1, 0, 2).copy()


def masks(
    p: float, seed: int, step: int, layers: int, B: int, T: int, m: int
) -> list[np.ndarray] | None:
    """The masks of every point 1 .. layers, or None when p is 0 (no dropout)."""
    if p == 0:
        return None
    return [mask(p, seed, step, point, B, T, m) for point in range(1, layers + 1)]
