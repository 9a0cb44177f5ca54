"""The files of a training run that hold its history, and how they are read and written:
metrics.csv (one row per update) and samples.txt (a sample every so many updates). Not here:
when they are written (experiment.py) or what is drawn from them (report.py, plot.py).
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from pathlib import Path
from typing import TextIO

import numpy as np

from charrnn.train import Progress

METRICS_HEADER = ["step", "epoch", "loss", "smooth_loss", "smooth_loss_per_char",
                  "smooth_bits_per_char"]


def open_metrics(path: Path, resume_step: int | None) -> TextIO:
    """metrics.csv for appending. On resume, rows after the checkpoint's step (written before a
    crash but not covered by the checkpoint) are dropped so each step appears once."""
    if resume_step is None or not path.exists():
        f = open(path, "w", newline="")
        csv.writer(f).writerow(METRICS_HEADER)
        return f
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    # A kill can tear the last row: keep only whole rows (a torn "1234,..." may read as "12").
    kept = [row for row in rows[1:] if len(row) == len(METRICS_HEADER) and row[0].isdigit()
            and int(row[0]) <= resume_step]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(METRICS_HEADER)
        writer.writerows(kept)
    os.replace(tmp, path)
    return open(path, "a", newline="")


def write_metrics(f: TextIO, progress: Progress, steps_per_epoch: int) -> None:
    """A chunk's rows in one write, as csv.writer would format them (numbers never need
    quoting; its \r\n line ends): writerow per row was 0.9 s of a 100,000-step run."""
    n = len(progress.losses)
    first = progress.step - n + 1
    per_char = (progress.smooth_losses / progress.seq_length).tolist()
    ln2 = math.log(2)
    f.write("".join(
        f"{step},{step / steps_per_epoch:.6f},{loss!r},{smooth!r},{pc:.6f},{pc / ln2:.6f}\r\n"
        for step, loss, smooth, pc in zip(range(first, first + n), progress.losses.tolist(),
                                          progress.smooth_losses.tolist(), per_char)))


SAMPLE_HEADER = "--- step "  # samples.txt: "--- step N, smooth loss X ---\n<text>\n\n" each


def read_samples(path: Path) -> list[tuple[int, str, str]]:
    """samples.txt as (step, header line, body), in order. A block whose step number was torn
    by a kill mid-write is dropped."""
    blocks = []
    for block in path.read_text(encoding="utf-8").split(SAMPLE_HEADER)[1:]:
        head, _, body = block.partition("\n")
        step = head.split(",", 1)[0]
        if step.isdigit():
            blocks.append((int(step), SAMPLE_HEADER + head, body))
    return blocks


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as f:
        columns = next(csv.reader(f))
        # numpy's parser: a Python float() per value was 0.7 s for 100,000 rows.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no rows yet: "input contained no data"
            data = np.loadtxt(f, delimiter=",", dtype=float, ndmin=2)
    data = data.reshape(-1, len(columns))
    return {name: data[:, i] for i, name in enumerate(columns)}
