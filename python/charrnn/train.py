"""Training from Python: the settings (TrainConfig), and Trainer, a thin wrapper around the native
loop that owns the vocabulary, runs steps in chunks with a callback (train) or through the run
loop of `charrnn train` with Callback objects (fit), samples, and saves/loads checkpoints. The
loop itself (forward, BPTT, clip, AdaGrad, epoch wrap, smooth loss, best parameters)
runs in C++ with the GIL released: see cpp/train/trainer.cpp.

Not here: files of a training run (metrics.csv, samples, plots: see experiment.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from charrnn import _core, checkpoint
from charrnn.checkpoint import SPEC_KEYS, CheckpointError
from charrnn.data import (
    END,
    NEWLINE_MODES,
    Streams,
    Vocabulary,
    default_corpus_path,
    documents_layout,
    read_text,
    split_documents,
)
from charrnn.losses import debiased, format_loss
from charrnn.model import (
    EVAL_DOCUMENT_STREAMS,
    Model,
    available_cores,
    evaluate_streams,
    native_params,
    sampling_seed,
)

if TYPE_CHECKING:
    from charrnn.callbacks import Callback
    from charrnn.experiment import RunResult

CELLS = _core.CELLS  # "rnn", "lstm", "gru"
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
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        for name in ("decay", "beta1", "beta2"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
        if not (
            isinstance(self.clip_norm, (int, float))
            and math.isfinite(self.clip_norm)
            and self.clip_norm >= 0
        ):
            raise ValueError(f"clip_norm must be a finite number >= 0, got {self.clip_norm!r}")
        if (
            isinstance(self.embedding, bool)
            or not isinstance(self.embedding, (int, np.integer))
            or self.embedding < 0
        ):
            raise ValueError(
                f"embedding must be a whole number >= 0 (0: none), got {self.embedding!r}"
            )
        for name in ("layers", "m", "seq_length", "batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("eta", "eps", "clip"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not (
            isinstance(self.forget_bias, (int, float))
            and not isinstance(self.forget_bias, bool)
            and math.isfinite(self.forget_bias)
        ):
            raise ValueError(f"forget_bias must be a finite number, got {self.forget_bias!r}")
        if not (isinstance(self.sig, (int, float)) and math.isfinite(self.sig) and self.sig >= 0):
            raise ValueError(f"sig must be a finite number >= 0, got {self.sig!r}")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or self.seed < 0
        ):
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        if not (isinstance(self.val_frac, (int, float)) and 0 <= self.val_frac < 1):
            raise ValueError(f"val_frac must be a number in [0, 1), got {self.val_frac!r}")
        if self.newline not in NEWLINE_MODES:
            raise ValueError(
                f"newline must be one of {', '.join(NEWLINE_MODES)}, got {self.newline!r}"
            )
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must be a number in (0, 1], got {self.lr_decay!r}")
        if (
            isinstance(self.lr_decay_after, bool)
            or not isinstance(self.lr_decay_after, (int, np.integer))
            or self.lr_decay_after < 0
        ):
            raise ValueError(
                f"lr_decay_after must be a whole number of epochs >= 0, got {self.lr_decay_after!r}"
            )
        if self.threads is not None and (
            isinstance(self.threads, bool)
            or not isinstance(self.threads, (int, np.integer))
            or not 1 <= self.threads <= 256
        ):
            raise ValueError(
                f"threads must be a whole number from 1 to 256 (or None: every "
                f"core), got {self.threads!r}"
            )
        if not isinstance(self.documents, (bool, np.bool_)):
            raise ValueError(f"documents must be True or False, got {self.documents!r}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be a probability in [0, 1), got {self.dropout!r}")
        if not (isinstance(self.diverge_factor, (int, float)) and self.diverge_factor > 1):
            raise ValueError(f"diverge_factor must be a number > 1, got {self.diverge_factor!r}")

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

    def spec(self, K: int) -> dict[str, Any]:
        """The model's spec for a vocabulary of K characters: what a checkpoint records."""
        return {
            "cell": self.cell,
            "layers": self.layers,
            "m": self.m,
            "K": K,
            "dtype": self.dtype,
            "embedding": self.embedding,
        }

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


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite (that step's update was not applied), or the smooth loss
    passed diverge_factor times the first loss. `progress` holds the losses of the chunk."""

    def __init__(self, message: str, progress: Progress | None = None):
        super().__init__(message)
        self.progress = progress
        """The losses of the chunk of updates in which training stopped, or None."""


@dataclass
class Progress:
    """What a callback gets after each chunk of steps."""

    step: int
    """Updates done so far."""
    epoch: float
    """Passes over the text done so far (fractional)."""
    losses: np.ndarray
    """The loss of each update of this chunk."""
    smooth_losses: np.ndarray
    """The smooth loss after each update of this chunk."""
    seq_length: int
    """Characters per update (to turn the loss into a loss per character)."""

    @property
    def smooth_loss(self) -> float:
        """The smooth loss after the last update of the chunk (nats, summed over seq_length)."""
        return float(self.smooth_losses[-1])

    @property
    def bits_per_char(self) -> float:
        """Smooth loss per character in bits (the loss is in nats, summed over seq_length)."""
        return self.smooth_loss / self.seq_length / math.log(2)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping (Linux), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_memory(K: int, config: TrainConfig) -> None:
    """MemoryError, with the figures, when the model cannot fit in RAM. An --m that fits the
    address space but not RAM (m=40000: ~80 GB) was otherwise killed by the kernel's OOM killer
    with no message at all, after minutes of swapping."""
    available = _available_memory()
    if available is None or config.m >= 2**31:  # the native core's own size error says more
        return
    entries = sum(
        e["size"]
        for e in _core.layout(
            K, config.m, cell=config.cell, layers=config.layers, embedding=config.embedding
        )
    )
    itemsize = 4 if config.dtype == "float32" else 8
    # The float64 initial draw, then parameters, gradients, the optimizer's state (Adam keeps two
    # moments), the best copy and the cast's temporary in the training dtype.
    state = 2 if config.optimizer == "adam" else 1
    needed = entries * (8 + (4 + state) * itemsize)
    if needed > available:
        raise MemoryError(
            f"{config.cell} with {config.layers} layer(s) of m={config.m} needs about "
            f"{needed / 2**30:.1f} GiB for the parameters, gradients, "
            f"optimizer state and best copy, but {available / 2**30:.1f} GiB is available"
        )


def _split_sizes(n: int, config: TrainConfig) -> tuple[int, int]:
    """(training characters, validation characters) of a text of n: the last val_frac of it,
    rounded, is held out (documents: n documents, the last val_frac of them). ValueError when
    either part is too short to use."""
    if config.documents:
        return _document_split(n, config)
    T = config.seq_length
    n_val = int(round(config.val_frac * n))
    if config.val_frac > 0 and n_val < T + 1:
        raise ValueError(
            f"--val-frac {config.val_frac:g} holds out {n_val} of the text's {n} characters, fewer "
            f"than one sequence (seq_length + 1 = {T + 1}); use a larger fraction or a longer text"
        )
    needed = config.batch * (T + 1)
    if n - n_val < needed:
        part = "the text" if not n_val else "the training part of the text"
        raise ValueError(
            f"{part} has {n - n_val} characters, but training needs at least {needed} "
            f"(batch * (seq_length + 1)); use a longer text or a smaller --seq-length"
        )
    return n - n_val, n_val


def _document_split(n: int, config: TrainConfig) -> tuple[int, int]:
    n_val = int(round(config.val_frac * n))
    if config.val_frac > 0 and n_val < 1:
        raise ValueError(
            f"--val-frac {config.val_frac:g} holds out none of the text's {n} "
            f"documents; use a larger fraction or more documents"
        )
    if n - n_val < config.batch:
        raise ValueError(
            f"{'the training part of ' if n_val else ''}the text has {n - n_val} "
            f"document(s), fewer than --batch {config.batch} (a stream each); use "
            f"more documents or a smaller --batch"
        )
    return n - n_val, n_val


def _resumed_config(
    meta: dict[str, Any], path: str | Path, overrides: dict[str, Any] | None
) -> tuple[TrainConfig, dict[str, list[Any]]]:
    """A checkpoint's settings with the overrides applied, and those that changed
    ({name: [old, new]}). ValueError for an override that may not change on resume."""
    try:
        spec = meta["spec"]
        config = TrainConfig.from_dict(
            {**meta["config"], **{k: spec[k] for k in SPEC_KEYS if k != "K"}}
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{str(path)!r} has unusable settings: {err}") from None
    changed = {}
    for name, value in (overrides or {}).items():
        old = getattr(config, name)
        if old == value:
            continue
        if name not in RESUMABLE:
            raise ValueError(
                f"the checkpoint was trained with {name}={old}, but "
                f"{name}={value} was given; drop the option to resume (only "
                f"{', '.join(RESUMABLE)} may change)"
            )
        changed[name] = [old, value]
    config = dataclasses.replace(config, **{k: v for k, (_, v) in changed.items()})
    return config, changed


def _check_resumed_text(
    text: str, saved_vocab: list[str], meta: dict[str, Any], path: str | Path, documents: bool
) -> None:
    """CheckpointError unless text is the one the checkpoint was trained on."""
    have = set(text + END if documents else text)
    if not text or not have <= set(saved_vocab):
        extra, missing = sorted(have - set(saved_vocab)), sorted(set(saved_vocab) - have)
        raise CheckpointError(
            f"{str(path)!r} was trained on a text with a different vocabulary "
            f"({len(saved_vocab)} characters vs {len(have)} here; only in this text: "
            f"{''.join(extra)!r}; only in the checkpoint's: {''.join(missing)!r}); "
            f"resume with the text it was trained on"
        )
    if text_sha256(text) != meta.get("text_sha256"):
        raise CheckpointError(
            f"{str(path)!r} was trained on a different text (same characters, different "
            f"content); resume with the text it was trained on"
        )


class Trainer:
    """Trains a model of the family (any cell, any depth) on a text with the native loop.

    The loop runs in C++ with the GIL released; this class owns the vocabulary, the split into
    training and validation text (or documents), the callback, the learning-rate schedule,
    divergence, sampling and checkpoints.

    Examples:
        >>> trainer = Trainer(text, TrainConfig(cell="lstm", layers=2, m=128, seed=0))
        >>> trainer.train(10_000, callback=lambda tr, p: print(p.step, p.smooth_loss), every=1000)
        >>> result = trainer.fit(10_000, [MyCallback()], time_limit=60)  # charrnn.Callback
        >>> print(trainer.sample(200))
        >>> trainer.save("last.npz")
        >>> trainer = Trainer.load("last.npz", text)   # continues exactly where it stopped
    """

    def __init__(
        self,
        text: str,
        config: TrainConfig | None = None,
        *,
        text_path: str | None = None,
        vocab: Vocabulary | None = None,
        params: Any = None,
    ):
        """A new run on text.

        Args:
            text: The whole text (with config.documents: one document per line); the last
                config.val_frac of it (of its documents) is held out for validation.
            config: The settings (default: TrainConfig(), the assignment's).
            text_path: The text's file, recorded in checkpoints so that resuming finds it.
            vocab: A vocabulary to use instead of the text's own (a superset of it).
            params: Native float64 Params to start from instead of Params.random (see
                init_from).

        Raises:
            TypeError: text is not a str.
            ValueError: A text (or its training or validation part) too short for
                batch * (seq_length + 1) characters (documents: fewer documents than batch), a
                text with one distinct character, or a character outside vocab.
            MemoryError: The model does not fit in the memory available.
        """
        self.config = config = config or TrainConfig()
        """The run's settings (frozen)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        _split_sizes(len(split_documents(text)) if config.documents else len(text), config)
        # Documents end with the line end, which joins the vocabulary even for a one-line file.
        self.vocab = (
            vocab
            if vocab is not None
            else Vocabulary.from_text(text + END if config.documents else text)
        )
        """The vocabulary: the text's own (with the line end for documents), or the one given."""
        if self.vocab.K < 2:
            raise ValueError(
                f"the text has only one distinct character ({self.vocab.chars[0]!r}): there is "
                f"nothing to predict; give a text with at least two different characters"
            )
        self.text_path = text_path
        """The text's file, recorded in checkpoints so that resuming finds it (or None)."""
        self.history: list[dict[str, Any]] = []  # settings changed on resume: {step, changed}
        """Settings changed on resume: [{'step': int, 'changed': {name: [old, new]}}]."""
        self._set_text(text)
        _check_memory(self.vocab.K, config)
        if params is None:
            params = _core.Params.random(
                self.vocab.K,
                config.m,
                sig=config.sig,
                seed=config.seed,
                cell=config.cell,
                layers=config.layers,
                embedding=config.embedding,
                forget_bias=config.forget_bias,
            )
        self._native = self._make_native(params)

    @classmethod
    def init_from(
        cls,
        path: str | Path,
        text: str,
        config: TrainConfig | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        text_path: str | None = None,
    ) -> Trainer:
        """A new run (step 0, fresh optimiser state) from the weights of a checkpoint, e.g. to
        fine-tune on another text. The model (cell, layers, m) and the vocabulary are the
        checkpoint's; the other settings are config's.

        Raises:
            ValueError: A character of text the checkpoint does not know, or a model setting
                in overrides that is not the checkpoint's.
            CheckpointError: As Model.load.
            FileNotFoundError: No such checkpoint.
        """
        model = Model.load(path)
        spec = model.spec
        for name in ("cell", "layers", "m", "embedding"):
            if name in (overrides or {}) and overrides[name] != spec[name]:
                raise ValueError(
                    f"{str(path)!r} holds a model with {name}={spec[name]}, but "
                    f"{name}={overrides[name]} was given; drop the option"
                )
        config = dataclasses.replace(
            config or TrainConfig(),
            cell=spec["cell"],
            layers=spec["layers"],
            m=spec["m"],
            embedding=spec["embedding"],
        )
        unknown = sorted(set(text + END if config.documents else text) - set(model.vocab.chars))
        if unknown:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in unknown[:5])
            raise ValueError(
                f"the text has {len(unknown)} character(s) that {str(path)!r} was "
                f"not trained on: {shown}{', ...' if len(unknown) > 5 else ''}"
            )
        return cls(text, config, text_path=text_path, vocab=model.vocab, params=model.params)

    def _make_native(self, params64: _core.Params) -> Any:
        c = self.config
        if c.dtype == "float32":
            params = _core.Params32(
                params64.K, params64.m, cell=c.cell, layers=c.layers, embedding=c.embedding
            )
            params.flat = params64.flat  # cast once; the loop then runs in float32
            native_cls = _core.Trainer32
        else:
            params, native_cls = params64, _core.Trainer
        train = self.train_streams
        native = native_cls(
            params,
            train.text,
            seq_length=c.seq_length,
            batch=c.batch,
            eta=c.eta,
            eps=c.eps,
            clip=c.clip,
            optimizer=c.optimizer,
            clip_norm=c.clip_norm,
            decay=c.decay,
            beta1=c.beta1,
            beta2=c.beta2,
            dropout=c.dropout,
            dropout_seed=c.seed,
            targets=train.targets,
            end=train.end,
            threads=self.threads,
            debias_best=c.loss_curve == "debiased",
        )
        if self.val_streams is not None:
            # best follows the validation loss (evaluate_validation), not the smooth loss: the
            # native loop copies params into best only below best_smooth_loss, never below -inf.
            native.best_smooth_loss = -math.inf
        return native

    def _set_text(self, text: str) -> None:
        """The encoded text, split into the part trained on and the held-out tail, and the
        streams the native loops read from each (data.Streams). Documents: the held-out tail is
        the last val_frac of them, and the training documents are dealt to the batch's streams
        in an order shuffled once by the seed (a file of names is often sorted)."""
        c = self.config
        self.text_sha256 = text_sha256(text)
        self.encoded = self.vocab.encode(text)
        self.documents = split_documents(text) if c.documents else None
        if self.documents is None:
            n_train, n_val = _split_sizes(len(text), c)
            self.train_encoded = self.encoded[:n_train]
            self.val_encoded = self.encoded[n_train:] if n_val else None
            self.train_streams = Streams(self.train_encoded, batch=c.batch)
            self.val_streams = Streams(self.val_encoded) if n_val else None
        else:
            n_train, n_val = _document_split(len(self.documents), c)
            encoded = [self.vocab.encode(doc) for doc in self.documents]
            end = self.vocab.index(END)
            order = np.random.default_rng(c.seed).permutation(n_train)
            self.train_encoded = self.val_encoded = None
            self.train_streams = documents_layout(
                [encoded[i] for i in order], end, c.batch, c.seq_length
            )
            self.val_streams = (
                documents_layout(
                    encoded[n_train:], end, min(n_val, EVAL_DOCUMENT_STREAMS), c.seq_length
                )
                if n_val
                else None
            )
        self.n_val = n_val  # characters, or documents
        self.best_val_loss = math.inf  # nats per character, at best_val_step
        self.best_val_step: int | None = None
        self.first_loss: float | None = None  # the loss of update 1 (the divergence rule's base)

    # --- state ----------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """Updates done so far."""
        return int(self._native.step)

    @property
    def steps_per_epoch(self) -> int:
        """Updates per pass over the (training part of the) text."""
        return int(self._native.steps_per_epoch)

    @property
    def threads(self) -> int:
        """Threads the native loop runs on: config.threads, or every available core."""
        return available_cores() if self.config.threads is None else int(self.config.threads)

    @property
    def epoch(self) -> float:
        """Passes over the text done so far, fractional."""
        return self.step / self.steps_per_epoch

    @property
    def smooth_loss(self) -> float:
        """0.999 smooth + 0.001 loss, from the first loss on (nats per sequence); NaN before
        the first update."""
        return float(self._native.smooth_loss)

    @property
    def debiased_loss(self) -> float:
        """The smooth loss with its start-up bias removed (charrnn.losses.debiased): the
        training curve of runs whose config.loss_curve is "debiased"; NaN before the first
        update."""
        if self.first_loss is None:
            return math.nan if math.isnan(self.smooth_loss) else self.smooth_loss
        return debiased(self.smooth_loss, self.step, self.first_loss)

    @property
    def best_smooth_loss(self) -> float:
        """The lowest value so far of the curve best.npz follows (config.loss_curve: the smooth
        loss, or its debiased average); NaN with a validation split (best follows that)."""
        value = float(self._native.best_smooth_loss)
        return math.nan if value == -math.inf else value

    def evaluate_validation(self) -> float:
        """The loss per character (nats) of the current parameters over the held-out text, from
        a zero state (natively, the GIL released). A new lowest value copies the parameters into
        the best ones.

        Raises:
            ValueError: The run has no validation split (val_frac = 0).
        """
        if self.val_streams is None:
            raise ValueError("this run has no validation text (val_frac = 0)")
        loss = evaluate_streams(self._native.params, self.val_streams, self.threads)[
            "nats_per_char"
        ]
        if loss < self.best_val_loss:
            self.best_val_loss, self.best_val_step = loss, self.step
            self._native.best.flat = self._native.params.flat
        return loss

    @property
    def params(self) -> Any:
        """Current parameters: the live native block (charrnn.Params, or Params32 with dtype
        float32), arrays by layout name."""
        return self._native.params

    @property
    def best_params(self) -> Any:
        """The best parameters so far, live (Params or Params32): those with the lowest smooth
        loss, or, with a validation split, those of the best validation pass."""
        return self._native.best

    def model(self, best: bool = False) -> Model:
        """A Model holding a float64 copy of the current (or best) parameters and the
        vocabulary, for sampling, evaluating or exporting."""
        source = self._native.best if best else self._native.params
        params = native_params(source.spec)
        params.flat = source.flat
        return Model(
            params,
            self.vocab,
            start=self.vocab.decode(self.encoded[:1]),
            documents=self.config.documents,
        )

    def learning_rate(self, step: int | None = None) -> float:
        """eta for the update after `step` updates (default: the next one): config.eta times
        lr_decay for each completed epoch past lr_decay_after (char-rnn's schedule)."""
        c = self.config
        epochs = (self.step if step is None else step) // self.steps_per_epoch
        return c.eta * c.lr_decay ** max(0, epochs - c.lr_decay_after)

    def steps_until_rate_change(self) -> int:
        """Updates until the learning rate may next change (an epoch boundary)."""
        if self.config.lr_decay == 1.0:
            return 2**62
        return self.steps_per_epoch - self.step % self.steps_per_epoch

    # --- training -------------------------------------------------------------------------
    def train(
        self,
        steps: int,
        callback: Callable[[Trainer, Progress], None] | None = None,
        every: int = 1000,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run `steps` more updates; call callback(self, progress) after every `every` updates
        (and after the last).

        Returns:
            (losses, smooth_losses): float64 arrays of shape (steps,), the loss of each update
            (nats, summed over seq_length, averaged over the batch) and the smooth loss after
            it.

        Raises:
            ValueError: steps < 0 or every < 1, or not whole numbers.
            TrainingDiverged: A NaN or infinite loss (that update not applied), or a smooth
                loss above diverge_factor times the first loss; its `progress` holds the
                chunk's losses.
            KeyboardInterrupt: Ctrl-C, between updates, with the state consistent (the losses
                of the interrupted chunk are in the exception's `progress` attribute).
        """
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every <= 0:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        losses = np.empty(steps)
        smooth = np.empty(steps)
        done = 0
        while done < steps:
            chunk = min(every, steps - done, self.steps_until_rate_change())
            start = self.step
            if self.config.lr_decay != 1.0:
                self._native.eta = self.learning_rate()
            try:
                ran = self._native.run(losses[done : done + chunk], smooth[done : done + chunk])
            except KeyboardInterrupt as interrupt:
                ran = self.step - start
                interrupt.progress = self._progress(
                    losses[done : done + ran], smooth[done : done + ran]
                )  # type: ignore[attr-defined]
                raise
            progress = self._progress(losses[done : done + ran], smooth[done : done + ran])
            if self.first_loss is None and ran and start == 0:
                self.first_loss = float(losses[done])
            done += ran
            limit = (
                None if self.first_loss is None else self.config.diverge_factor * self.first_loss
            )
            if limit is not None and ran and np.any(progress.smooth_losses > limit):
                at = start + 1 + int(np.argmax(progress.smooth_losses > limit))
                raise TrainingDiverged(
                    f"the smooth loss passed {self.config.diverge_factor:g} times the first loss "
                    f"({format_loss(limit, 1)}) at update {at} "
                    f"(epoch {at / self.steps_per_epoch:.2f}). Try a "
                    f"smaller eta (now {self.config.eta})",
                    progress,
                )
            if self._native.diverged:
                raise TrainingDiverged(
                    f"the loss became NaN or infinite at update {self.step + 1} "
                    f"(epoch {self.epoch:.2f}); that update was not applied. Try a smaller "
                    f"eta (now {self.config.eta}) or a smaller sig (now {self.config.sig})",
                    progress,
                )
            if callback is not None:
                callback(self, progress)
        return losses, smooth

    def fit(
        self,
        steps: int,
        callbacks: Sequence[Callback] = (),
        *,
        out: str | Path | None = None,
        eval_every: int | None = None,
        checkpoint_every: int | None = None,
        sample_every: int = 10_000,
        time_limit: float | None = None,
        progress_bar: bool = False,
    ) -> RunResult:
        """Run `steps` more updates through the loop of `charrnn train`, calling each callback's
        on_* methods (charrnn.Callback): validation passes when the run has a validation split,
        a time limit, Ctrl-C between chunks, and, with `out`, the run's files there.

        Args:
            steps: Updates to run (fewer if the time limit or a callback stops the run).
            callbacks: Callback objects, called in order after the loop's own stop checks.
            out: A folder for the files `charrnn train` writes (metrics.csv, samples.txt,
                best.npz, last.npz, loss.png, passage.txt, report.md); None: no files. A
                trainer past step 0 continues the files there, as `--resume` does.
            eval_every: Updates between validation passes (default sample_every); one also
                follows the last update.
            checkpoint_every: Updates between checkpoints, with out (default sample_every).
            sample_every: Updates between the samples of samples.txt, with out.
            time_limit: Seconds of wall time, then the run stops as at its end.
            progress_bar: Show a progress bar on stderr.

        Returns:
            The run's RunResult (charrnn.experiment): step reached, losses, why it stopped.

        Raises:
            ValueError: steps < 0, an interval < 1 or a time limit <= 0.
            TrainingDiverged: As train().
            KeyboardInterrupt: Ctrl-C (charrnn.experiment.RunInterrupted, whose `result`
                says where the run stopped); the files, if any, are written first.
        """
        from charrnn.callbacks import Run
        from charrnn.experiment import RunSettings, check_settings, fit

        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        settings = RunSettings(
            steps=self.step + steps,
            sample_every=sample_every,
            eval_every=eval_every,
            checkpoint_every=checkpoint_every,
            time_limit=time_limit,
            gradcheck=False,
            quiet=not progress_bar,
        )
        check_settings(settings)
        if out is not None:
            out = Path(out)
            out.mkdir(parents=True, exist_ok=True)
        resume_step = self.step if out is not None and self.step > 0 else None
        return fit(Run(self, self.step + steps, out, settings), callbacks, resume_step)

    def _progress(self, losses: np.ndarray, smooth: np.ndarray) -> Progress:
        return Progress(self.step, self.epoch, losses, smooth, self.config.seq_length)

    # --- sampling -------------------------------------------------------------------------
    def sample(
        self,
        n: int = 200,
        *,
        best: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> str:
        """n characters from the current state, as the assignment samples during training: from
        the hidden state carried into the next update and the next input character (documents:
        new documents, one per line, until there are n characters). The seed defaults to one
        derived from the run's seed and the step, so it is reproducible.

        Args:
            n: Characters.
            best: Sample from the best parameters instead of the current ones.
            temperature: A number > 0: below 1 sharper, above 1 flatter.
            top_p: The nucleus, in (0, 1].
            seed: Seed of the draws (default: sampling_seed(config.seed, step)).

        Raises:
            ValueError: As Model.sample.
        """
        seed = sampling_seed(self.config.seed, self.step) if seed is None else seed
        if self.config.documents:  # documents from a zero state, one per line, n characters
            return self.model(best=best).sample_text(
                n, temperature=temperature, top_p=top_p, seed=seed
            )
        train = self.train_encoded
        x0 = train[self._native.position if self._native.position < len(train) else 0]
        # The first stream's state, (L, m).
        h0 = np.asarray(self._native.h_prev[:, 0], dtype=np.float64)
        c_prev = self._native.c_prev
        c0 = None if c_prev is None else np.asarray(c_prev[:, 0], dtype=np.float64)
        model = self.model(best=best)
        return model.sample(
            n,
            prime_indices=np.array([x0]),
            h0=h0,
            c0=c0,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            include_prime=False,
        )

    # --- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path, kind: str = "last") -> None:
        """Write a checkpoint atomically (temporary file, fsync, rename).

        Args:
            path: The .npz file to write (its folder is created).
            kind: "last": the whole state, to resume exactly; "best": the best parameters
                only, for sampling, evaluating and exporting.

        Raises:
            ValueError: An unknown kind.
            OSError: The file cannot be written (the previous file, if any, is left intact).
        """
        if kind not in ("last", "best"):
            raise ValueError(f"kind must be 'last' or 'best', got {kind!r}")
        native = self._native
        source = native.best if kind == "best" else native.params
        arrays = checkpoint.params_arrays(source)
        arrays["vocab"] = checkpoint.vocabulary_array(self.vocab.chars)
        if kind == "last":
            for state in native.state_names:  # AdaGrad's and RMSprop's memory, Adam's m and v
                arrays.update(checkpoint.params_arrays(native.state(state), f"{state}_"))
            arrays.update(checkpoint.params_arrays(native.best, "best_"))
            arrays["h_prev"] = np.array(native.h_prev)
            if native.c_prev is not None:
                arrays["c_prev"] = np.array(native.c_prev)
        config = self.config.to_dict()
        meta = {
            "kind": kind,
            "spec": self.config.spec(self.vocab.K),
            "config": {k: v for k, v in config.items() if k not in SPEC_KEYS},
            "step": self.step,
            "position": int(native.position),
            "epoch": int(native.epoch),
            "smooth_loss": float(native.smooth_loss),
            "best_smooth_loss": float(native.best_smooth_loss),
            "best_val_loss": self.best_val_loss if self.best_val_step is not None else None,
            "best_val_step": self.best_val_step,
            "first_loss": self.first_loss,
            "history": self.history,
            "best_step": int(native.best_step),
            "text_sha256": self.text_sha256,
            "text_length": len(self.encoded),
            "text_path": self.text_path,
            "start": self.vocab.decode(self.encoded[:1]),
        }
        checkpoint.save(path, arrays, meta)

    @classmethod
    def load(
        cls,
        path: str | Path,
        text: str | None = None,
        *,
        text_path: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> Trainer:
        """Resume from a kind="last" checkpoint on the same text: continues bit for bit.
        Without text, the text is read from text_path, else from the file the checkpoint names
        (the embedded corpus if it names none). `overrides` are settings given anew: those in
        RESUMABLE take effect from here on (and are recorded in `history`); any other must
        equal the checkpoint's (the model and the text cannot change).

        Raises:
            FileNotFoundError: No such checkpoint (or text file).
            CheckpointError: Not a usable kind="last" checkpoint, or a text of another
                vocabulary or content than the one it was trained on.
            ValueError: An override of a setting that cannot change on resume.
        """
        arrays, meta = checkpoint.load(path)
        if meta.get("kind") != "last":
            raise CheckpointError(
                f"{str(path)!r} holds only the best parameters (kind={meta.get('kind')!r}); "
                f"resume from the last.npz written beside it"
            )
        config, changed = _resumed_config(meta, path, overrides)
        spec = meta["spec"]
        if text_path is None:
            text_path = meta.get("text_path")
        if text is None:
            text = read_text(
                text_path if text_path is not None else default_corpus_path(), config.newline
            )
        try:
            saved_vocab = checkpoint.vocabulary_chars(
                checkpoint.require_array(arrays, "vocab", path)
            )
        except CheckpointError as err:
            raise CheckpointError(f"{str(path)!r}: {err}") from None
        self = cls.__new__(cls)
        self.config = config
        self.history = list(meta.get("history", []))
        if changed:
            self.history.append({"step": int(meta.get("step", 0)), "changed": changed})
        # The checkpoint's vocabulary: the text's own, or, for a run started --init-from another
        # checkpoint, that one's (a superset).
        self.vocab = Vocabulary(saved_vocab)
        _check_resumed_text(text, saved_vocab, meta, path, config.documents)
        self.text_path = text_path
        self._set_text(text)
        if spec["K"] != self.vocab.K:
            raise CheckpointError(
                f"{str(path)!r}: the spec says K={spec['K']} but the vocabulary "
                f"has {self.vocab.K} characters"
            )
        self._restore_state(arrays, meta, path)
        return self

    def _restore_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], path: str | Path
    ) -> None:
        """The native trainer of a kind="last" checkpoint: parameters, the optimiser's state,
        the best parameters, the hidden state and the counters."""
        config, spec = self.config, meta["spec"]
        checkpoint.checked_layout(arrays, meta, path, prefixes=("", "best_"))
        params64 = native_params(spec)
        # float32 parameters pass through float64 exactly, so this is exact in either dtype.
        checkpoint.fill_params(params64, arrays, "", path)
        self._native = self._make_native(params64)
        states = self._native.state_names
        checkpoint.checked_layout(arrays, meta, path, prefixes=tuple(f"{s}_" for s in states))
        for state in states:
            checkpoint.fill_params(self._native.state(state), arrays, f"{state}_", path)
            if state in ("memory", "v") and np.any(self._native.state(state).flat < 0):
                raise CheckpointError(
                    f"{str(path)!r} has negative {config.optimizer} {state} (squares): the "
                    f"checkpoint is corrupt"
                )
        checkpoint.fill_params(self._native.best, arrays, "best_", path)
        try:
            self._native.h_prev = checkpoint.require_array(arrays, "h_prev", path)
            if self._native.c_prev is not None:
                self._native.c_prev = checkpoint.require_array(arrays, "c_prev", path)
            self._native.step = int(meta["step"])
            self._native.position = int(meta["position"])
            self._native.epoch = int(meta["epoch"])
            self._native.smooth_loss = float(meta["smooth_loss"])
            self._native.best_smooth_loss = float(meta["best_smooth_loss"])
            if meta.get("best_val_step") is not None:
                self.best_val_loss = float(meta["best_val_loss"])
                self.best_val_step = int(meta["best_val_step"])
            self.first_loss = None if meta.get("first_loss") is None else float(meta["first_loss"])
            if self.first_loss is not None:
                self._native.first_loss = self.first_loss
            self._native.best_step = int(meta["best_step"])
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise CheckpointError(f"{str(path)!r} has an unusable training state: {err}") from None
