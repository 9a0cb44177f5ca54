"""How a loss is written for a reader: every message, the progress bar, samples.txt and report.md
print losses (and figures made from them: bits, perplexity) with format_loss. The standard
library only, so the gradient check's table can use it without the compiled core."""

from __future__ import annotations

import math


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
