"""The `charrnn train` job: one run (by default the assignment's), with its files in one folder.

    metrics.csv   one row per update: step, epoch, loss, smooth loss (per sequence, per char, bits)
    samples.txt   samples before the first update and every sample_every updates
    best.npz      the parameters of the best validation pass, else of the lowest training curve
    last.npz      the state, to resume
    loss.png      the training curve (TrainConfig.loss_curve) against update steps, epochs marked
    passage.txt   a long passage from the best parameters
    report.md     the assignment's answers on one page: gradient check, plot, samples, passage

Not here: the maths (native core) or the step loop (train.py).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charrnn.data import default_corpus_path, read_text
from charrnn.losses import format_loss
from charrnn.model import sampling_seed
from charrnn.plot import load_pyplot, plot_loss
from charrnn.report import gradcheck_m, write_report
from charrnn.runfiles import (SAMPLE_HEADER, open_metrics, read_metrics, read_samples,
                              write_metrics)
from charrnn.train import TrainConfig, Trainer, TrainingDiverged

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
    out: Path
    step: int
    smooth_loss: float
    best_smooth_loss: float  # of the training curve (loss_curve); NaN with a validation split
    seconds: float  # the whole run
    steps_run: int
    train_seconds: float = 0.0  # in the training loop
    gradcheck_wait: float = 0.0  # after training, waiting for the report's gradient check
    best_val_loss: float | None = None  # nats per character
    stopped: str | None = None  # "time limit" or "interrupted" when the run did not finish
    files: list[str] = field(default_factory=list)
    loss_curve: str = "smooth"  # TrainConfig.loss_curve: "smooth", or "debiased" (debiased_loss)
    debiased_loss: float = math.nan  # the smooth loss with its start-up bias removed


class RunError(Exception):
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


def _start_gradcheck(text_path: str | None, config: TrainConfig, K: int,
                     out: Path) -> subprocess.Popen | None:
    """`charrnn gradcheck` of the run's cell, depth, text and sequence length (m as gradcheck_m
    says), in a second process: it runs on the machine's other core while this one trains, and
    its table goes into the report."""
    cmd = [sys.executable, "-m", "charrnn", "gradcheck", "--cell", config.cell,
           "--layers", str(config.layers), "--m", str(gradcheck_m(config, K)),
           "--embedding", str(config.embedding),
           "--seq-length", str(config.seq_length), "--seed", str(config.seed),
           "--dropout", repr(config.dropout), "--json"]
    if text_path is not None:
        cmd.insert(4, str(text_path))  # after "gradcheck"
    log = open(out / "gradcheck.json", "w")
    try:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                preexec_fn=(functools.partial(_die_with_parent, os.getpid())
                                            if sys.platform == "linux" else None))
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


class _DeferredInterrupt:
    """While active (in the main thread), Ctrl-C only sets `requested`; the loop checks it
    between chunks and then saves and raises KeyboardInterrupt. A KeyboardInterrupt raised at an
    arbitrary point could land between writing metrics rows and a checkpoint and lose the state."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def __enter__(self) -> _DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _tidy_resumed_files(out: Path, resume_step: int) -> None:
    """After a kill: drop temporary checkpoint files and samples drawn after the checkpoint's
    step (the resumed run draws them again, identically)."""
    for stale in out.glob(".*.npz.*.tmp"):
        stale.unlink(missing_ok=True)
    path = out / "samples.txt"
    if not path.exists():
        return
    kept = [f"{head}\n{body}" for step, head, body in read_samples(path) if step <= resume_step]
    tmp = path.with_suffix(".txt.tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, path)


def run(text_path: str | None, out: str | Path | None, config: TrainConfig | None,
        settings: RunSettings, resume: str | Path | None = None,
        overrides: dict[str, Any] | None = None) -> RunResult:
    """Train and write the run's files into `out` (default: a new folder under runs/, or the
    resumed folder). `overrides` are model settings the user gave explicitly: on resume they
    must agree with the checkpoint's."""
    started = time.perf_counter()
    for name in ("sample_every", "sample_length", "passage_length", "eval_every",
                 "checkpoint_every"):
        value = getattr(settings, name)
        low = 0 if name in ("sample_length", "passage_length") else 1
        if value is not None and value < low:
            raise RunError(f"--{name.replace('_', '-')} must be >= {low}, got {value}")
    if settings.time_limit is not None and not settings.time_limit > 0:
        raise RunError(f"--time-limit must be a number of seconds > 0, got {settings.time_limit}")
    if resume is not None:
        if settings.init_from is not None:
            raise RunError("give --resume or --init-from, not both")
        resume = Path(resume)
        ckpt = resume / "last.npz" if resume.is_dir() else resume
        if not ckpt.exists():
            raise FileNotFoundError(f"nothing to resume: {str(ckpt)!r} does not exist")
        trainer = Trainer.load(ckpt, text_path=text_path, overrides=overrides)
        text_path = trainer.text_path
        out = Path(out) if out is not None else ckpt.parent
        resume_step: int | None = trainer.step
    else:
        config = config or TrainConfig()
        text = read_text(text_path if text_path is not None else default_corpus_path(),
                         config.newline)
        if settings.init_from is not None:
            trainer = Trainer.init_from(settings.init_from, text, config, overrides=overrides,
                                        text_path=text_path)
        else:
            trainer = Trainer(text, config, text_path=text_path)
        out = Path(out) if out is not None else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        if (out / "last.npz").exists():
            raise RunError(f"{str(out)!r} already holds a run (last.npz); continue it with "
                           f"--resume {out}, or choose another --out")
        resume_step = None
    config = trainer.config
    out.mkdir(parents=True, exist_ok=True)
    target = _target_steps(settings, trainer)
    if target < trainer.step:
        raise RunError(f"the checkpoint is already at step {trainer.step}, beyond the "
                       f"{target} steps asked for (--steps/--epochs count from the start)")

    gradcheck = (_start_gradcheck(text_path, config, trainer.vocab.K, out) if settings.gradcheck
                 else None)
    # The native loop releases the GIL, so matplotlib's ~1 s import overlaps training.
    threading.Thread(target=load_pyplot, name="import-matplotlib", daemon=True).start()
    if resume_step is not None:
        _tidy_resumed_files(out, resume_step)
    metrics_file = open_metrics(out / "metrics.csv", resume_step)
    samples = open(out / "samples.txt", "a" if resume_step is not None else "w", encoding="utf-8")
    validating = trainer.val_streams is not None
    eval_every = settings.every("eval_every")
    checkpoint_every = settings.every("checkpoint_every")

    def write_sample() -> None:
        text_ = trainer.sample(settings.sample_length)
        samples.write(f"{SAMPLE_HEADER}{trainer.step}, smooth loss "
                      f"{'n/a' if math.isnan(trainer.smooth_loss) else format_loss(trainer.smooth_loss)} ---\n"
                      f"{text_}\n\n")
        samples.flush()

    def save_checkpoints() -> None:
        # Rows first: a checkpoint at step S promises metrics.csv holds rows 1..S even if the
        # process is killed right after (resume drops rows after S, never fills gaps before it).
        # best.npz before last.npz: a kill between the two then never leaves a run folder with a
        # last.npz but no best.npz (the first checkpoint's; `charrnn sample DIR` reads best.npz).
        # last.npz holds the best parameters too, so resuming never needs best.npz.
        metrics_file.flush()
        trainer.save(out / "best.npz", kind="best")
        trainer.save(out / "last.npz", kind="last")

    # The training curve: the smooth loss (the assignment's setup) or its debiased average.
    debiased_curve = config.loss_curve == "debiased"
    bar = None
    if not settings.quiet:
        from tqdm import tqdm

        bar = tqdm(total=target, initial=trainer.step, unit="step", dynamic_ncols=True,
                   desc="training", smoothing=0.1)
    first_step = trainer.step
    train_seconds = 0.0
    steps_per_second = 500.0  # first guess; measured from each chunk after that
    stopped: str | None = None

    def steps_until(every: int) -> int:
        return every - trainer.step % every

    try:
        with _DeferredInterrupt() as interrupt:
            if trainer.step == 0:
                write_sample()
            while trainer.step < target and stopped is None:
                # Chunks of about a quarter second (Ctrl-C is honoured between two of them) that
                # end on every sample, evaluation and checkpoint step, and at the time limit.
                chunk = min(target - trainer.step, steps_until(settings.sample_every),
                            steps_until(checkpoint_every), trainer.steps_until_rate_change(),
                            max(1, int(steps_per_second * 0.25)))
                if validating:
                    chunk = min(chunk, steps_until(eval_every))
                if settings.time_limit is not None:
                    left = settings.time_limit - (time.perf_counter() - started)
                    chunk = min(chunk, max(1, int(steps_per_second * left)))
                lr = trainer.learning_rate()
                t0 = time.perf_counter()
                try:
                    losses, smooth = trainer.train(chunk, every=chunk)
                except (KeyboardInterrupt, TrainingDiverged) as stop:
                    write_metrics(metrics_file, stop.progress, trainer.steps_per_epoch, lr)  # type: ignore[attr-defined]
                    metrics_file.flush()
                    if isinstance(stop, KeyboardInterrupt):
                        save_checkpoints()  # the state between two steps is consistent
                    raise
                seconds = time.perf_counter() - t0
                train_seconds += seconds
                steps_per_second = chunk / max(seconds, 1e-6)
                if interrupt.requested:
                    stopped = "interrupted"
                elif (settings.time_limit is not None
                      and time.perf_counter() - started >= settings.time_limit):
                    stopped = "time limit"
                last = trainer.step >= target or stopped is not None
                val = (trainer.evaluate_validation()
                       if validating and (trainer.step % eval_every == 0 or last) else None)
                write_metrics(metrics_file, trainer._progress(losses, smooth),
                              trainer.steps_per_epoch, lr, val)
                if bar is not None:
                    bar.update(chunk)
                    # The curve loss.png shows: the smooth loss, or its debiased average.
                    name, shown = (("avg_loss", trainer.debiased_loss) if debiased_curve
                                   else ("smooth_loss", trainer.smooth_loss))
                    postfix = {name: format_loss(shown, 2),
                               "bits_per_char": format_loss(shown / config.seq_length / math.log(2)),
                               "epoch": f"{trainer.epoch:.2f}"}
                    if validating and trainer.best_val_step is not None:
                        postfix["val_bits"] = format_loss(trainer.best_val_loss / math.log(2))
                    bar.set_postfix(postfix)
                if trainer.step % settings.sample_every == 0:
                    write_sample()
                if trainer.step % checkpoint_every == 0 and not last:
                    save_checkpoints()
            save_checkpoints()
    finally:
        if bar is not None:
            bar.close()
        metrics_file.close()
        samples.close()
        if gradcheck is not None and sys.exc_info()[0] is not None:
            gradcheck.kill()
            gradcheck.wait()

    best = trainer.model(best=True)
    passage_seed = sampling_seed(config.seed, trainer.step) ^ 1
    passage = best.sample_text(settings.passage_length, seed=passage_seed,
                               temperature=settings.PASSAGE_TEMPERATURE)
    (out / "passage.txt").write_text(passage + "\n", encoding="utf-8")
    history = read_metrics(out / "metrics.csv")
    plot_loss(history, trainer.steps_per_epoch, config.seq_length, out / "loss.png",
              title=f"{Path(text_path).name if text_path else 'shakespeare.txt'}: "
                    f"{'' if config.cell == 'rnn' and config.layers == 1 else f'{config.layers} x {config.cell}, '}"
                    f"m={config.m}, seq_length={config.seq_length}, eta={config.eta}",
              first_loss=trainer.first_loss if debiased_curve else None)
    gradcheck_report = None
    wait_started = time.perf_counter()
    if gradcheck is not None:
        if stopped is not None and gradcheck.poll() is None:
            gradcheck.kill()  # a stop asked for now does not wait for the check
        gradcheck.wait()
        try:
            gradcheck_report = json.loads((out / "gradcheck.json").read_text())
        except (OSError, ValueError):
            gradcheck_report = None
    gradcheck_wait = time.perf_counter() - wait_started
    steps_run = trainer.step - first_step
    write_report(out, trainer=trainer, text_path=text_path, history=history,
                 gradcheck=gradcheck_report, train_seconds=train_seconds, steps_run=steps_run,
                 total_seconds=time.perf_counter() - started, settings=settings,
                 passage_seed=passage_seed, stopped=stopped, changes=trainer.history)
    result = RunResult(out, trainer.step, trainer.smooth_loss, trainer.best_smooth_loss,
                       time.perf_counter() - started, steps_run, train_seconds, gradcheck_wait,
                       trainer.best_val_loss if trainer.best_val_step is not None else None,
                       stopped, sorted(p.name for p in out.iterdir() if not p.name.startswith(".")),
                       config.loss_curve, trainer.debiased_loss)
    if stopped == "interrupted":
        raise RunInterrupted(result)
    return result


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C: the run stopped between two chunks and wrote all its files; `result` says what."""

    def __init__(self, result: RunResult):
        super().__init__("interrupted")
        self.result = result
