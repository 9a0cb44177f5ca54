"""The loss plot of a run: smooth loss against update steps, the raw loss faint behind it, and
epoch boundaries marked. Uses matplotlib's Agg backend, so it works without a display."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_pyplot():
    """matplotlib.pyplot with the file-only Agg backend (unless one was chosen already). Its
    import takes about a second, so `charrnn train` calls this in a thread while it trains."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_loss(steps: np.ndarray, losses: np.ndarray, smooth_losses: np.ndarray,
              steps_per_epoch: int, path: str | Path, title: str = "",
              seq_length: int | None = None) -> None:
    """Write the plot to path (PNG). With seq_length, a right axis shows bits per character."""
    plt = load_pyplot()

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    try:
        if len(steps):
            ax.plot(steps, losses, color="0.75", linewidth=0.4, alpha=0.35,
                    label="loss of each update", rasterized=True)
            ax.plot(steps, smooth_losses, color="C0", linewidth=1.8, label="smooth loss")
            for k in range(1, int(steps[-1] // steps_per_epoch) + 1):
                ax.axvline(k * steps_per_epoch, color="C3", linestyle="--", linewidth=0.8,
                           label="epoch boundary" if k == 1 else None)
            # The first updates' losses (~log K * seq_length) would squash the interesting range.
            low = float(np.min(smooth_losses))
            high = float(np.max(smooth_losses))
            ax.set_ylim(max(0.0, low - 0.15 * (high - low) - 1), high + 0.05 * (high - low) + 1)
        ax.set_xlabel("update step")
        ax.set_ylabel("loss per sequence (nats)")
        ax.set_title(title or "training loss")
        if seq_length:
            per_bit = seq_length * np.log(2)
            right = ax.secondary_yaxis("right", functions=(lambda x: x / per_bit,
                                                             lambda x: x * per_bit))
            right.set_ylabel("bits per character")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
