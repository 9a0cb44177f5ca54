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

import functools
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charrnn.callbacks import Callback, Run, Validation
from charrnn.data import default_corpus_path, read_text
from charrnn.gradcheck import gradcheck_m
from charrnn.losses import format_loss
from charrnn.model import sampling_seed
from charrnn.plot import load_pyplot, plot_loss
from charrnn.report import write_report
from charrnn.runfiles import SAMPLE_HEADER, open_metrics, read_metrics, read_samples, write_metrics
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


def _start_gradcheck(
    text_path: str | None, config: TrainConfig, K: int, out: Path
) -> subprocess.Popen | None:
    """`charrnn gradcheck` of the run's cell, depth, text and sequence length (m as gradcheck_m
    says), in a second process: it runs on the machine's other core while this one trains, and
    its table goes into the report."""
    cmd = [
        sys.executable,
        "-m",
        "charrnn",
        "gradcheck",
        "--cell",
        config.cell,
        "--layers",
        str(config.layers),
        "--m",
        str(gradcheck_m(config, K)),
        "--embedding",
        str(config.embedding),
        "--seq-length",
        str(config.seq_length),
        "--seed",
        str(config.seed),
        "--dropout",
        repr(config.dropout),
        "--json",
    ]
    if text_path is not None:
        cmd.insert(4, str(text_path))  # after "gradcheck"
    log = open(out / "gradcheck.json", "w")
    try:
        return subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            preexec_fn=(
                functools.partial(_die_with_parent, os.getpid())
                if sys.platform == "linux"
                else None
            ),
        )
    finally:
        log.close()


def _die_with_parent(parent: int) -> None:
    """In the gradcheck child, before exec: ask Linux to SIGTERM it when the training process
    dies, so a `kill -9` of `charrnn train` does not leave it computing for nobody."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


# --- the loop's parts: each a Callback with one job, called in the order _handlers lists them ---


class _CtrlC(Callback):
    """Ctrl-C (in the main thread) only sets a flag; after the chunk under way the run stops as
    at its end, its files written, and then raises RunInterrupted. A KeyboardInterrupt raised at
    an arbitrary point could land between writing metrics rows and a checkpoint and lose the
    state."""

    requested = False

    def on_start(self, run: Run) -> None:
        self.run = run
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self._handle)
            if previous is not None:
                run.cleanup.callback(signal.signal, signal.SIGINT, previous)

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def on_chunk(self, progress: Progress) -> None:
        if self.requested:
            self.run.stop("interrupted")


class _TimeLimit(Callback):
    """Stop after `seconds` of wall time from the start of the run; chunks end at the limit."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_start(self, run: Run) -> None:
        self.run = run
        run.deadline = run.started + self.seconds

    def on_chunk(self, progress: Progress) -> None:
        if time.perf_counter() - self.run.started >= self.seconds:
            self.run.stop("time limit")


class _Validation(Callback):
    """A pass over the held-out text every `every` updates and after the last chunk; a new
    lowest loss makes the parameters the best ones (Trainer.evaluate_validation)."""

    def __init__(self, every: int):
        self.every = every

    def on_start(self, run: Run) -> None:
        self.run = run
        run.boundaries.append(self.every)

    def on_chunk(self, progress: Progress) -> None:
        if progress.step % self.every == 0 or self.run.finished:
            trainer = self.run.trainer
            result = trainer.evaluate_validation()
            self.run.call(
                "on_validation",
                Validation(trainer.step, result, trainer.best_val_step == trainer.step),
            )


class _Metrics(Callback):
    """metrics.csv: a row per update, the validation loss on the row of its step. On resume,
    rows after the checkpoint's step are dropped (runfiles.open_metrics)."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path, self.resume_step = path, resume_step
        self.val: float | None = None  # this chunk's validation loss

    def on_start(self, run: Run) -> None:
        self.trainer = run.trainer
        self.file = open_metrics(self.path, self.resume_step)
        run.cleanup.callback(self.file.close)

    def on_validation(self, result: Validation) -> None:
        self.val = result.loss

    def on_chunk(self, progress: Progress) -> None:
        self.write(progress, self.val)
        self.val = None

    def _on_failed_chunk(self, error: BaseException) -> None:
        """The updates done before Ctrl-C or divergence stopped the chunk."""
        if getattr(error, "progress", None) is not None:
            self.write(error.progress)  # type: ignore[attr-defined]
        self.file.flush()

    def write(self, progress: Progress, val: float | None = None) -> None:
        # The chunk's rate: chunks end where it may change (Trainer.steps_until_rate_change).
        lr = self.trainer.learning_rate(progress.step - len(progress.losses))
        write_metrics(self.file, progress, self.trainer.steps_per_epoch, lr, val)

    def flush(self) -> None:
        self.file.flush()


class _ProgressBar(Callback):
    """The tqdm bar: steps, the training curve (TrainConfig.loss_curve) in nats per sequence
    and bits per character, the epoch, the best validation loss."""

    def on_start(self, run: Run) -> None:
        from tqdm import tqdm

        self.trainer = run.trainer
        self.bar = tqdm(
            total=run.target,
            initial=run.trainer.step,
            unit="step",
            dynamic_ncols=True,
            desc="training",
            smoothing=0.1,
        )
        run.cleanup.callback(self.bar.close)

    def on_chunk(self, progress: Progress) -> None:
        trainer = self.trainer
        self.bar.update(len(progress.losses))
        if trainer.config.loss_curve == "debiased":
            name, shown = "avg_loss", trainer.debiased_loss
            bits = shown / progress.seq_length / math.log(2)
        else:
            name, shown, bits = "smooth_loss", progress.smooth_loss, progress.bits_per_char
        postfix = {
            name: format_loss(shown, 2),
            "bits_per_char": format_loss(bits),
            "epoch": f"{progress.epoch:.2f}",
        }
        if trainer.best_val_step is not None:
            postfix["val_bits"] = format_loss(trainer.best_val_loss / math.log(2))
        self.bar.set_postfix(postfix)


class _Samples(Callback):
    """samples.txt: a sample before the first update and every `every` updates. On resume,
    samples drawn after the checkpoint's step are dropped (the run draws them again,
    identically)."""

    def __init__(self, path: Path, every: int, length: int, resume_step: int | None):
        self.path, self.every, self.length, self.resume_step = path, every, length, resume_step

    def on_start(self, run: Run) -> None:
        self.trainer = run.trainer
        run.boundaries.append(self.every)
        if self.resume_step is not None and self.path.exists():
            kept = [
                f"{head}\n{body}"
                for step, head, body in read_samples(self.path)
                if step <= self.resume_step
            ]
            tmp = self.path.with_suffix(".txt.tmp")
            tmp.write_text("".join(kept), encoding="utf-8")
            os.replace(tmp, self.path)
        self.file = open(self.path, "a" if self.resume_step is not None else "w", encoding="utf-8")
        run.cleanup.callback(self.file.close)
        if self.trainer.step == 0:
            self.write()

    def on_chunk(self, progress: Progress) -> None:
        if progress.step % self.every == 0:
            self.write()

    def write(self) -> None:
        trainer = self.trainer
        text = trainer.sample(self.length)
        loss = "n/a" if math.isnan(trainer.smooth_loss) else format_loss(trainer.smooth_loss)
        self.file.write(f"{SAMPLE_HEADER}{trainer.step}, smooth loss {loss} ---\n{text}\n\n")
        self.file.flush()


class _Checkpoints(Callback):
    """best.npz and last.npz every `every` updates, after the last chunk, and on a Ctrl-C that
    stops the native loop itself (outside the main thread)."""

    def __init__(self, out: Path, every: int, metrics: _Metrics, resume_step: int | None):
        self.out, self.every, self.metrics, self.resume_step = out, every, metrics, resume_step

    def on_start(self, run: Run) -> None:
        self.run = run
        run.boundaries.append(self.every)
        if self.resume_step is not None:  # temporary files of a write a kill cut short
            for stale in self.out.glob(".*.npz.*.tmp"):
                stale.unlink(missing_ok=True)
        if run.finished:  # nothing to train: the run still ends with its checkpoints
            self.save()

    def on_chunk(self, progress: Progress) -> None:
        if progress.step % self.every == 0 or self.run.finished:
            self.save()

    def _on_failed_chunk(self, error: BaseException) -> None:
        if isinstance(error, KeyboardInterrupt):
            self.save()  # the state between two updates is consistent

    def save(self) -> None:
        # Rows first: a checkpoint at step S promises metrics.csv holds rows 1..S even if the
        # process is killed right after (resume drops rows after S, never fills gaps before it).
        # best.npz before last.npz: a kill between the two then never leaves a run folder with a
        # last.npz but no best.npz (the first checkpoint's; `charrnn sample DIR` reads best.npz).
        # last.npz holds the best parameters too, so resuming never needs best.npz.
        self.metrics.flush()
        paths = [self.out / "best.npz", self.out / "last.npz"]
        self.run.trainer.save(paths[0], kind="best")
        self.run.trainer.save(paths[1], kind="last")
        for path in paths:
            self.run.call("on_checkpoint", path)


class _Gradcheck(Callback):
    """`charrnn gradcheck` of the run's model in a second process, for the report; killed if
    training fails, or if the run was stopped and the check is still going."""

    def __init__(self, out: Path):
        self.out = out

    def on_start(self, run: Run) -> None:
        trainer = run.trainer
        self.process = _start_gradcheck(
            trainer.text_path, trainer.config, trainer.vocab.K, self.out
        )
        run.cleanup.push(self._kill_on_error)

    def _kill_on_error(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is not None:
            self.process.kill()
            self.process.wait()
        return False

    def report(self, stopped: str | None) -> dict[str, Any] | None:
        if stopped is not None and self.process.poll() is None:
            self.process.kill()  # a stop asked for now does not wait for the check
        self.process.wait()
        try:
            return json.loads((self.out / "gradcheck.json").read_text())
        except (OSError, ValueError):
            return None


class _EndFiles(Callback):
    """The files written once training is over: passage.txt (from the best parameters),
    loss.png and report.md."""

    def __init__(self, out: Path, gradcheck: _Gradcheck | None):
        self.out, self.gradcheck = out, gradcheck

    def on_start(self, run: Run) -> None:
        # The native loop releases the GIL, so matplotlib's ~1 s import overlaps training.
        threading.Thread(target=load_pyplot, name="import-matplotlib", daemon=True).start()

    def write(self, run: Run) -> float:
        """Write them; the seconds spent waiting for the gradient check."""
        trainer, out, settings = run.trainer, self.out, run.settings
        config, text_path = trainer.config, trainer.text_path
        passage_seed = sampling_seed(config.seed, trainer.step) ^ 1
        passage = trainer.model(best=True).sample_text(
            settings.passage_length, seed=passage_seed, temperature=settings.PASSAGE_TEMPERATURE
        )
        (out / "passage.txt").write_text(passage + "\n", encoding="utf-8")
        history = read_metrics(out / "metrics.csv")
        plot_loss(
            history,
            trainer.steps_per_epoch,
            config.seq_length,
            out / "loss.png",
            title=f"{Path(text_path).name if text_path else 'shakespeare.txt'}: "
            + (
                ""
                if config.cell == "rnn" and config.layers == 1
                else f"{config.layers} x {config.cell}, "
            )
            + f"m={config.m}, seq_length={config.seq_length}, eta={config.eta}",
            first_loss=trainer.first_loss if config.loss_curve == "debiased" else None,
        )
        wait_started = time.perf_counter()
        gradcheck = self.gradcheck.report(run.stopped) if self.gradcheck is not None else None
        gradcheck_wait = time.perf_counter() - wait_started
        write_report(
            out,
            trainer=trainer,
            text_path=text_path,
            history=history,
            gradcheck=gradcheck,
            train_seconds=run.train_seconds,
            steps_run=trainer.step - run.first_step,
            total_seconds=time.perf_counter() - run.started,
            settings=settings,
            passage_seed=passage_seed,
            stopped=run.stopped,
            changes=trainer.history,
        )
        return gradcheck_wait


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
) -> tuple[_EndFiles | None, list[Callback]]:
    """The run's callbacks in the order they are called: what may stop the run first, then the
    user's (a stop they ask for still gets its last validation and checkpoint), then what is
    written."""
    settings, out = run.settings, run.out
    stops: list[Callback] = [_CtrlC()]
    if settings.time_limit is not None:
        stops.append(_TimeLimit(settings.time_limit))
    after: list[Callback] = []
    if run.trainer.val_streams is not None:
        after.append(_Validation(settings.every("eval_every")))
    if out is None:
        return None, [*stops, *callbacks, *after, *([] if settings.quiet else [_ProgressBar()])]
    gradcheck = _Gradcheck(out) if settings.gradcheck else None
    metrics = _Metrics(out / "metrics.csv", resume_step)
    end_files = _EndFiles(out, gradcheck)
    return end_files, [
        *([gradcheck] if gradcheck else []),
        end_files,
        *stops,
        *callbacks,
        *after,
        metrics,
        *([] if settings.quiet else [_ProgressBar()]),
        _Samples(out / "samples.txt", settings.sample_every, settings.sample_length, resume_step),
        _Checkpoints(out, settings.every("checkpoint_every"), metrics, resume_step),
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
