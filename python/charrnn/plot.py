"""The loss plot of a run: smooth training loss and validation loss per character against update
steps, the raw loss faint behind them, epoch boundaries marked. Uses matplotlib's Agg backend, so
it works without a display."""

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


def plot_loss(history: dict[str, np.ndarray], steps_per_epoch: int, seq_length: int,
              path: str | Path, title: str = "") -> None:
    """Write the plot of a run's metrics (read_metrics) to path (PNG): training and validation
    loss per character on one axis (nats; bits on the right), epochs marked."""
    plt = load_pyplot()
    steps = history["step"]
    loss = history["loss"] / seq_length
    smooth = history["smooth_loss"] / seq_length
    val = history.get("val_loss_per_char", np.full(len(steps), np.nan))
    evaluated = ~np.isnan(val)

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    try:
        if len(steps):
            ax.plot(steps, loss, color="0.75", linewidth=0.4, alpha=0.35,
                    label="loss of each update", rasterized=True)
            ax.plot(steps, smooth, color="C0", linewidth=1.8, label="smooth training loss")
            if evaluated.any():
                ax.plot(steps[evaluated], val[evaluated], color="C1", linewidth=1.5, marker="o",
                        markersize=3, label="validation loss")
            for k in range(1, int(steps[-1] // steps_per_epoch) + 1):
                ax.axvline(k * steps_per_epoch, color="C3", linestyle="--", linewidth=0.8,
                           label="epoch boundary" if k == 1 else None)
            # The first updates' losses (~log K) would squash the interesting range.
            shown = np.concatenate([smooth, val[evaluated]])
            low, high = float(np.min(shown)), float(np.max(shown))
            ax.set_ylim(max(0.0, low - 0.15 * (high - low) - 0.04),
                        high + 0.05 * (high - low) + 0.04)
        ax.set_xlabel("update step")
        ax.set_ylabel("loss per character (nats)")
        ax.set_title(title or "training loss")
        right = ax.secondary_yaxis("right", functions=(lambda x: x / np.log(2),
                                                         lambda x: x * np.log(2)))
        right.set_ylabel("bits per character")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
