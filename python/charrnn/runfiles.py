"""The files of a training run that hold its history, and how they are read and written:
metrics.csv (one row per update) and samples.txt (a sample every so many updates). Not here:
when they are written (experiment.py) or what is drawn from them (report.py, plot.py).
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from pathlib import Path
from typing import TextIO

import numpy as np

from charrnn.train import Progress

# metrics.csv's columns. val_* are empty on rows without an evaluation; lr is the learning rate
# of that update. Files of earlier versions have the first six; resuming rewrites them with these
# columns and keeps every row.
METRICS_HEADER = [
    "step",
    "epoch",
    "loss",
    "smooth_loss",
    "smooth_loss_per_char",
    "smooth_bits_per_char",
    "val_loss_per_char",
    "val_bits_per_char",
    "lr",
]


def open_metrics(path: Path, resume_step: int | None) -> TextIO:
    """metrics.csv for appending. On resume, rows after the checkpoint's step (written before a
    crash but not covered by the checkpoint) are dropped so each step appears once; a file with
    other columns (an earlier version's) keeps every row, its values under their own names."""
    if resume_step is None or not path.exists():
        f = open(path, "w", newline="")
        csv.writer(f).writerow(METRICS_HEADER)
        return f
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0] if rows else METRICS_HEADER
    where = [header.index(name) if name in header else None for name in METRICS_HEADER]
    # A kill can tear the last row: keep only whole rows (a torn "1234,..." may read as "12").
    kept = [
        [row[i] if i is not None else "" for i in where]
        for row in rows[1:]
        if len(row) == len(header) and row[0].isdigit() and int(row[0]) <= resume_step
    ]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(METRICS_HEADER)
        writer.writerows(kept)
    os.replace(tmp, path)
    return open(path, "a", newline="")


def write_metrics(
    f: TextIO,
    progress: Progress,
    steps_per_epoch: int,
    lr: float,
    val_loss_per_char: float | None = None,
) -> None:
    """A chunk's rows in one write, as csv.writer would format them (numbers never need
    quoting; its \r\n line ends): writerow per row was 0.9 s of a 100,000-step run. The
    validation loss, if given, goes on the chunk's last row."""
    n = len(progress.losses)
    first = progress.step - n + 1
    per_char = (progress.smooth_losses / progress.seq_length).tolist()
    ln2 = math.log(2)
    rows = [
        f"{step},{step / steps_per_epoch:.6f},{loss!r},{smooth!r},{pc:.6f},{pc / ln2:.6f},"
        for step, loss, smooth, pc in zip(
            range(first, first + n),
            progress.losses.tolist(),
            progress.smooth_losses.tolist(),
            per_char,
        )
    ]
    no_val = f",,{lr!r}\r\n"
    last = (
        no_val
        if val_loss_per_char is None
        else f"{val_loss_per_char:.6f},{val_loss_per_char / ln2:.6f},{lr!r}\r\n"
    )
    f.write("".join(row + no_val for row in rows[:-1]) + (rows[-1] + last if rows else ""))


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
    """metrics.csv as one float array per column; an empty field (no evaluation) is NaN."""
    with open(path, newline="") as f:
        columns = next(csv.reader(f))
        body = f.read()
    # numpy's parser: a Python float() per value was 0.7 s for 100,000 rows. Empty fields read
    # as "nan" (an empty field sits between two commas or before the line end).
    body = body.replace(",,", ",nan,").replace(",,", ",nan,").replace(",\r\n", ",nan\r\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no rows yet: "input contained no data"
        data = np.loadtxt(io.StringIO(body), delimiter=",", dtype=float, ndmin=2)
    data = data.reshape(-1, len(columns))
    return {name: data[:, i] for i, name in enumerate(columns)}
