"""The loss plot of a run: the training curve and validation loss per character against update
steps, the raw loss faint behind them, epochs marked, best.npz's point marked. The training curve
is the smooth loss for the assignment's setup and its debiased average for other runs
(TrainConfig.loss_curve). Uses matplotlib's Agg backend, so it works without a display."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from charrnn.losses import debiased

# Up to this many epoch boundaries are drawn as dashed lines; past it they would hide the
# curves, and an epoch axis along the top counts them instead.
EPOCH_LINES = 5

SMOOTH_LABEL = "smooth training loss"
DEBIASED_LABEL = "training loss (0.999 average, start-up bias removed)"


def load_pyplot():
    """matplotlib.pyplot with the file-only Agg backend (unless one was chosen already). Its
    import takes about a second, so `charrnn train` calls this in a thread while it trains."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def training_curve(
    history: dict[str, np.ndarray], seq_length: int, first_loss: float | None = None
) -> tuple[np.ndarray, str]:
    """The training curve of a run's metrics (read_metrics) per character, and its label: the
    smooth loss, or, given the run's first loss, the smooth loss with its start-up bias
    removed (charrnn.losses.debiased, with n = the step)."""
    if first_loss is None:
        return history["smooth_loss"] / seq_length, SMOOTH_LABEL
    curve = np.asarray(debiased(history["smooth_loss"], history["step"], first_loss))
    return curve / seq_length, DEBIASED_LABEL


def plot_loss(
    history: dict[str, np.ndarray],
    steps_per_epoch: int,
    seq_length: int,
    path: str | Path,
    title: str = "",
    *,
    first_loss: float | None = None,
) -> dict[str, np.ndarray]:
    """Write the plot of a run's metrics (read_metrics) to path (PNG): the training curve and
    validation loss per character on one axis (nats; bits on the right), epochs marked (dashed
    lines up to EPOCH_LINES boundaries, else an epoch axis along the top), the best
    validation pass marked.

    Args:
        history: The run's metrics.csv, as read_metrics returns it.
        steps_per_epoch: Updates per pass over the text.
        seq_length: Characters per update (the losses are per sequence).
        path: The PNG to write.
        title: The plot's title.
        first_loss: The loss of update 1, for runs whose curve is the debiased average
            (TrainConfig.loss_curve); None: the smooth loss, as the assignment plots it. With
            it and no validation split, best.npz's point (the curve's lowest) is marked too.

    Returns:
        What was drawn: {"step": update steps, "train": the training curve per character}.
    """
    plt = load_pyplot()
    steps = history["step"]
    curve, label = training_curve(history, seq_length, first_loss)
    val = history.get("val_loss_per_char", np.full(len(steps), np.nan))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    try:
        if len(steps):
            _draw_curves(ax, steps, history["loss"] / seq_length, curve, label, val, first_loss)
            _mark_epochs(ax, steps, steps_per_epoch)
        ax.set_xlabel("update step")
        ax.set_ylabel("loss per character (nats)")
        ax.set_title(title or "training loss")
        right = ax.secondary_yaxis(
            "right", functions=(lambda x: x / np.log(2), lambda x: x * np.log(2))
        )
        right.set_ylabel("bits per character")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return {"step": steps, "train": curve}


def _draw_curves(ax, steps, loss, curve, label, val, first_loss) -> None:
    """Each update's loss (faint), the training curve, the validation loss, best.npz's point
    (a star), and a y range that leaves out the first updates' ~log K."""
    ax.plot(
        steps, loss, color="0.75", linewidth=0.4, alpha=0.35, label="loss of each update",
        rasterized=True,
    )  # fmt: skip
    ax.plot(steps, curve, color="C0", linewidth=1.8, label=label)
    evaluated = ~np.isnan(val)
    star = dict(
        linestyle="none", marker="*", markersize=13, color="C3", markeredgecolor="white", zorder=5
    )
    if evaluated.any():
        ax.plot(
            steps[evaluated], val[evaluated], color="C1", linewidth=1.5, marker="o",
            markersize=3, label="validation loss",
        )  # fmt: skip
        best = int(np.argmin(val[evaluated]))  # the first lowest, as the run keeps
        ax.plot(
            steps[evaluated][best], val[evaluated][best],
            label="best.npz (lowest validation loss)", **star,
        )  # fmt: skip
    elif first_loss is not None:
        best = int(np.argmin(curve))
        ax.plot(steps[best], curve[best], label="best.npz (lowest of the curve)", **star)
    shown = np.concatenate([curve, val[evaluated]])
    low, high = float(np.min(shown)), float(np.max(shown))
    ax.set_ylim(max(0.0, low - 0.15 * (high - low) - 0.04), high + 0.05 * (high - low) + 0.04)


def _mark_epochs(ax, steps, steps_per_epoch: int) -> None:
    """Dashed lines at up to EPOCH_LINES epoch boundaries, else an epoch axis along the top."""
    boundaries = int(steps[-1] // steps_per_epoch)
    if boundaries <= EPOCH_LINES:
        for k in range(1, boundaries + 1):
            ax.axvline(
                k * steps_per_epoch, color="C3", linestyle="--", linewidth=0.8,
                label="epoch boundary" if k == 1 else None,
            )  # fmt: skip
        return
    top = ax.secondary_xaxis(
        "top", functions=(lambda s: s / steps_per_epoch, lambda e: e * steps_per_epoch)
    )
    top.set_xlabel("epoch", color="0.35")
    top.tick_params(colors="0.35")
