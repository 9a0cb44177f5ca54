"""The Ray Tune runner (`charrnn sweep --ray`, the optional extra charrnn[ray]): the same trials
as the local runner, each a Ray trial of `trainable`, a plain function of a dict of settings
that builds the native trainer inside the worker (nothing native is pickled). The trial's CPUs
are its resources (tune.with_resources) and its `threads`, since Ray does not cap a native
thread pool. The run loop's callback reports to Ray (ray.tune.report, with the step) after a
checkpoint at most every few seconds, with the checkpoint (tune.Checkpoint) so that a trial
resumes bit for bit; ASHA (--early-stop) may stop a trial at a report. --resume is
Tuner.restore.

Only this module imports ray, and only when a sweep runs on it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from charrnn.callbacks import Callback, Run
from charrnn.sweep import trial as trial_mod
from charrnn.sweep.space import SweepError

RAY_VERSION = "2.60.0"
INSTALL = f"pip install 'charrnn[ray]' (ray[tune]=={RAY_VERSION})"
CHECKPOINT_FILES = ("last.npz", "best.npz", "metrics.csv", "samples.txt")


def import_ray() -> Any:
    """ray, with Tune; SweepError saying how to install it if it does not import."""
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError as err:
        raise SweepError(
            f"--ray needs Ray Tune, which does not import ({err}): {INSTALL}"
        ) from None
    return ray


def check_address(address: str, timeout: float = 5.0) -> None:
    """SweepError if nothing listens at HOST:PORT (ray.init would retry for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise SweepError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        raise SweepError(
            f"--address {address}: nothing answers there ({err.strerror or err}); start the "
            f"head node with `ray start --head`, or leave out --address for a local Ray"
        ) from None


def check_storage(storage: str) -> Path:
    """The storage folder, made if needed; SweepError if it cannot be written."""
    path = Path(storage).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".charrnn-write-test"):
            pass
    except OSError as err:
        raise SweepError(
            f"--storage {storage}: cannot write there ({err.strerror or err})"
        ) from None
    return path


def start(address: str | None) -> Any:
    """ray.init: a new local Ray (address "local"), or the cluster at `address` (default
    RAY_ADDRESS); nothing if Ray is already initialised in this process."""
    # Tune's old console output, which verbose=0 silences (the new one prints its tables
    # anyway), and no warning about frequent experiment snapshots (tiny trials report often).
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    ray = import_ray()
    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or "local"
    check_address(address)
    kwargs: dict[str, Any] = dict(
        address=address, logging_level=logging.WARNING, log_to_driver=False
    )
    if address == "local":
        kwargs["include_dashboard"] = False
    ray.init(**kwargs)
    return ray


# --- inside a Ray worker --------------------------------------------------------------------


class _Report(Callback):
    """Reports to Ray after a checkpoint (last.npz, written after a validation pass), at most
    every `seconds`; the last one is reported by trainable() after the run's files."""

    def __init__(self, seconds: float, folder: Path, first_seconds: float):
        self.seconds, self.folder, self.first_seconds = seconds, folder, first_seconds
        self.last = time.perf_counter()
        self.started = time.perf_counter()

    def on_start(self, run: Run) -> None:
        self.run = run

    def on_checkpoint(self, path: Path) -> None:
        if path.name != "last.npz" or self.run.finished:
            return
        if time.perf_counter() - self.last < self.seconds:
            return
        self.last = time.perf_counter()
        trainer = self.run.trainer
        metrics = _metrics(self.folder, trainer.step)
        metrics["seconds"] = self.first_seconds + time.perf_counter() - self.started
        _report(metrics, self.folder)


def _metrics(folder: Path, step: int) -> dict[str, Any]:
    """What a report holds: the step (ASHA's time), `bits` (the ranking loss now: the latest
    validation pass, or the smooth training loss), the best so far and the status."""
    record = trial_mod.make_record({"id": "", "settings": {}}, folder, trial_mod.PENDING)
    curve = record["curve"]
    now = curve[-1][1] if curve else float("inf")
    return {
        "step": step,
        "bits": now,
        "best_bits": record["bits"] if record["bits"] is not None else float("inf"),
        "best_step": record["best_step"] if record["best_step"] is not None else -1,
        "smooth_loss": record["smooth_loss"] if record["smooth_loss"] is not None else -1.0,
        "status": "running",
    }


def _report(metrics: dict[str, Any], folder: Path) -> None:
    from ray import tune

    with tempfile.TemporaryDirectory(prefix="charrnn-ckpt-") as tmp:
        for name in CHECKPOINT_FILES:
            if (folder / name).exists():
                shutil.copy2(folder / name, Path(tmp) / name)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def trainable(config: dict[str, Any]) -> None:
    """A Ray trial: config = {"trial": {"id", "settings"}, "run": {steps, every, root,
    threads, report_seconds}}. Continues from Ray's checkpoint when Ray restores it."""
    from ray import tune

    trial, run = config["trial"], config["run"]
    folder = Path(run["root"]) / trial["id"]
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = tune.get_checkpoint()
    first_seconds = 0.0
    if checkpoint is not None:
        with checkpoint.as_directory() as saved:
            for name in CHECKPOINT_FILES:
                if (Path(saved) / name).exists():
                    shutil.copy2(Path(saved) / name, folder / name)
        first_seconds = trial_mod.read_record(folder).get("seconds", 0.0)
    else:  # a fresh start: nothing of an earlier attempt is resumed
        for name in (*CHECKPOINT_FILES, trial_mod.RECORD):
            (folder / name).unlink(missing_ok=True)
    report = _Report(run["report_seconds"], folder, first_seconds)
    record = trial_mod.run_trial(trial, folder, run, run["threads"], callbacks=[report])
    metrics = _metrics(folder, record["updates"])
    metrics.update(status=record["status"], message=record["message"])
    metrics["seconds"] = first_seconds + record["seconds"]
    if record["status"] == trial_mod.INTERRUPTED:
        return
    _report(metrics, folder)


# --- the driver -----------------------------------------------------------------------------


def _dirname(trial: Any) -> str:
    return trial.config["trial"]["id"]


def _progress_callback(total: int) -> Any:
    """A Tune callback printing a line per trial that ends (Ray's own tables are off)."""
    from ray import tune

    class Progress(tune.Callback):
        def __init__(self) -> None:
            self.ended = 0

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.ended += 1
            result = trial.last_result or {}
            status = result.get("status")
            status = status if status in (trial_mod.DONE, trial_mod.FAILED) else "stopped early"
            bits = result.get("best_bits")
            shown = f", {bits:.4f} bits" if isinstance(bits, float) and bits < 1e9 else ""
            print(
                f"{_dirname(trial)} {status} at step {result.get('step', 0)}{shown} "
                f"({self.ended} ended)",
                file=sys.stderr,
            )

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.ended += 1
            print(f"{_dirname(trial)} failed ({self.ended} ended)", file=sys.stderr)

    return Progress()


def run_ray(
    trials: list[dict[str, Any]],
    root: Path,
    run: dict[str, Any],
    threads: int,
    storage: Path,
    name: str,
    address: str | None,
    jobs: int | None,
    early_stop: dict[str, Any] | None,
    resume: bool,
) -> tuple[list[dict[str, Any]], bool, float]:
    """Run the trials on Ray; their records, whether every trial finished, and the seconds
    Ray took to start."""
    t0 = time.perf_counter()
    ray = start(address)
    started = time.perf_counter() - t0
    from ray import tune

    run = {**run, "root": str(root), "threads": threads}
    fn = tune.with_resources(trainable, {"cpu": threads})
    path = str(storage / name)
    if resume and tune.Tuner.can_restore(path):
        tuner = tune.Tuner.restore(path, fn, resume_unfinished=True, resume_errored=False)
    else:
        scheduler = None
        if early_stop is not None:
            scheduler = tune.schedulers.ASHAScheduler(
                time_attr="step",
                max_t=run["steps"],
                grace_period=early_stop["grace"],
                reduction_factor=early_stop["reduction_factor"],
            )
        tuner = tune.Tuner(
            fn,
            param_space={
                "trial": tune.grid_search(trials),
                "run": run,
            },
            tune_config=tune.TuneConfig(
                metric="bits",
                mode="min",
                scheduler=scheduler,
                max_concurrent_trials=jobs,
                trial_name_creator=_dirname,
                trial_dirname_creator=_dirname,
            ),
            run_config=tune.RunConfig(
                name=name,
                storage_path=str(storage),
                verbose=0,
                callbacks=[_progress_callback(len(trials))],
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            ),
        )
    # Tune catches the first Ctrl-C (it stops the trials and saves the experiment), puts back
    # the handler it found, and otherwise leaves its own installed: finding ours afterwards
    # means the sweep was interrupted. Ours is for a second Ctrl-C: exit at once.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _second_ctrl_c) if main else None
    try:
        grid = tuner.fit()
        interrupted = main and signal.getsignal(signal.SIGINT) is _second_ctrl_c
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    records = _records(grid, root, interrupted)
    del ray
    return records, not interrupted, started


def _second_ctrl_c(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _records(grid: Any, root: Path, interrupted: bool) -> list[dict[str, Any]]:
    """A record per Ray trial, written to its folder as trial.json (as the local runner's):
    done, failed (an error, or a failure the trial reported), stopped early (ASHA ended it
    before its last step) or interrupted (not terminated: Ctrl-C)."""
    records = []
    for trial in grid._experiment_analysis.trials:
        spec = trial.config["trial"]
        folder = root / spec["id"]
        metrics = trial.last_result or {}
        reported = metrics.get("status")
        message = metrics.get("message", "") or ""
        if trial.status == "ERROR":
            status = trial_mod.FAILED
            message = _error_line(trial) or "the Ray trial raised an error"
        elif reported in (trial_mod.DONE, trial_mod.FAILED):
            status = reported
        elif trial.status == "TERMINATED" and not interrupted:
            status = trial_mod.STOPPED
            message = message or "ASHA"
        else:
            status = trial_mod.INTERRUPTED if metrics else trial_mod.PENDING
        record = trial_mod.make_record(spec, folder, status, message)
        if metrics:
            record["seconds"] = float(metrics.get("time_total_s", metrics.get("seconds", 0.0)))
        if folder.exists():
            trial_mod.write_record(folder, record)
        records.append(record)
    return sorted(records, key=lambda r: r["id"])


def _error_line(trial: Any) -> str:
    """The last line of a failed trial's error."""
    text = getattr(trial, "error_msg", None) or ""
    path = getattr(trial, "error_file", None)
    if not text and path and os.path.exists(path):
        text = Path(path).read_text(errors="replace")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
