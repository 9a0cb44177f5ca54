"""The settings of a training run: TrainConfig, each field with its default and its help (the
one place both are written: the command line's options, the docs' table and the native calls
are derived from it), and the named recipes.

Not here: running (train.py) or the model's shape alone (spec.ModelSpec).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from charrnn.data import NEWLINE_MODES
from charrnn.spec import CELLS, ModelSpec

__all__ = ["OPTIMIZERS", "RECIPES", "RESUMABLE", "TrainConfig", "defaults", "field_docs"]

# Settings a resumed run may change; the others describe the model or the text.
RESUMABLE = (
    "eta",
    "eps",
    "clip",
    "clip_norm",
    "decay",
    "beta1",
    "beta2",
    "diverge_factor",
    "lr_decay",
    "lr_decay_after",
    "dropout",
    "threads",
)
OPTIMIZERS = ("adagrad", "rmsprop", "adam")
# Named sets of settings for a new run; the settings given beside one win. "pytorch": what a
# PyTorch user's script does for a gated model, which learns far faster per update than
# char-rnn's one-hot input and forget bias of 1 (docs/performance.md, quality per minute).
RECIPES: dict[str, dict[str, Any]] = {
    "pytorch": {"embedding": 64, "forget_bias": 0.0, "optimizer": "adam", "eta": 2e-3},
}


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a run; the defaults are the assignment's. Frozen: use
    dataclasses.replace to change one.

    Raises:
        ValueError: On construction, a setting of the wrong type or out of range (the
            message names it and its range).
    """

    cell: str = "rnn"
    """The cell: "rnn" (the assignment's vanilla RNN), "lstm" or "gru"."""
    layers: int = 1
    """Stacked layers, each of m units; layer l > 1 reads h of layer l - 1."""
    embedding: int = 0
    """D > 0: layer 1 reads each character as a learnt vector of D numbers (a (D, K) table E,
    drawn N(0, 1), PyTorch's nn.Embedding), not as a one-hot column of U1; 0: one-hot."""
    m: int = 100
    """Hidden units per layer."""
    seq_length: int = 25
    """Characters per update (T), the length of BPTT."""
    eta: float = 0.1
    """Learning rate (AdaGrad's 0.1; RMSprop and Adam want ~2e-3)."""
    sig: float = 0.01
    """rnn: initial weights ~ N(0, sig^2) (lstm, gru: U(-1/sqrt(m), 1/sqrt(m)))."""
    forget_bias: float = 1.0
    """lstm: the initial bias of the forget gate (1: char-rnn's and torch-rnn's; 0: PyTorch's
    on average)."""
    seed: int = 0
    """Initial weights, and (with the step) every sample drawn."""
    eps: float = 1e-8
    """The optimiser's epsilon."""
    clip: float = 5.0
    """Gradients clipped elementwise to [-clip, clip] (unless clip_norm)."""
    optimizer: str = "adagrad"
    """The optimiser: "adagrad" (the assignment's), "rmsprop" or "adam"."""
    clip_norm: float = 0.0
    """If > 0, clip the gradient's global L2 norm to this instead (0: elementwise, to clip)."""
    decay: float = 0.95
    """RMSprop's decay of the mean square (char-rnn's decay_rate)."""
    beta1: float = 0.9
    """Adam's first-moment decay."""
    beta2: float = 0.999
    """Adam's second-moment decay."""
    batch: int = 1
    """Sequences per update, at evenly spaced offsets (loss averaged over them)."""
    dtype: str = "float64"
    """The training precision, "float64" or "float32" (faster); gradient checks stay float64."""
    val_frac: float = 0.0
    """The last val_frac of the text, contiguous, held out for validation."""
    newline: str = "lf"
    """How line ends are read: "lf", CRLF and CR as LF and a leading BOM dropped; "keep", as
    stored."""
    diverge_factor: float = 3.0
    """Stop when the smooth loss exceeds this times the first loss."""
    lr_decay: float = 1.0
    """eta is multiplied by this after each epoch past lr_decay_after, in (0, 1]."""
    lr_decay_after: int = 10
    """Epochs before the decay starts (char-rnn's default)."""
    dropout: float = 0.0
    """Drop each unit of each layer's output h_t with this probability, in [0, 1), while
    training (inverted scaling; off for evaluation and sampling)."""
    documents: bool = False
    """The text holds one document per line, each learnt from a zero state and ended by the
    line end (charrnn.data.document_streams)."""
    threads: int | None = None
    """Threads the native loop runs on, 1 to 256; None: every core this process may use. The
    results are the same for any number, so a resumed run may change it."""

    def __post_init__(self) -> None:
        for names, valid, what in _RULES:
            for name in names:
                value = getattr(self, name)
                if not valid(value):
                    raise ValueError(f"{name} must be {what}, got {value!r}")

    @property
    def loss_curve(self) -> str:
        """The training-loss curve that the loss plot and the progress bar show and that picks
        best.npz when there is no validation split:

        - "smooth" for the assignment's setup: a one-layer vanilla RNN (cell "rnn", layers
          1) trained by AdaGrad on one sequence per update (batch 1), whatever its m,
          seq_length, eta or other settings. The smooth loss as the assignment defines it,
          0.999 smooth + 0.001 loss started at the first loss.
        - "debiased" for any other run: the same average with its start-up bias removed
          (charrnn.losses.debiased). Started at the first loss, the smooth loss lags by
          thousands of updates (at update 500 it still holds 0.61 of the first loss), which
          misleads in the shorter runs of larger models.

        Either way metrics.csv, report.md and the progress of train() give the smooth loss
        too.
        """
        assignment = (
            self.cell == "rnn"
            and self.layers == 1
            and self.batch == 1
            and self.optimizer == "adagrad"
        )
        return "smooth" if assignment else "debiased"

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name (what a checkpoint stores)."""
        return dataclasses.asdict(self)

    def spec(self, K: int) -> ModelSpec:
        """The model these settings train, for a vocabulary of K characters."""
        return ModelSpec(self.cell, K, self.m, self.layers, self.embedding)

    def resumed(self, overrides: dict[str, Any] | None) -> tuple[TrainConfig, dict[str, list]]:
        """These settings with overrides given on resume applied, and those that changed
        ({name: [old, new]}).

        Raises:
            ValueError: An override of a setting not in RESUMABLE (the model or the text).
        """
        changed = {}
        for name, value in (overrides or {}).items():
            old = getattr(self, name)
            if old == value:
                continue
            if name not in RESUMABLE:
                raise ValueError(
                    f"the checkpoint was trained with {name}={old}, but "
                    f"{name}={value} was given; drop the option to resume (only "
                    f"{', '.join(RESUMABLE)} may change)"
                )
            changed[name] = [old, value]
        return dataclasses.replace(self, **{k: v for k, (_, v) in changed.items()}), changed

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config of to_dict's output (missing settings take their defaults).

        Raises:
            ValueError: An unknown setting, or a value out of range.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**values)


@functools.cache
def field_docs() -> dict[str, str]:
    """Each TrainConfig field's docstring by name, read from this module's source: the one place
    a setting's help is written (the command line's --help and the API reference show it)."""
    tree = ast.parse(inspect.getsource(TrainConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def defaults() -> dict[str, Any]:
    """Every setting's default by name."""
    return {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# What each setting must be: (settings, test, what the error says it must be).
_RULES: tuple[tuple[tuple[str, ...], Callable[[Any], bool], str], ...] = (
    (("cell",), lambda v: v in CELLS, f"one of {', '.join(CELLS)}"),
    (("optimizer",), lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    (("decay", "beta1", "beta2"), lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    (("clip_norm",), lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    (("embedding",), lambda v: _integer(v) and v >= 0, "a whole number >= 0 (0: none)"),
    (("layers", "m", "seq_length", "batch"), lambda v: _integer(v) and v > 0, "a positive integer"),
    (("eta", "eps", "clip"), lambda v: _number(v) and v > 0, "a finite number > 0"),
    (("forget_bias",), _number, "a finite number"),
    (("sig",), lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    (("seed",), lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    (("dtype",), lambda v: v in ("float64", "float32"), "'float64' or 'float32'"),
    (("val_frac",), lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    (("newline",), lambda v: v in NEWLINE_MODES, f"one of {', '.join(NEWLINE_MODES)}"),
    (("lr_decay",), lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    (("lr_decay_after",), lambda v: _integer(v) and v >= 0, "a whole number of epochs >= 0"),
    (
        ("threads",),
        lambda v: v is None or (_integer(v) and 1 <= v <= 256),
        "a whole number from 1 to 256 (or None: every core)",
    ),
    (("documents",), lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    (("dropout",), lambda v: _number(v) and 0 <= v < 1, "a probability in [0, 1)"),
    (("diverge_factor",), lambda v: _number(v) and v > 1, "a number > 1"),
)
