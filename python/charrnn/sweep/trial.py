"""One trial of a sweep: a `charrnn train` run (charrnn.experiment.run) of the trial's settings
in its own folder, resumed from its last.npz when one is there, and what it did as a record
(trial.json). Both runners run this, in a worker process (local.py) or a Ray worker
(ray_runner.py); everything native is built here, inside the worker.

Not here: choosing the trials (space.py), the tables and plots (results.py).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from charrnn.callbacks import Callback, Run
from charrnn.sweep.space import CORPUS

RECORD = "trial.json"
# A trial's status: finished ones are not run again on --resume.
DONE, STOPPED, FAILED, INTERRUPTED, PENDING = (
    "done",
    "stopped early",
    "failed",
    "interrupted",
    "pending",
)
FINISHED = (DONE, STOPPED, FAILED)


def run_settings(run: dict[str, Any]) -> Any:
    """The RunSettings of every trial: `run` holds steps and every (validation and checkpoint
    interval); samples only at the start and the end, no gradient check, no progress bar."""
    from charrnn.experiment import RunSettings

    return RunSettings(
        steps=run["steps"],
        sample_every=run["steps"] if run["steps"] > 0 else 1,
        sample_length=200,
        passage_length=200,
        gradcheck=False,
        quiet=True,
        eval_every=run["every"],
        checkpoint_every=run["every"],
    )


class StopFlag(Callback):
    """Stops the run at its start when Ctrl-C reached the worker before the run's own handler
    was installed (while the text was read, the model built)."""

    requested = False

    def on_start(self, run: Run) -> None:
        if StopFlag.requested:
            run.stop("interrupted")


def run_trial(
    trial: dict[str, Any],
    folder: Path,
    run: dict[str, Any],
    threads: int,
    callbacks: Sequence[Callback] = (),
) -> dict[str, Any]:
    """Train the trial in `folder` (continuing its last.npz if there is one) and write its
    record, trial.json, there. A failure (divergence, a bad text) is a record with status
    "failed" and the one-line reason, not an exception; Ctrl-C is status "interrupted"."""
    from charrnn.checkpoint import CheckpointError
    from charrnn.config import TrainConfig
    from charrnn.experiment import RunError, RunInterrupted
    from charrnn.experiment import run as run_experiment
    from charrnn.train import TrainingDiverged

    folder.mkdir(parents=True, exist_ok=True)
    earlier = read_record(folder)
    seconds_before = earlier.get("seconds", 0.0) if earlier.get("status") == INTERRUPTED else 0.0
    settings = dict(trial["settings"])
    corpus = settings.pop(CORPUS, None)
    started = time.perf_counter()
    status, message, result = DONE, "", None
    try:
        if (folder / "last.npz").exists():
            result = run_experiment(
                corpus,
                folder,
                None,
                run_settings(run),
                resume=folder,
                overrides={"threads": threads},
                callbacks=[StopFlag(), *callbacks],
            )
        else:
            config = TrainConfig(**settings, threads=threads)
            result = run_experiment(
                corpus, folder, config, run_settings(run), callbacks=[StopFlag(), *callbacks]
            )
        if result.stopped is not None:
            status, message = STOPPED, result.stopped
    except RunInterrupted as interrupted:
        status, result = INTERRUPTED, interrupted.result
    except KeyboardInterrupt:
        status = INTERRUPTED
    except (TrainingDiverged, RunError, CheckpointError, OSError, ValueError, MemoryError) as err:
        status, message = FAILED, one_line(err)
    record = make_record(trial, folder, status, message)
    record["seconds"] = seconds_before + time.perf_counter() - started
    write_record(folder, record)
    return record


def make_record(trial: dict[str, Any], folder: Path, status: str, message: str = "") -> dict:
    """What a trial did, read from its folder (metrics.csv; the run's files): its best
    validation bits per character and their step (or, without a validation split, its final
    smooth training loss in bits per character), the updates it made, its curve."""
    record: dict[str, Any] = {
        "id": trial["id"],
        "settings": trial["settings"],
        "status": status,
        "message": message,
        "folder": str(folder),
        "metric": None,  # "val" or "train": which loss ranks it
        "bits": None,  # the ranking value, bits per character
        "best_step": None,
        "smooth_loss": None,
        "updates": 0,
        "seconds": 0.0,
        "curve": [],  # [(step, bits)] of the ranking loss
    }
    metrics = folder / "metrics.csv"
    if not metrics.exists():
        return record
    from charrnn.runfiles import read_metrics

    try:
        history = read_metrics(metrics)
    except (OSError, ValueError):
        return record
    if len(history.get("step", [])) == 0:
        return record
    steps = history["step"]
    record["updates"] = int(steps[-1])
    record["smooth_loss"] = float(history["smooth_loss"][-1])
    val = history.get("val_bits_per_char")
    if val is not None and (~_isnan(val)).any():
        keep = ~_isnan(val)
        vs, vb = steps[keep], val[keep]
        best = int(vb.argmin())
        record.update(metric="val", bits=float(vb[best]), best_step=int(vs[best]))
        record["curve"] = [(int(s), float(b)) for s, b in zip(vs, vb)]
    else:
        bits = history["smooth_bits_per_char"]
        record.update(metric="train", bits=float(bits[-1]), best_step=int(steps[-1]))
        every = max(1, len(steps) // 200)
        record["curve"] = [(int(s), float(b)) for s, b in zip(steps[::every], bits[::every])]
    if record["bits"] is not None and not math.isfinite(record["bits"]):
        record["bits"] = None
    return record


def _isnan(a: Any) -> Any:
    import numpy as np

    return np.isnan(np.asarray(a, dtype=float))


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def read_record(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return {}


def write_record(folder: Path, record: dict[str, Any]) -> None:
    tmp = folder / f".{RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, folder / RECORD)
