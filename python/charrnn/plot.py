"""The loss plot of a run: smooth loss against update steps, the raw loss faint behind it, and
epoch boundaries marked. Uses matplotlib's Agg backend, so it works without a display."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_loss(steps: np.ndarray, losses: np.ndarray, smooth_losses: np.ndarray,
              steps_per_epoch: int, path: str | Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    try:
        if len(steps):
            ax.plot(steps, losses, color="0.8", linewidth=0.5, label="loss of the update",
                    rasterized=True)
            ax.plot(steps, smooth_losses, color="C0", linewidth=1.8, label="smooth loss")
            for k in range(1, int(steps[-1] // steps_per_epoch) + 1):
                ax.axvline(k * steps_per_epoch, color="C3", linestyle="--", linewidth=0.8,
                           label="epoch boundary" if k == 1 else None)
            # The first updates' losses (~log K * seq_length) would squash the interesting range.
            low = float(np.min(smooth_losses))
            high = float(np.percentile(losses, 99.5))
            ax.set_ylim(max(0.0, low * 0.9), max(high, float(smooth_losses[0])) * 1.02)
        ax.set_xlabel("update step")
        ax.set_ylabel("loss per sequence (nats)")
        ax.set_title(title or "training loss")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
