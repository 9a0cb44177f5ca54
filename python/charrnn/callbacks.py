"""The callback protocol of a training run: Callback, whose on_* methods the run loop calls, and
what they receive (Run, Progress, Validation; RunResult from charrnn.experiment). `charrnn
train` and Trainer.fit run the same loop (charrnn.experiment.fit); its own parts (progress bar,
metrics rows, samples, validation, checkpoints, time limit, Ctrl-C) are callbacks too, in
handlers.py.

Not here: the loop itself, or any file of a run (experiment.py).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from charrnn.experiment import RunResult, RunSettings
    from charrnn.spec import Evaluation
    from charrnn.train import Trainer


class Callback:
    """Hooks into a training run: subclass it and override the methods you need (each is a
    no-op here), then pass an instance to Trainer.fit. The loop calls them in this order:
    on_start once; after each chunk of updates (about a quarter second of training) on_chunk,
    then on_validation and on_checkpoint when that chunk ends on a validation pass or a
    checkpoint; on_end once, after the files at the end (not after an error).

    To stop the run early, keep the Run given to on_start and call its stop(): the run ends
    after the chunk under way, as at the end (validation, checkpoints and files included).

    Examples:
        >>> class StopBelow(Callback):
        ...     def __init__(self, bits):
        ...         self.bits = bits
        ...     def on_start(self, run):
        ...         self.run = run
        ...     def on_chunk(self, progress):
        ...         if progress.bits_per_char < self.bits:
        ...             self.run.stop("below the target loss")
    """

    def on_start(self, run: Run) -> None:
        """Before the first update: the trainer, the target step and the run's folder."""

    def on_chunk(self, progress: Progress) -> None:
        """After each chunk of updates: their losses, the step and epoch reached."""

    def on_validation(self, result: Validation) -> None:
        """After each validation pass (runs with a validation split, TrainConfig.val_frac)."""

    def on_checkpoint(self, path: Path) -> None:
        """After a checkpoint was written: called for best.npz, then for last.npz."""

    def on_end(self, result: RunResult) -> None:
        """Once, when the run ended (at its target, stopped, or on Ctrl-C) and its files are
        written."""


@dataclass
class Progress:
    """What a callback gets after each chunk of steps."""

    step: int
    """Updates done so far."""
    epoch: float
    """Passes over the text done so far (fractional)."""
    losses: np.ndarray
    """The loss of each update of this chunk."""
    smooth_losses: np.ndarray
    """The smooth loss after each update of this chunk."""
    seq_length: int
    """Characters per update (to turn the loss into a loss per character)."""

    @property
    def smooth_loss(self) -> float:
        """The smooth loss after the last update of the chunk (nats, summed over seq_length)."""
        return float(self.smooth_losses[-1])

    @property
    def bits_per_char(self) -> float:
        """Smooth loss per character in bits (the loss is in nats, summed over seq_length)."""
        return self.smooth_loss / self.seq_length / math.log(2)


@dataclass
class Validation:
    """What on_validation gets: one pass over the held-out text."""

    step: int
    """Updates done when it was measured."""
    evaluation: Evaluation
    """The current parameters over the held-out text: nats and bits per character."""
    best: bool
    """The lowest so far: the parameters were copied into the best ones (best.npz)."""

    @property
    def loss(self) -> float:
        """The loss per character in nats (evaluation.nats)."""
        return self.evaluation.nats

    @property
    def bits_per_char(self) -> float:
        """The loss in bits per character (evaluation.bits)."""
        return self.evaluation.bits


@dataclass
class Run:
    """A training run under way: what on_start gets. Keep it to read the trainer as the run
    goes on, or to stop the run."""

    trainer: Trainer
    """The trainer being trained (its step, losses, parameters, sample())."""
    target: int
    """The step the run trains to."""
    out: Path | None
    """The run's folder, or None: no files."""
    settings: RunSettings
    """Intervals, lengths and the time limit (charrnn.experiment.RunSettings)."""
    started: float = field(default_factory=time.perf_counter)
    """time.perf_counter() when the run started (the time limit counts from it)."""
    stopped: str | None = None
    """Why the run stops before its target ("time limit", "interrupted", or the reason given
    to stop()), else None."""
    callbacks: list[Callback] = field(default_factory=list)
    """Every callback of the run, in the order they are called: the loop's own, then yours."""
    # The loop's bookkeeping: steps a chunk must end on a multiple of (samples, validation,
    # checkpoints), the time limit's deadline, what closes files and the bar on any exit.
    boundaries: list[int] = field(default_factory=list)
    deadline: float | None = None
    cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    train_seconds: float = 0.0  # in the native loop
    steps_per_second: float = 500.0  # first guess; measured from each chunk after that
    first_step: int = field(init=False)

    def __post_init__(self) -> None:
        self.first_step = self.trainer.step

    def stop(self, reason: str = "stopped by a callback") -> None:
        """End the run after the chunk under way, as at its target: a last validation pass,
        checkpoints and the files at the end. The first reason given is kept."""
        if self.stopped is None:
            self.stopped = reason

    @property
    def finished(self) -> bool:
        """The target is reached or the run was stopped: the chunk just run is the last."""
        return self.trainer.step >= self.target or self.stopped is not None

    def call(self, hook: str, *args: Any) -> None:
        """Call the method `hook` of every callback that has it, in order."""
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(*args)
