"""The run loop's own parts (experiment.fit): each a Callback with one job, called in the order
experiment._handlers lists them: Ctrl-C, the time limit, validation, metrics rows, the progress
bar, samples, checkpoints, the report's gradient check beside training, and the files at the end
(passage, plot, report).

Not here: the loop itself (experiment.py) or the protocol (callbacks.py).
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
from pathlib import Path
from typing import Any

from charrnn.callbacks import Callback, Run, Validation
from charrnn.gradcheck import gradcheck_m
from charrnn.losses import format_loss
from charrnn.machine import die_with_parent
from charrnn.model import sampling_seed
from charrnn.plot import load_pyplot, plot_loss
from charrnn.report import write_report
from charrnn.runfiles import SAMPLE_HEADER, open_metrics, read_metrics, read_samples, write_metrics
from charrnn.train import Progress, TrainConfig


def _start_gradcheck(
    text_path: str | None, config: TrainConfig, K: int, out: Path
) -> subprocess.Popen:
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
                functools.partial(die_with_parent, os.getpid()) if sys.platform == "linux" else None
            ),
        )
    finally:
        log.close()


# --- the loop's parts: each a Callback with one job, called in the order _handlers lists them ---


class CtrlC(Callback):
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


class TimeLimit(Callback):
    """Stop after `seconds` of wall time from the start of the run; chunks end at the limit."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_start(self, run: Run) -> None:
        self.run = run
        run.deadline = run.started + self.seconds

    def on_chunk(self, progress: Progress) -> None:
        if time.perf_counter() - self.run.started >= self.seconds:
            self.run.stop("time limit")


class ValidationPass(Callback):
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


class Metrics(Callback):
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


class ProgressBar(Callback):
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


class Samples(Callback):
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


class Checkpoints(Callback):
    """best.npz and last.npz every `every` updates, after the last chunk, and on a Ctrl-C that
    stops the native loop itself (outside the main thread)."""

    def __init__(self, out: Path, every: int, metrics: Metrics, resume_step: int | None):
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


class Gradcheck(Callback):
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


class EndFiles(Callback):
    """The files written once training is over: passage.txt (from the best parameters),
    loss.png and report.md."""

    def __init__(self, out: Path, gradcheck: Gradcheck | None):
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
