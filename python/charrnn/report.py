"""report.md: the assignment's four answers on one page (gradient check, loss plot, samples
during training, a passage from the best model) plus the run's settings and timing."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from charrnn.gradcheck import GRADCHECK_MAX_PARAMS, format_table
from charrnn.losses import format_loss
from charrnn.machine import describe as machine
from charrnn.plot import EPOCH_LINES
from charrnn.runfiles import read_samples


def _optimizer(c: Any) -> str:
    """The optimiser and its constants, as report.md names them."""
    if c.optimizer == "rmsprop":
        return f"RMSprop eta = {c.eta:g}, decay = {c.decay:g}, eps = {c.eps:g}"
    if c.optimizer == "adam":
        return f"Adam eta = {c.eta:g}, betas = {c.beta1:g}/{c.beta2:g}, eps = {c.eps:g}"
    return f"AdaGrad eta = {c.eta:g}, eps = {c.eps:g}"


def _best(trainer: Any) -> str:
    """Which parameters best.npz holds, and their figure."""
    T, ln2 = trainer.config.seq_length, math.log(2)
    if trainer.val_streams is not None:
        if trainer.best_val_step is None:
            return "no validation pass yet: the initial parameters"
        v = trainer.best_val_loss
        return (
            f"lowest validation loss: {format_loss(v, 4)} nats = {format_loss(v / ln2, 4)} "
            f"bits per character, at "
            f"update {trainer.best_val_step:,}"
        )
    b = trainer.best_smooth_loss
    curve = (
        "smooth training loss"
        if trainer.config.loss_curve == "smooth"
        else "training loss (debiased average)"
    )
    return (
        f"lowest {curve}: {format_loss(b)} ({format_loss(b / T, 4)} nats = "
        f"{format_loss(b / T / ln2, 4)} bits per character)"
    )


def _loss_plot(trainer: Any) -> str:
    """What loss.png shows, in a sentence or two."""
    c = trainer.config
    validation = trainer.val_streams is not None
    if c.loss_curve == "smooth":
        text = "Smooth training loss (0.999 smooth + 0.001 loss) per character against update steps"
    else:
        text = (
            "Training loss per character against update steps: the smooth loss (0.999 smooth "
            "+ 0.001 loss) with its start-up bias removed, (smooth - 0.999^n l_1) / "
            "(1 - 0.999^n) after n updates (l_1 the first loss), a mean of about the last "
            "thousand updates' losses in a run of any length"
            + ("" if validation else "; its lowest point, starred, gave best.npz")
        )
    if validation:
        text += ", with the validation loss (the best pass, starred, gave best.npz)"
    epochs = (
        "dashed lines mark epochs"
        if trainer.step // trainer.steps_per_epoch <= EPOCH_LINES
        else "the top axis counts epochs"
    )
    return f"{text}; {epochs}."


def write_report(
    out: Path,
    *,
    trainer: Any,
    text_path: str | None,
    history: dict[str, np.ndarray],
    gradcheck: dict[str, Any] | None,
    train_seconds: float,
    steps_run: int,
    total_seconds: float,
    settings: Any,
    passage_seed: int,
    stopped: str | None,
    changes: list[dict[str, Any]],
) -> None:
    c = trainer.config
    lines = _run_table(
        trainer, text_path, train_seconds, steps_run, total_seconds, settings, stopped, changes
    )
    lines += [
        "",
        "## 1. Gradient check",
        "",
        *_gradcheck_section(gradcheck, c),
        "## 2. Loss",
        "",
        _loss_plot(trainer),
        "",
        f"![{'smooth' if c.loss_curve == 'smooth' else 'training'} loss](loss.png)",
        "",
        "## 3. Samples during training",
        "",
        f"{settings.sample_length} characters every {settings.sample_every:,} updates, from the "
        "hidden state and input character of the update about to happen.",
        "",
    ]
    for _, head, body in read_samples(out / "samples.txt"):
        lines += [f"**{head.strip('- ').strip()}**", "", "```text", body.rstrip("\n"), "```", ""]
    passage = (out / "passage.txt").read_text(encoding="utf-8").rstrip("\n")
    lines += [
        "## 4. Passage from the best model",
        "",
        f"{len(passage):,} characters from best.npz ({_best(trainer)}), "
        f"temperature {settings.PASSAGE_TEMPERATURE:g}, seed {passage_seed}.",
        "",
        "```text",
        passage,
        "```",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _run_table(
    trainer: Any,
    text_path: str | None,
    train_seconds: float,
    steps_run: int,
    total_seconds: float,
    settings: Any,
    stopped: str | None,
    changes: list[dict[str, Any]],
) -> list[str]:
    """The report's title, command line and table of the run's settings and results."""
    c = trainer.config
    T = c.seq_length
    text_name = str(text_path) if text_path else "the embedded corpus (shakespeare.txt)"
    rate = steps_run / train_seconds if train_seconds > 0 else float("nan")
    n_val = trainer.n_val
    unit = " documents" if c.documents else ""
    split = f"; the last {n_val:,}{unit} ({c.val_frac:g}) held out for validation" if n_val else ""
    documents = (
        f"{len(trainer.documents):,} documents, one per line, each from a zero state; "
        if c.documents
        else ""
    )
    command = " ".join(shlex.quote(a) for a in settings.command) if settings.command else None
    lines = [
        f"# charrnn run: {Path(text_path).name if text_path else 'shakespeare.txt'}",
        "",
        *([f"`{command}`", ""] if command else []),
        *(
            [
                f"Stopped early ({stopped}) at update {trainer.step:,}; every file was written as "
                f"at the end.",
                "",
            ]
            if stopped
            else []
        ),
        "| setting | value |",
        "|---|---|",
        f"| text | {text_name}: {documents}{len(trainer.encoded):,} characters, K = "
        f"{trainer.vocab.K} distinct{split} |",
        f"| model | {trainer.model().describe()}, {c.dtype} |",
        f"| training | seq_length = {T}, batch = {c.batch}, {_optimizer(c)}, "
        f"{f'gradient norm clipped to {c.clip_norm:g}' if c.clip_norm else f'clip = ±{c.clip:g}'}, "
        + (
            ""
            if c.lr_decay == 1
            else f"eta x {c.lr_decay:g} after each epoch past {c.lr_decay_after}, "
        )
        + f"{f'dropout {c.dropout:g}, ' if c.dropout else ''}"
        f"initial weights "
        f"{f'N(0, {c.sig:g}^2)' if c.cell == 'rnn' else 'U(±1/sqrt(m))'}, seed = {c.seed} |",
        f"| updates | {trainer.step:,} ({trainer.epoch:.2f} epochs of {trainer.steps_per_epoch:,} "
        f"updates) |",
        f"| time | {train_seconds:.1f} s in the training loop for {steps_run:,} updates "
        f"({rate:,.0f} updates/s, {trainer.threads} thread{'s' if trainer.threads > 1 else ''}); "
        f"{total_seconds:.1f} s in all (the rest: starting, "
        f"checkpoints, samples, validation, the plot, waiting for the gradient check) |",
        f"| smooth loss | {format_loss(trainer.smooth_loss)} now "
        f"({format_loss(trainer.smooth_loss / T, 4)} nats per character) |",
        *(
            [
                f"| training loss | {format_loss(trainer.debiased_loss)} now "
                f"({format_loss(trainer.debiased_loss / T, 4)} nats per character): "
                "the smooth loss "
                f"with its start-up bias removed, as loss.png shows it |"
            ]
            if c.loss_curve == "debiased"
            else []
        ),
        f"| best.npz | {_best(trainer)} |",
        f"| machine | {machine()} |",
    ]
    # Inside the table: a blank line before these rows would end it.
    for change in changes:
        what = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in change["changed"].items())
        lines.append(f"| changed on resume at update {change['step']:,} | {what} |")
    return lines


def _gradcheck_section(gradcheck: dict[str, Any] | None, c: Any) -> list[str]:
    """The gradient check's table, with what was checked."""
    T = c.seq_length
    if gradcheck is None:
        return [
            "Not run (`--no-gradcheck`, or it did not finish). Run `charrnn gradcheck` "
            "for the table.",
            "",
        ]
    return [
        f"Every entry of every gradient of a fresh {c.cell} model of {c.layers} layer(s) of "
        f"m = {gradcheck['settings']['m']} units"
        + (
            ""
            if gradcheck["settings"]["m"] == c.m
            else f" (at most {GRADCHECK_MAX_PARAMS:,} parameters, so the check takes seconds)"
        )
        + ", on the first "
        f"{T + 1} characters of the text: the native analytic gradient against central "
        "differences of the native loss (fd), against the numpy reference's analytic "
        "gradient on the same weights (ref) and against complex-step derivatives of the "
        "reference (cs)"
        f"{' under one fixed dropout mask' if gradcheck['settings'].get('dropout') else ''}.",
        "",
        "```",
        format_table(gradcheck),
        "```",
        "",
    ]
