"""A training run: the loop that `charrnn train` and Trainer.fit share, and the `charrnn train`
job, one run (by default the assignment's) with its files in one folder:

    metrics.csv   one row per update: step, epoch, loss, smooth loss (per sequence, per char, bits)
    samples.txt   samples before the first update and every sample_every updates
    best.npz      the parameters of the best validation pass, else of the lowest training curve
    last.npz      the state, to resume
    loss.png      the training curve (TrainConfig.loss_curve) against update steps, epochs marked
    passage.txt   a long passage from the best parameters
    report.md     the assignment's answers on one page: gradient check, plot, samples, passage

fit() is the run loop. It trains in chunks of updates and after
each calls the run's callbacks (charrnn.callbacks.Callback), each with one job: Ctrl-C, the time
limit, the user's own, validation, metrics rows, the progress bar, samples, checkpoints; then
the files at the end. _handlers lists them in the order they are called.

Not here: the maths (native core), the update steps (train.py), the callback protocol
(callbacks.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charrnn.callbacks import Callback, Run
from charrnn.data import default_corpus_path, read_text
from charrnn.handlers import (
    Checkpoints,
    CtrlC,
    EndFiles,
    Gradcheck,
    Metrics,
    ProgressBar,
    Samples,
    TimeLimit,
    ValidationPass,
)
from charrnn.train import Progress, TrainConfig, Trainer, TrainingDiverged


@dataclass
class RunSettings:
    """What `charrnn train` does besides the model settings (TrainConfig)."""

    steps: int | None = None  # total updates from the start of training (resume counts on)
    epochs: float | None = None  # or: total passes over the text
    sample_every: int = 10_000  # updates between samples
    sample_length: int = 200  # characters per sample
    passage_length: int = 1000  # characters of the final passage from the best parameters
    gradcheck: bool = True  # run `charrnn gradcheck` alongside, for the report
    quiet: bool = False  # no progress bar
    eval_every: int | None = None  # updates between validation passes (default sample_every)
    checkpoint_every: int | None = None  # updates between checkpoints (default sample_every)
    time_limit: float | None = None  # seconds of wall time, then stop as at the end
    init_from: str | Path | None = None  # start from this checkpoint's weights (step 0)
    command: list[str] | None = None  # the command line, for the report

    PASSAGE_TEMPERATURE = 1.0  # the passage is drawn as the samples are

    def every(self, name: str) -> int:
        """sample_every, or eval_every / checkpoint_every with their default."""
        value = getattr(self, name)
        return self.sample_every if value is None else value


@dataclass
class RunResult:
    """What a run did: Trainer.fit returns it, Callback.on_end gets it."""

    out: Path | None  # the run's folder (None: Trainer.fit without one)
    step: int
    smooth_loss: float
    best_smooth_loss: float  # of the training curve (loss_curve); NaN with a validation split
    seconds: float  # the whole run
    steps_run: int
    train_seconds: float = 0.0  # in the training loop
    gradcheck_wait: float = 0.0  # after training, waiting for the report's gradient check
    best_val_loss: float | None = None  # nats per character
    stopped: str | None = None  # "time limit", "interrupted" or a callback's reason (Run.stop)
    files: list[str] = field(default_factory=list)
    loss_curve: str = "smooth"  # TrainConfig.loss_curve: "smooth", or "debiased" (debiased_loss)
    debiased_loss: float = math.nan  # the smooth loss with its start-up bias removed


class RunError(ValueError):
    """A run that cannot start or continue; the message says why (no traceback needed)."""


def _target_steps(settings: RunSettings, trainer: Trainer) -> int:
    if settings.steps is not None and settings.epochs is not None:
        raise RunError("give --steps or --epochs, not both")
    if settings.epochs is not None:
        if not (math.isfinite(settings.epochs) and settings.epochs > 0):
            raise RunError(f"--epochs must be a number > 0, got {settings.epochs}")
        return max(1, round(settings.epochs * trainer.steps_per_epoch))
    steps = 100_000 if settings.steps is None else settings.steps
    if steps < 0:
        raise RunError(f"--steps must be >= 0, got {steps}")
    return steps


# --- the loop -------------------------------------------------------------------------------


def fit(run: Run, callbacks: Sequence[Callback] = (), resume_step: int | None = None) -> RunResult:
    """Train run.trainer to run.target in chunks of updates (about a quarter second each, so
    Ctrl-C and the time limit are honoured between two), calling every callback's on_* methods
    (Callback); with run.out, write the run's files there. What `charrnn train` and
    Trainer.fit run. `resume_step`: continue the files of a run resumed from that step.

    Raises:
        TrainingDiverged: As Trainer.train (the rows of its last chunk written first).
        RunInterrupted: Ctrl-C; the run stopped as at its end, its files written.
    """
    end_files, run.callbacks = _handlers(run, list(callbacks), resume_step)
    with run.cleanup:  # closes the files and the bar, restores Ctrl-C, on any exit
        run.call("on_start", run)
        while not run.finished:
            progress = _train_chunk(run)
            run.call("on_chunk", progress)
    gradcheck_wait = end_files.write(run) if end_files is not None else 0.0
    trainer, out = run.trainer, run.out
    result = RunResult(
        out,
        trainer.step,
        trainer.smooth_loss,
        trainer.best_smooth_loss,
        time.perf_counter() - run.started,
        trainer.step - run.first_step,
        run.train_seconds,
        gradcheck_wait,
        trainer.best_val_loss if trainer.best_val_step is not None else None,
        run.stopped,
        [] if out is None else sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
        trainer.config.loss_curve,
        trainer.debiased_loss,
    )
    run.call("on_end", result)
    if run.stopped == "interrupted":
        raise RunInterrupted(result)
    return result


def _handlers(
    run: Run, callbacks: list[Callback], resume_step: int | None
) -> tuple[EndFiles | None, list[Callback]]:
    """The run's callbacks in the order they are called: what may stop the run first, then the
    user's (a stop they ask for still gets its last validation and checkpoint), then what is
    written."""
    settings, out = run.settings, run.out
    stops: list[Callback] = [CtrlC()]
    if settings.time_limit is not None:
        stops.append(TimeLimit(settings.time_limit))
    after: list[Callback] = []
    if run.trainer.val_streams is not None:
        after.append(ValidationPass(settings.every("eval_every")))
    if out is None:
        return None, [*stops, *callbacks, *after, *([] if settings.quiet else [ProgressBar()])]
    gradcheck = Gradcheck(out) if settings.gradcheck else None
    metrics = Metrics(out / "metrics.csv", resume_step)
    end_files = EndFiles(out, gradcheck)
    return end_files, [
        *([gradcheck] if gradcheck else []),
        end_files,
        *stops,
        *callbacks,
        *after,
        metrics,
        *([] if settings.quiet else [ProgressBar()]),
        Samples(out / "samples.txt", settings.sample_every, settings.sample_length, resume_step),
        Checkpoints(out, settings.every("checkpoint_every"), metrics, resume_step),
    ]


def _train_chunk(run: Run) -> Progress:
    """The next chunk of updates, timed; a chunk that raises leaves its rows (and, on Ctrl-C,
    the checkpoints) written first."""
    trainer, chunks = run.trainer, []
    size = _chunk_size(run)
    t0 = time.perf_counter()
    try:
        trainer.train(size, callback=lambda _, progress: chunks.append(progress), every=size)
    except (KeyboardInterrupt, TrainingDiverged) as error:
        run.call("_on_failed_chunk", error)
        raise
    seconds = time.perf_counter() - t0
    run.train_seconds += seconds
    run.steps_per_second = size / max(seconds, 1e-6)
    return chunks[0]  # one: the chunk ends where the learning rate may change


def _chunk_size(run: Run) -> int:
    """About a quarter second of updates, ending on every step a callback asked for (samples,
    validation, checkpoints), where the learning rate may change, and at the time limit."""
    trainer, step = run.trainer, run.trainer.step
    size = min(
        run.target - step,
        trainer.steps_until_rate_change(),
        max(1, int(run.steps_per_second * 0.25)),
        *(every - step % every for every in run.boundaries),
    )
    if run.deadline is not None:
        left = run.deadline - time.perf_counter()
        size = min(size, max(1, int(run.steps_per_second * left)))
    return size


# --- `charrnn train` ------------------------------------------------------------------------


def run(
    text_path: str | None,
    out: str | Path | None,
    config: TrainConfig | None,
    settings: RunSettings,
    resume: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train and write the run's files into `out` (default: a new folder under runs/, or the
    resumed folder). `overrides` are model settings the user gave explicitly: on resume they
    must agree with the checkpoint's. `callbacks` are called as in fit()."""
    started = time.perf_counter()
    check_settings(settings)
    if resume is not None:
        if settings.init_from is not None:
            raise RunError("give --resume or --init-from, not both")
        ckpt = Path(resume) / "last.npz" if Path(resume).is_dir() else Path(resume)
        if not ckpt.exists():
            raise FileNotFoundError(f"nothing to resume: {str(ckpt)!r} does not exist")
        trainer = Trainer.load(ckpt, text_path=text_path, overrides=overrides)
        out = Path(out) if out is not None else ckpt.parent
        resume_step: int | None = trainer.step
    else:
        trainer = _new_trainer(text_path, config or TrainConfig(), settings, overrides)
        out = Path(out) if out is not None else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        if (out / "last.npz").exists():
            raise RunError(
                f"{str(out)!r} already holds a run (last.npz); continue it with "
                f"--resume {out}, or choose another --out"
            )
        resume_step = None
    out.mkdir(parents=True, exist_ok=True)
    target = _target_steps(settings, trainer)
    if target < trainer.step:
        raise RunError(
            f"the checkpoint is already at step {trainer.step}, beyond the "
            f"{target} steps asked for (--steps/--epochs count from the start)"
        )
    return fit(Run(trainer, target, out, settings, started=started), callbacks, resume_step)


def check_settings(settings: RunSettings) -> None:
    """RunError for an interval, length or time limit out of range."""
    for name in (
        "sample_every",
        "sample_length",
        "passage_length",
        "eval_every",
        "checkpoint_every",
    ):
        value = getattr(settings, name)
        low = 0 if name in ("sample_length", "passage_length") else 1
        if value is not None and value < low:
            raise RunError(f"--{name.replace('_', '-')} must be >= {low}, got {value}")
    if settings.time_limit is not None and not settings.time_limit > 0:
        raise RunError(f"--time-limit must be a number of seconds > 0, got {settings.time_limit}")


def _new_trainer(
    text_path: str | None,
    config: TrainConfig,
    settings: RunSettings,
    overrides: dict[str, Any] | None,
) -> Trainer:
    """A new run on the text (default: the embedded corpus), or --init-from a checkpoint."""
    text = read_text(text_path if text_path is not None else default_corpus_path(), config.newline)
    if settings.init_from is not None:
        return Trainer.init_from(
            settings.init_from, text, config, overrides=overrides, text_path=text_path
        )
    return Trainer(text, config, text_path=text_path)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C: the run stopped between two chunks and wrote all its files; `result` says what."""

    def __init__(self, result: RunResult):
        super().__init__("interrupted")
        self.result = result
