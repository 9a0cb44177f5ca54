"""Checkpoints: one .npz file (read with allow_pickle=False) holding everything needed to resume
training exactly or to sample: the model's spec, every parameter array under its layout name,
optimiser memory, best parameters, recurrent state, counters, settings and the vocabulary.
Written atomically (temporary file, fsync, rename), so a crash leaves either the old file or the
new one, never a broken one.

Format 2 (this one): meta["spec"] = {cell, layers, m, K, dtype, embedding} says what the arrays
are (a file without embedding has none: 0); the arrays are named as the layout names them (E W1 U1
b1 ... V c; W U V b c for the one-layer vanilla RNN), with prefixes for the optimiser's state
(memory_ for AdaGrad and RMSprop, m_ and v_ for Adam) and best_ for the best parameters, h_prev
and (lstm) c_prev shaped (L, B, m). Format 1 (charrnn 0.1) held only the vanilla RNN; load()
reads it as format 2 (spec from its settings, h_prev given its layer axis).

The whole format is here: save_trainer writes a Trainer's file and Trainer.load reads it
through config_of, read_vocabulary, read_params and restore_trainer; Model.load reads the
parameters alone. Not here: deciding when to write (the run loop, experiment.py) or what the
numbers mean (the native core).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from charrnn.spec import ModelSpec

if TYPE_CHECKING:
    from charrnn.config import TrainConfig
    from charrnn.data import Vocabulary
    from charrnn.train import Trainer

FORMAT = "charrnn-checkpoint"


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
SPEC_KEYS = ("cell", "layers", "m", "K", "dtype", "embedding")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, of another format, or not for this text."""


def save(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write arrays and a JSON-able meta dict to path atomically, as a checkpoint."""
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    payload["format"] = np.array(FORMAT)
    payload["format_version"] = np.array(FORMAT_VERSION)
    payload["meta_json"] = np.array(json.dumps(meta, sort_keys=True))
    save_npz(path, payload)


def save_npz(path: str | Path, payload: dict[str, np.ndarray]) -> None:
    """np.savez to path atomically: a temporary file beside it, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)  # type: ignore[arg-type]  # numpy stub: allow_pickle
            f.flush()
            # mkstemp makes the file 0600; a checkpoint gets what the umask gives new files.
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: the old checkpoint stays, the partial file goes.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def load(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by save(): (arrays, meta). Raises FileNotFoundError or
    CheckpointError (a ValueError) with a message saying what is wrong."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a directory; give a .npz checkpoint file "
            f"(e.g. {str(path / 'last.npz')!r})"
        )
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {str(path)!r}")
    try:
        # Our own file object: np.load(path) leaks its file when the zip turns out corrupt.
        with open(path, "rb") as f:
            npz = np.load(f, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):  # a bare .npy array has no `with`
                raise CheckpointError(
                    f"{str(path)!r} is a single .npy array, not a charrnn .npz checkpoint"
                )
            with npz:
                arrays = {name: npz[name] for name in npz.files}
    except CheckpointError:
        raise
    except ValueError as err:
        # numpy takes any file that is neither .npz nor .npy for a pickle: say which it is.
        pickled = "pickled" in str(err)
        if "Object arrays" in str(err) or (pickled and _first_byte(path) == b"\x80"):
            raise CheckpointError(
                f"{str(path)!r} holds pickled Python objects; charrnn checkpoints never do, "
                f"and loading pickles can run arbitrary code, so it is refused"
            ) from None
        if pickled:
            raise CheckpointError(
                f"{str(path)!r} is not a charrnn checkpoint (not an .npz archive)"
            ) from None
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint: {err}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, MemoryError) as err:
        raise CheckpointError(
            f"{str(path)!r} is not a readable checkpoint (truncated or corrupt?): {err}"
        ) from None
    fmt = arrays.pop("format", None)
    version = arrays.pop("format_version", None)
    meta_json = arrays.pop("meta_json", None)
    if fmt is None or fmt.shape != () or str(fmt) != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a charrnn checkpoint (no format marker)")
    if (
        version is None
        or version.shape != ()
        or version.dtype.kind not in "iu"
        or int(version) not in READABLE_VERSIONS
    ):
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format version {version}, but this charrnn reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}; use the charrnn version that "
            f"wrote it"
        )
    try:
        meta = json.loads(str(meta_json))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{str(path)!r} has unreadable metadata: {err}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{str(path)!r} has unreadable metadata: not a JSON object")
    if int(version) == 1:
        _upgrade_v1(arrays, meta, path)
    _check_spec(meta, path)
    return arrays, meta


def _upgrade_v1(arrays: dict[str, np.ndarray], meta: dict[str, Any], path: Path) -> None:
    """A format-1 file in format 2's terms: a one-layer vanilla RNN whose spec comes from its
    settings and vocabulary, its (B, m) hidden state given the layer axis."""
    config = meta.get("config")
    vocab = arrays.get("vocab")
    if not isinstance(config, dict) or vocab is None:
        raise CheckpointError(f"{str(path)!r} (format 1) lacks its settings or vocabulary")
    meta["spec"] = {
        "cell": "rnn",
        "layers": 1,
        "m": config.get("m"),
        "K": int(np.asarray(vocab).size),
        "dtype": config.get("dtype", "float64"),
    }
    meta["config"] = {k: v for k, v in config.items() if k not in SPEC_KEYS}
    h_prev = arrays.get("h_prev")
    if h_prev is not None and h_prev.ndim == 2:
        arrays["h_prev"] = h_prev[None]


def _check_spec(meta: dict[str, Any], path: Path) -> None:
    spec = meta.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("embedding", 0)  # written before the embedding existed
    if not isinstance(spec, dict) or set(spec) != set(SPEC_KEYS):
        raise CheckpointError(f"{str(path)!r} lacks the model's spec ({', '.join(SPEC_KEYS)})")
    try:
        ModelSpec.from_dict(spec)
    except ValueError as err:
        raise CheckpointError(f"{str(path)!r} has an unusable model spec: {err}") from None
    if spec["dtype"] not in ("float64", "float32"):
        raise CheckpointError(f"{str(path)!r} has an unusable model spec: {spec}")


def spec_of(meta: dict[str, Any]) -> ModelSpec:
    """The model a loaded checkpoint's meta describes (load() has checked it)."""
    return ModelSpec.from_dict(meta["spec"])


def params_arrays(params: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Every array of native params under its layout name (with a prefix), copied."""
    return {prefix + name: np.array(params[name]) for name in params.names}


def _first_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(1)


def vocabulary_array(chars: list[str]) -> np.ndarray:
    """Characters as int32 code points (numpy strings would drop a trailing NUL character)."""
    return np.array([ord(ch) for ch in chars], dtype=np.int32)


def vocabulary_chars(codes: np.ndarray) -> list[str]:
    codes = np.asarray(codes)
    if (
        codes.ndim != 1
        or codes.dtype.kind not in "iu"
        or (codes.size and not (0 <= codes.min() and codes.max() <= 0x10FFFF))
    ):
        raise CheckpointError(
            f"the vocabulary must be a 1-D array of Unicode code points, got "
            f"dtype {codes.dtype} and shape {codes.shape}"
        )
    return [chr(int(code)) for code in codes]


def require_array(arrays: dict[str, np.ndarray], key: str, path: str | Path) -> np.ndarray:
    """arrays[key], or CheckpointError naming the missing array."""
    if key not in arrays:
        raise CheckpointError(f"{str(path)!r} lacks the array {key!r}: not a complete checkpoint")
    return arrays[key]


def checked_layout(
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    path: str | Path,
    prefixes: tuple[str, ...] = ("",),
) -> list[dict[str, Any]]:
    """The layout of the model the file's spec names, once every array prefix + name is there
    with the layout's shape: checked before anything of the model's size is allocated, so a
    damaged spec is a CheckpointError, not an attempt at terabytes."""
    spec = spec_of(meta)
    try:
        layout = spec.layout()
    except ValueError as err:
        raise CheckpointError(f"{str(path)!r} has an unusable model spec: {err}") from None
    for prefix in prefixes:
        for entry in layout:
            name = prefix + entry["name"]
            shape = require_array(arrays, name, path).shape
            if shape != entry["shape"]:
                raise CheckpointError(
                    f"{str(path)!r}: {name} has shape {shape}, but the checkpoint's spec "
                    f"({spec.cell}, {spec.layers} layer(s), m={spec.m}, K={spec.K}) "
                    f"makes it {entry['shape']}: the spec and the arrays disagree"
                )
    return layout


def fill_params(params: Any, arrays: dict[str, np.ndarray], prefix: str, path: str | Path) -> None:
    """Copy the saved arrays prefix + name, for every name of native params' layout, into params
    (shapes as checked_layout checked them; the binding refuses NaN and infinity)."""
    for name in params.names:
        try:
            params[name] = require_array(arrays, prefix + name, path)
        except ValueError as err:
            raise CheckpointError(f"{str(path)!r}: {prefix + name}: {err}") from None


def text_sha256(text: str) -> str:
    """The hash a checkpoint keeps of the text it was trained on."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_resumed_text(
    text: str, saved_vocab: list[str], meta: dict[str, Any], path: str | Path, documents: bool
) -> None:
    """CheckpointError unless text is the one the checkpoint was trained on (its vocabulary and
    its hash, text_sha256)."""
    from charrnn.data import END

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


# --- a Trainer's file ----------------------------------------------------------------------
# Everything below is the one description of what a run's checkpoint holds: save_trainer writes
# it, and Trainer.load reads it back through config_of, read_vocabulary, read_params and
# restore_trainer.


def save_trainer(path: str | Path, trainer: Trainer, kind: str = "last") -> None:
    """Write a Trainer's checkpoint atomically: kind "last", the whole state (parameters, the
    optimiser's state, the best parameters, the recurrent state, counters, settings); kind
    "best", the best parameters with the settings, for sampling, evaluating and exporting."""
    if kind not in ("last", "best"):
        raise ValueError(f"kind must be 'last' or 'best', got {kind!r}")
    native = trainer.native
    source = native.best if kind == "best" else native.params
    arrays = params_arrays(source)
    arrays["vocab"] = vocabulary_array(trainer.vocab.chars)
    if kind == "last":
        for state in native.state_names:  # AdaGrad's and RMSprop's memory, Adam's m and v
            arrays.update(params_arrays(native.state(state), f"{state}_"))
        arrays.update(params_arrays(native.best, "best_"))
        arrays["h_prev"] = np.array(native.h_prev)
        if native.c_prev is not None:
            arrays["c_prev"] = np.array(native.c_prev)
    config = trainer.config.to_dict()
    meta = {
        "kind": kind,
        "spec": {**trainer.config.spec(trainer.vocab.K).to_dict(), "dtype": trainer.config.dtype},
        "config": {k: v for k, v in config.items() if k not in SPEC_KEYS},
        "step": trainer.step,
        "position": int(native.position),
        "epoch": int(native.epoch),
        "smooth_loss": float(native.smooth_loss),
        "best_smooth_loss": float(native.best_smooth_loss),
        "best_val_loss": trainer.best_val_loss if trainer.best_val_step is not None else None,
        "best_val_step": trainer.best_val_step,
        "first_loss": trainer.first_loss,
        "history": trainer.history,
        "best_step": int(native.best_step),
        "text_sha256": trainer.text_sha256,
        "text_length": len(trainer.encoded),
        "text_path": trainer.text_path,
        "start": trainer.vocab.decode(trainer.encoded[:1]),
    }
    save(path, arrays, meta)


def config_of(meta: dict[str, Any], path: str | Path) -> TrainConfig:
    """The settings a loaded checkpoint was trained with (its spec's model, its config's rest)."""
    from charrnn.config import TrainConfig

    try:
        spec = meta["spec"]
        return TrainConfig.from_dict(
            {**meta["config"], **{k: spec[k] for k in SPEC_KEYS if k != "K"}}
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{str(path)!r} has unusable settings: {err}") from None


def read_vocabulary(
    arrays: dict[str, np.ndarray], meta: dict[str, Any], path: str | Path
) -> Vocabulary:
    """The checkpoint's Vocabulary, checked against its spec's K."""
    from charrnn.data import Vocabulary

    try:
        vocab = Vocabulary(vocabulary_chars(require_array(arrays, "vocab", path)))
    except ValueError as err:
        raise CheckpointError(f"{str(path)!r} has a broken vocabulary: {err}") from None
    K = spec_of(meta).K
    if K != vocab.K:
        raise CheckpointError(
            f"{str(path)!r}: the spec says K={K} but the vocabulary has {vocab.K} characters"
        )
    return vocab


def read_params(
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    path: str | Path,
    prefixes: tuple[str, ...] = ("",),
) -> Any:
    """The saved parameters (no prefix) as native float64 Params, once the arrays of every
    prefix are checked against the spec's layout (float32 files pass through float64
    exactly)."""
    checked_layout(arrays, meta, path, prefixes)
    params = spec_of(meta).params()
    fill_params(params, arrays, "", path)
    return params


def restore_trainer(
    trainer: Trainer, arrays: dict[str, np.ndarray], meta: dict[str, Any], path: str | Path
) -> None:
    """Put a kind="last" checkpoint's state into a Trainer made with its parameters: the
    optimiser's state, the best parameters, the recurrent state and the counters."""
    native = trainer.native
    states = native.state_names
    checked_layout(arrays, meta, path, prefixes=tuple(f"{s}_" for s in states))
    for state in states:
        fill_params(native.state(state), arrays, f"{state}_", path)
        if state in ("memory", "v") and np.any(native.state(state).flat < 0):
            raise CheckpointError(
                f"{str(path)!r} has negative {trainer.config.optimizer} {state} (squares): the "
                f"checkpoint is corrupt"
            )
    fill_params(native.best, arrays, "best_", path)
    try:
        native.h_prev = require_array(arrays, "h_prev", path)
        if native.c_prev is not None:
            native.c_prev = require_array(arrays, "c_prev", path)
        native.step = int(meta["step"])
        native.position = int(meta["position"])
        native.epoch = int(meta["epoch"])
        native.smooth_loss = float(meta["smooth_loss"])
        native.best_smooth_loss = float(meta["best_smooth_loss"])
        if meta.get("best_val_step") is not None:
            trainer.best_val_loss = float(meta["best_val_loss"])
            trainer.best_val_step = int(meta["best_val_step"])
        trainer.first_loss = None if meta.get("first_loss") is None else float(meta["first_loss"])
        if trainer.first_loss is not None:
            native.first_loss = trainer.first_loss
        native.best_step = int(meta["best_step"])
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise CheckpointError(f"{str(path)!r} has an unusable training state: {err}") from None
