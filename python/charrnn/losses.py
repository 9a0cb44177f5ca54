"""The training loss as a reader sees it: the smooth loss with its start-up bias removed
(debiased), which the plot, the progress bar and best.npz follow in runs other than the
assignment's (TrainConfig.loss_curve), and how every message, the progress bar, samples.txt and
report.md write a loss (format_loss). No compiled core needed, so the gradient check's table can
use it."""

from __future__ import annotations

import math

import numpy as np

SMOOTHING = 0.999
"""The assignment's smooth loss: s_1 = l_1, then s_n = 0.999 s_{n-1} + 0.001 l_n."""


def debiased(
    smooth: float | np.ndarray, n: int | np.ndarray, first_loss: float
) -> float | np.ndarray:
    """The smooth loss after n updates with its start-up bias removed:
    d_n = (s_n - 0.999^n l_1) / (1 - 0.999^n).

    The smooth loss is the zero-started average z_n = 0.999 z_{n-1} + 0.001 l_n plus a weight
    0.999^n on the first loss, which fades only over thousands of updates (0.61 of it is left
    at update 500, 0.05 at 3,000). z_n's weights sum to 1 - 0.999^n; dividing by it, as Adam
    does for its moments and TensorBoard for its smoothing, leaves a weighted mean of the
    losses so far, mostly of the last thousand or so, that does not lag with the run's length.
    It is still an average over about a thousand updates: while the loss falls fast it stays
    above the latest updates' losses. d_1 = l_1; past ~100,000 updates d_n and s_n agree to
    many digits. The native trainer computes the same (cpp/train/trainer.cpp) to pick best.npz.

    Args:
        smooth: The smooth loss s_n (a number or an array).
        n: Updates averaged, >= 1 (metrics.csv's step, for a run started at step 0).
        first_loss: l_1, the loss of the first update.

    Returns:
        d_n, a float or an array of smooth's shape.
    """
    w = SMOOTHING ** np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # n = 0: no average yet (NaN)
        d = (np.asarray(smooth, dtype=np.float64) - w * first_loss) / (1.0 - w)
    return float(d) if d.ndim == 0 else d


def format_loss(value: float, decimals: int = 3) -> str:
    """A loss as text: fixed point with `decimals` places as usual ("47.365"), in scientific
    notation when that would run past a million or round away its digits ("9.15e+99",
    "5.00e-04"); "nan" and "inf" as such.

    Args:
        value: The loss, or a figure made from it.
        decimals: Places after the point in fixed notation (the mantissa keeps
            max(decimals - 1, 2) in scientific notation).
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and not 10.0 ** (1 - decimals) <= abs(value) < 1e6:
        return f"{value:.{max(decimals - 1, 2)}e}"
    return f"{value:.{decimals}f}"
