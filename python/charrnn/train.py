"""Training from Python: the settings (TrainConfig), and Trainer, a thin wrapper around the native
loop that owns the vocabulary, runs steps in chunks with a callback (train) or through the run
loop of `charrnn train` with Callback objects (fit), samples, and saves/loads checkpoints. The
loop itself (forward, BPTT, clip, AdaGrad, epoch wrap, smooth loss, best parameters)
runs in C++ with the GIL released: see cpp/train/trainer.cpp.

Not here: files of a training run (metrics.csv, samples, plots: see experiment.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from charrnn import _core, checkpoint
from charrnn.callbacks import Progress
from charrnn.checkpoint import CheckpointError
from charrnn.config import OPTIMIZERS, RECIPES, RESUMABLE, TrainConfig
from charrnn.data import (
    END,
    Vocabulary,
    default_corpus_path,
    read_text,
    split_documents,
    split_sizes,
    split_text,
)
from charrnn.losses import debiased, format_loss
from charrnn.machine import available_cores, check_memory
from charrnn.model import Model, evaluate_streams, sampling_seed
from charrnn.spec import CELLS, Evaluation, ModelSpec

if TYPE_CHECKING:
    from charrnn._core import Params, Params32
    from charrnn.callbacks import Callback
    from charrnn.experiment import RunResult

# TrainConfig and its companions live in charrnn.config; these names stay importable from here.
__all__ = [
    "CELLS",
    "OPTIMIZERS",
    "RECIPES",
    "RESUMABLE",
    "Progress",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite (that step's update was not applied), or the smooth loss
    passed diverge_factor times the first loss. `progress` holds the losses of the chunk."""

    def __init__(self, message: str, progress: Progress | None = None):
        super().__init__(message)
        self.progress = progress
        """The losses of the chunk of updates in which training stopped, or None."""


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
        params: Params | None = None,
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
        split_sizes(len(split_documents(text)) if config.documents else len(text), config)
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
        check_memory(self.vocab.K, config)
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
        overrides = overrides or {}
        for name in ("cell", "layers", "m", "embedding"):
            if name in overrides and overrides[name] != getattr(spec, name):
                raise ValueError(
                    f"{str(path)!r} holds a model with {name}={getattr(spec, name)}, but "
                    f"{name}={overrides[name]} was given; drop the option"
                )
        config = dataclasses.replace(
            config or TrainConfig(),
            cell=spec.cell,
            layers=spec.layers,
            m=spec.m,
            embedding=spec.embedding,
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
        params: Any
        native_cls: Any
        if c.dtype == "float32":
            params = c.spec(params64.K).params("float32")
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
        """The text encoded and split (data.split_text, whose fields these are)."""
        self.text_sha256 = checkpoint.text_sha256(text)
        s = split_text(text, self.vocab, self.config)
        self.encoded, self.documents, self.n_val = s.encoded, s.documents, s.n_val
        self.train_encoded, self.val_encoded = s.train_encoded, s.val_encoded
        self.train_streams, self.val_streams = s.train_streams, s.val_streams
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
        return float(debiased(self.smooth_loss, self.step, self.first_loss))

    @property
    def best_smooth_loss(self) -> float:
        """The lowest value so far of the curve best.npz follows (config.loss_curve: the smooth
        loss, or its debiased average); NaN with a validation split (best follows that)."""
        value = float(self._native.best_smooth_loss)
        return math.nan if value == -math.inf else value

    def evaluate_validation(self) -> Evaluation:
        """The current parameters over the held-out text, from a zero state (natively, the GIL
        released): nats and bits per character. A new lowest loss copies the parameters into
        the best ones.

        Raises:
            ValueError: The run has no validation split (val_frac = 0).
        """
        if self.val_streams is None:
            raise ValueError("this run has no validation text (val_frac = 0)")
        result = evaluate_streams(self._native.params, self.val_streams, self.threads)
        if result.nats < self.best_val_loss:
            self.best_val_loss, self.best_val_step = result.nats, self.step
            self._native.best.flat = self._native.params.flat
        return result

    @property
    def native(self) -> _core.Trainer | _core.Trainer32:
        """The native trainer (charrnn._core.Trainer, or Trainer32 with dtype float32): the
        loop's state, read and written by charrnn.checkpoint."""
        return self._native

    @property
    def params(self) -> Params | Params32:
        """Current parameters: the live native block (charrnn.Params, or Params32 with dtype
        float32), arrays by layout name."""
        return self._native.params

    @property
    def best_params(self) -> Params | Params32:
        """The best parameters so far, live (Params or Params32): those with the lowest smooth
        loss, or, with a validation split, those of the best validation pass."""
        return self._native.best

    def model(self, best: bool = False) -> Model:
        """A Model holding a float64 copy of the current (or best) parameters and the
        vocabulary, for sampling, evaluating or exporting."""
        source = self._native.best if best else self._native.params
        params = ModelSpec.from_dict(source.spec).params()
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
                progress = self._progress(losses[done : done + ran], smooth[done : done + ran])
                interrupt.progress = progress  # type: ignore[attr-defined]
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
        assert train is not None  # documents returned above
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
        """Write a checkpoint atomically (temporary file, fsync, rename); its format is
        charrnn.checkpoint's.

        Args:
            path: The .npz file to write (its folder is created).
            kind: "last": the whole state, to resume exactly; "best": the best parameters
                only, for sampling, evaluating and exporting.

        Raises:
            ValueError: An unknown kind.
            OSError: The file cannot be written (the previous file, if any, is left intact).
        """
        checkpoint.save_trainer(path, self, kind)

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
        config, changed = checkpoint.config_of(meta, path).resumed(overrides)
        if text_path is None:
            text_path = meta.get("text_path")
        if text is None:
            text = read_text(
                text_path if text_path is not None else default_corpus_path(), config.newline
            )
        # The checkpoint's vocabulary: the text's own, or, for a run started --init-from another
        # checkpoint, that one's (a superset).
        vocab = checkpoint.read_vocabulary(arrays, meta, path)
        checkpoint.check_resumed_text(text, vocab.chars, meta, path, config.documents)
        params = checkpoint.read_params(arrays, meta, path, prefixes=("", "best_"))
        self = cls(text, config, text_path=text_path, vocab=vocab, params=params)
        self.history = list(meta.get("history", []))
        if changed:
            self.history.append({"step": int(meta.get("step", 0)), "changed": changed})
        checkpoint.restore_trainer(self, arrays, meta, path)
        return self
