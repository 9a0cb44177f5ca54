"""Checkpoints: one .npz file (read with allow_pickle=False) holding everything needed to resume
training exactly or to sample: parameters, AdaGrad memory, best parameters, hidden state,
counters, settings and the vocabulary. Written atomically (temporary file, fsync, rename), so a
crash leaves either the old file or the new one, never a broken one.

Not here: deciding when to write (train.py) or what the numbers mean (the native core).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "charrnn-checkpoint"
FORMAT_VERSION = 1
NAMES = ("W", "U", "V", "b", "c")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, of another format, or not for this text."""


def save(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write arrays and a JSON-able meta dict to path atomically."""
    path = Path(path)
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    payload["format"] = np.array(FORMAT)
    payload["format_version"] = np.array(FORMAT_VERSION)
    payload["meta_json"] = np.array(json.dumps(meta, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
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
        raise IsADirectoryError(f"{str(path)!r} is a directory; give a .npz checkpoint file "
                                f"(e.g. {str(path / 'last.npz')!r})")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {str(path)!r}")
    try:
        # Our own file object: np.load(path) leaks its file when the zip turns out corrupt.
        with open(path, "rb") as f:
            npz = np.load(f, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):  # a bare .npy array has no `with`
                raise CheckpointError(f"{str(path)!r} is a single .npy array, not a charrnn "
                                      f".npz checkpoint")
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
            raise CheckpointError(f"{str(path)!r} is not a charrnn checkpoint (not an .npz "
                                  f"archive)") from None
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
    if (version is None or version.shape != () or version.dtype.kind not in "iu"
            or int(version) != FORMAT_VERSION):
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format version {version}, but this charrnn reads "
            f"version {FORMAT_VERSION}; use the charrnn version that wrote it"
        )
    try:
        meta = json.loads(str(meta_json))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{str(path)!r} has unreadable metadata: {err}") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{str(path)!r} has unreadable metadata: not a JSON object")
    return arrays, meta


def _first_byte(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(1)


def vocabulary_array(chars: list[str]) -> np.ndarray:
    """Characters as int32 code points (numpy strings would drop a trailing NUL character)."""
    return np.array([ord(ch) for ch in chars], dtype=np.int32)


def vocabulary_chars(codes: np.ndarray) -> list[str]:
    codes = np.asarray(codes)
    if (codes.ndim != 1 or codes.dtype.kind not in "iu"
            or (codes.size and not (0 <= codes.min() and codes.max() <= 0x10FFFF))):
        raise CheckpointError(f"the vocabulary must be a 1-D array of Unicode code points, got "
                              f"dtype {codes.dtype} and shape {codes.shape}")
    return [chr(int(code)) for code in codes]


def require_array(arrays: dict[str, np.ndarray], key: str, path: str | Path) -> np.ndarray:
    """arrays[key], or CheckpointError naming the missing array."""
    if key not in arrays:
        raise CheckpointError(f"{str(path)!r} lacks the array {key!r}: not a complete checkpoint")
    return arrays[key]


def fill_params(params: Any, arrays: dict[str, np.ndarray], prefix: str, path: str | Path) -> None:
    """Copy saved prefix+W..c into native params; the binding checks shapes and finiteness."""
    for name in NAMES:
        array = require_array(arrays, prefix + name, path)
        try:
            setattr(params, name, array)
        except ValueError as err:
            raise CheckpointError(f"{str(path)!r}: {prefix + name}: {err}") from None
