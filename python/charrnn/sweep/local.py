"""The local runner: a sweep's trials in worker processes on this machine, `jobs` at a time, each
training on `threads` threads (its share of the cores), a progress bar counting trials.

Ctrl-C: the first stops launching trials and asks the running ones to stop as at their end
(checkpoints written); a second kills them and exits at once. Each worker has its own process
group, so a Ctrl-C at the terminal reaches only this process, which passes it on; a worker
dies with this process (Linux), so a killed sweep leaves nothing running.

Not here: what a trial does (trial.py).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from charrnn.machine import die_with_parent
from charrnn.sweep import trial as trial_mod


def _worker(
    trial: dict[str, Any], folder: str, run: dict[str, Any], threads: int, parent: int
) -> None:
    """A worker process: one trial. Ctrl-C before the run's own handler is up only sets a
    flag that stops the run at its start (trial.StopFlag)."""
    os.setpgrp()
    if sys.platform == "linux":
        die_with_parent(parent)

    def early(signum: int, frame: Any) -> None:
        trial_mod.StopFlag.requested = True

    signal.signal(signal.SIGINT, early)
    trial_mod.run_trial(trial, Path(folder), run, threads)


class Interrupted(Exception):
    """The sweep was stopped by Ctrl-C; the trials that ran wrote their checkpoints."""


def run_local(
    trials: list[dict[str, Any]],
    root: Path,
    run: dict[str, Any],
    jobs: int,
    threads: int,
    on_done: Callable[[dict[str, Any]], None],
) -> bool:
    """Run every trial not yet finished (its trial.json), `jobs` at a time; on_done gets each
    record as its trial ends. Returns False if Ctrl-C stopped the sweep first."""
    ctx = multiprocessing.get_context("spawn")
    queue = [
        t
        for t in trials
        if trial_mod.read_record(root / t["id"]).get("status") not in trial_mod.FINISHED
    ]
    running: dict[Any, tuple[Any, dict[str, Any]]] = {}  # sentinel -> (process, trial)
    state = {"stopping": False}

    def handle(signum: int, frame: Any) -> None:
        if state["stopping"]:  # the second Ctrl-C: now
            for process, _ in running.values():
                process.kill()
            raise KeyboardInterrupt
        state["stopping"] = True
        print(
            "\ncharrnn: stopping: no new trials; the running ones write their checkpoints "
            "(Ctrl-C again to quit at once)",
            file=sys.stderr,
        )
        for process, _ in running.values():
            if process.pid is not None:
                os.kill(process.pid, signal.SIGINT)

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, handle) if main else None
    try:
        while (queue and not state["stopping"]) or running:
            while queue and len(running) < jobs and not state["stopping"]:
                trial = queue.pop(0)
                folder = root / trial["id"]
                process = ctx.Process(
                    target=_worker,
                    args=(trial, str(folder), run, threads, os.getpid()),
                    name=f"charrnn-sweep-{trial['id']}",
                    daemon=True,
                )
                process.start()
                running[process.sentinel] = (process, trial)
            for sentinel in wait(list(running), timeout=0.5):
                process, trial = running.pop(sentinel)
                process.join()
                on_done(_finished(trial, root / trial["id"], process.exitcode, state["stopping"]))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return not state["stopping"]


def _finished(trial: dict[str, Any], folder: Path, code: int | None, stopping: bool) -> dict:
    """The record a worker wrote, or, if it died without one, one saying how it ended."""
    record = trial_mod.read_record(folder)
    if record.get("id") == trial["id"] and record.get("status") != trial_mod.PENDING:
        return record
    if stopping:
        status, message = trial_mod.INTERRUPTED, ""
    else:
        status, message = trial_mod.FAILED, f"the worker process ended with exit code {code}"
    record = trial_mod.make_record(trial, folder, status, message)
    folder.mkdir(parents=True, exist_ok=True)
    trial_mod.write_record(folder, record)
    return record
