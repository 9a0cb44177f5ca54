"""Check your own implementation of the model: the gradients of a forward and backward pass you
wrote, in numpy (check_gradients calls your function) or in any language (write_case writes the
weights, inputs and initial state to a file; check_case reads your gradients back), against
charrnn's native core and against finite differences of your own loss, in the table `charrnn
gradcheck` prints.

Not here: the case, the comparison maths, the finite differences and the table (gradcheck.py);
the model (cpp/, reference/). scipy is imported only to read or write a .mat file.
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from .gradcheck import (
    FD_ORDER,
    FD_STEP,
    compare,
    fresh_case,
    native_params,
    numerical_gradients,
)
from .gradtable import format_table, metric_passes
from .reference import Params

__all__ = ["check_case", "check_gradients", "write_case"]

# The defaults of a check: the assignment's T; a small m, so that the finite differences of your
# loss (four calls of your function per entry) take about a second; weights and initial state
# ten times the assignment's sig = 0.01, at which tanh is so nearly linear (h ~ 0.01) that a
# missing tanh' changes a gradient by only ~1e-4 of itself.
M, SEQ_LENGTH, SIG, STATE_SCALE = 5, 25, 0.1, 0.1

# What check_case reads: a path (.npz, or .mat with scipy) or the arrays themselves by name.
Arrays = Union[str, Path, Mapping[str, Any]]


def _encode(text: str | None, K: int | None) -> tuple[np.ndarray, int]:
    """The text's indices and the vocabulary size: K if given (at least the text's), else the
    text's own. None: the embedded corpus."""
    from .data import Vocabulary, load_corpus

    if text is None:
        _, vocab, encoded = load_corpus()
    else:
        vocab = Vocabulary.from_text(text)
        encoded = vocab.encode(text)
    if K is None:
        return encoded, vocab.K
    if K < vocab.K:
        raise ValueError(f"K = {K} is smaller than the text's vocabulary ({vocab.K} characters)")
    return encoded, int(K)


def _case(text: str | None, K: int | None, settings: dict[str, Any], state_scale: float):
    """fresh_case for the settings (cell, layers, m, T, seed, sig) on the text: what
    check_gradients hands a user's code and write_case writes."""
    from . import _core

    encoded, K = _encode(text, K)
    return fresh_case(_core.layout, encoded, K, state_scale=state_scale, **settings)


def _real_number(value: Any, what: str) -> float:
    """One finite real number (a Python or numpy scalar, or an array of one entry)."""
    a = np.asarray(value)
    if a.size != 1 or a.dtype.kind not in "iuf":
        raise ValueError(
            f"{what} must be one real number, got {type(value).__name__} of shape "
            f"{a.shape} and dtype {a.dtype}"
        )
    number = float(a.reshape(-1)[0])
    if not np.isfinite(number):
        raise ValueError(f"{what} is {number}, not a finite number")
    return number


def _real_array(value: Any, what: str, shape: tuple[int, ...]) -> np.ndarray:
    """A finite float64 array of the given shape. A vector may come as a column or a row
    (MATLAB's m x 1); a matrix must have its shape, not its transpose."""
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{what} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.shape != shape:
        if len(shape) == 1 and a.ndim == 2 and 1 in a.shape and a.size == shape[0]:
            a = a.reshape(shape)
        else:
            hint = " (transposed?)" if len(shape) == 2 and a.shape == shape[::-1] else ""
            raise ValueError(f"{what} has shape {a.shape}, expected {shape}{hint}")
    bad = ~np.isfinite(a)
    if bad.any():
        at = np.unravel_index(int(np.argmax(bad)), a.shape)
        raise ValueError(
            f"{what} has {int(bad.sum())} non-finite entries, the first "
            f"{a[at]} at [{', '.join(str(int(i)) for i in at)}]"
        )
    return a


def _gradients(
    source: Any, layout: Sequence[Mapping[str, Any]], where: str
) -> dict[str, np.ndarray]:
    """Your gradient of every array of the layout, by dW (or W if there is no dW), checked for
    shape and finiteness. Other entries are ignored."""
    if not isinstance(source, Mapping):
        raise TypeError(f"{where} must be a dict of arrays by name, got {type(source).__name__}")
    out = {}
    for entry in layout:
        name, shape = entry["name"], tuple(entry["shape"])
        key = "d" + name if "d" + name in source else name
        if key not in source:
            raise ValueError(f"{where} has no d{name} (nor {name}), the gradient of {name} {shape}")
        out[name] = _real_array(source[key], f"{where}: {key}", shape)
    return out


def _report(
    side: str,
    yours: Mapping[str, np.ndarray],
    native: Mapping[str, np.ndarray],
    fd: Mapping[str, np.ndarray] | None,
    settings: dict[str, Any],
    loss_yours: float | None,
    loss_native: float,
) -> dict[str, Any]:
    """Rows of format_table for your gradients: vs charrnn's (_ref) and, if there are finite
    differences of your loss, vs those (_fd), each with its worst entry."""
    vs_ref = compare(yours, native, worst=True)
    vs_fd = None if fd is None else compare(yours, fd, worst=True)
    report: dict[str, Any] = {}
    for name in yours:
        row: dict[str, Any] = {}
        if vs_fd is not None:
            row["max_rel_err_fd"] = vs_fd[name]["max_rel_err"]
            row["norm_rel_err_fd"] = vs_fd[name]["norm_rel_err"]
            row["max_abs_err_fd"] = vs_fd[name]["max_abs_err"]
        row["max_abs_diff_ref"] = vs_ref[name]["max_abs_err"]
        if vs_fd is not None:
            row["worst_fd"] = vs_fd[name]["worst"]
        row["worst_ref"] = vs_ref[name]["worst"]
        report[name] = row
    loss_diff = None if loss_yours is None else abs(loss_yours - loss_native)
    report["settings"] = {
        "side": side,
        **settings,
        "loss_yours": loss_yours,
        "loss_native": loss_native,
        "loss_abs_diff": loss_diff,
    }
    report["passed"] = (loss_diff is None or metric_passes("max_abs_diff_ref", loss_diff)) and all(
        metric_passes(metric, value)
        for name in yours
        for metric, value in report[name].items()
        if not metric.startswith("worst")
    )
    return report


def check_gradients(
    fn: Callable[..., tuple[Any, Mapping[str, Any]]],
    cell: str = "rnn",
    K: int | None = None,
    m: int = M,
    seq_length: int = SEQ_LENGTH,
    layers: int = 1,
    seed: int = 0,
    text: str | None = None,
    *,
    sig: float = SIG,
    state_scale: float = STATE_SCALE,
    h: float = FD_STEP,
    order: int = FD_ORDER,
    verbose: bool = True,
) -> dict[str, Any]:
    """Check the gradients of your own forward and backward pass, as `charrnn gradcheck` checks
    the native core's: against charrnn's analytic gradient on the same weights, inputs and
    initial state, and against central differences of your own loss.

    Your function is called as `fn(params, inputs, targets, h0)` and returns `(loss, grads)`:

    - params: a dict of float64 arrays named and shaped as charrnn.layout(cell, K, m, layers)
      gives them (the vanilla RNN's W (m, m), U (m, K), V (K, m), b (m,), c (K,); W1, U1, b1,
      W2, ..., V, c for more layers; gated cells stack their gates as docs/model.md shows).
    - inputs, targets: the characters x_t and y_t, int arrays (T,), indices from 0; h0: the
      initial hidden state, (m,) for one layer, (L, m) for more (an LSTM also gets c0).
    - loss: -sum_t log p_t[y_t]; grads: a dict of the gradient of every array of params, under
      its name or d + name (W or dW), shaped as the array.

    fn gets fresh copies, so it may change them. The finite differences call it four times per
    parameter entry (twice with order=2): keep m small.

    Args:
        fn: Your forward and backward pass.
        cell: 'rnn' (the vanilla RNN), 'lstm' or 'gru'.
        K: Vocabulary size (default: the text's; a larger K adds characters that never occur).
        m: Hidden units per layer.
        seq_length: T, the characters of the sequence (the first T + 1 of the text).
        layers: Stacked layers L.
        seed: Seed of the weights (default_rng(seed), as gradcheck's) and the state (seed + 1).
        text: The text (a str); None: the embedded corpus.
        sig: Weight std of the vanilla RNN (lstm and gru draw from U(-1/sqrt(m), 1/sqrt(m))).
            The default 0.1 is ten times the assignment's, so that tanh' matters.
        state_scale: Std of the initial state's entries (0: zero).
        h: Finite-difference step.
        order: Central differences of order 2 or 4.
        verbose: Print the table.

    Returns:
        The report format_table prints: per tensor `charrnn gradcheck`'s metrics (_fd: yours vs
        finite differences of your loss; _ref: yours vs charrnn's) and worst_fd, worst_ref (the
        entry of the largest difference); "settings" with both losses; "passed".

    Raises:
        ValueError: A bad setting, or a loss or gradients missing, misshapen or not finite.
        TypeError: fn did not return (loss, grads) with grads a dict.
    """
    settings = dict(cell=cell, layers=layers, m=m, T=seq_length, seed=seed, sig=sig)
    params, inputs, targets, h0, c0 = _case(text, K, settings, state_scale)
    states = [h0[0] if layers == 1 else h0] + ([] if c0 is None else [c0[0] if layers == 1 else c0])
    call = functools.partial(_call, fn, inputs, targets, states)
    loss, grads = call(params)
    loss_yours = _real_number(loss, "the loss fn returned")
    yours = _gradients(grads, params.layout, "the grads fn returned")
    loss_charrnn, native = _charrnn_gradients(params, inputs, targets, h0, c0)
    work = {name: params[name].copy() for name in params.names}  # perturbed in place

    def loss_at() -> float:
        return _real_number(call(work)[0], "the loss fn returned")

    fd = numerical_gradients(loss_at, work, h=h, order=order)
    settings.update(K=params.K, h=h, order=order, state_scale=state_scale)
    report = _report("your code", yours, native, fd, settings, loss_yours, loss_charrnn)
    if verbose:
        print(format_table(report))
    return report


def _charrnn_gradients(params: Params, x, y, h0, c0) -> tuple[float, dict[str, np.ndarray]]:
    """charrnn's loss and gradient (the native core) on a case."""
    from . import _core

    result = _core.forward_backward(native_params(params), x, y, h0, c0)
    grads = {name: np.array(result.grads[name], dtype=np.float64) for name in params.names}
    return float(result.loss), grads


def _call(fn: Callable, inputs, targets, states, weights: Mapping[str, np.ndarray]) -> tuple:
    """fn(params, inputs, targets, h0[, c0]) on fresh copies, checked to return (loss, grads)."""
    out = fn(
        {name: a.copy() for name, a in weights.items()},
        inputs.copy(),
        targets.copy(),
        *(s.copy() for s in states),
    )
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"fn must return (loss, grads), got {type(out).__name__}")
    return out[0], out[1]


def _scipy_io(path: Path) -> Any:
    try:
        import scipy.io
    except ImportError:
        raise ModuleNotFoundError(
            f"{path}: a .mat file needs scipy, which is not installed: "
            f"pip install scipy (or use .npz)",
            name="scipy",
        ) from None
    return scipy.io


def _load(path: str | Path) -> dict[str, np.ndarray]:
    """The named arrays of an .npz, or of a .mat (MATLAB v7 or older; needs scipy)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".mat":
        io = _scipy_io(path)
        try:
            data = io.loadmat(str(path))
        except NotImplementedError:  # scipy's answer to v7.3
            raise ValueError(
                f"{path}: a MATLAB v7.3 file (HDF5), which scipy cannot read; "
                f"save it with save(..., '-v7')"
            ) from None
        except Exception as err:  # scipy's errors for a file that is not a .mat vary by version
            raise ValueError(f"{path}: not a readable .mat file ({err})") from None
        return {name: value for name, value in data.items() if not name.startswith("__")}
    try:
        with open(path, "rb") as f:  # ours to close: np.load leaks its own on a torn archive
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):  # an .npy: one array
                raise ValueError("it holds one array, not arrays by name as np.savez writes")
            with data:
                return {name: data[name] for name in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None


def _save(path: str | Path, arrays: Mapping[str, Any]) -> None:
    path = Path(path)
    if path.suffix.lower() == ".mat":
        # Vectors as columns (m x 1), as MATLAB code of the assignment holds b, c and h0.
        _scipy_io(path).savemat(str(path), dict(arrays), oned_as="column")
    elif path.suffix.lower() == ".npz":
        with open(path, "wb") as f:  # a file object: np.savez would add .npz to a name
            np.savez(f, **arrays)
    else:
        raise ValueError(f"write the case as .npz or .mat, got {path.name!r}")


def write_case(
    path: str | Path,
    cell: str = "rnn",
    K: int | None = None,
    m: int = M,
    seq_length: int = SEQ_LENGTH,
    layers: int = 1,
    seed: int = 0,
    text: str | None = None,
    *,
    sig: float = SIG,
    state_scale: float = STATE_SCALE,
) -> dict[str, np.ndarray]:
    """Write a case for code in any language to compute gradients on: the weights, inputs and
    initial state check_gradients would use with the same settings, and charrnn's loss.

    The file (.npz, or .mat where scipy is installed, vectors as m x 1 columns) holds:

    - the weights under the layout's names, for the vanilla RNN W (m, m), U (m, K), V (K, m),
      b (m), c (K), the assignment's names and shapes;
    - X, Y: the inputs and targets one-hot, (K, T), column t for character t;
    - x, y: the same as indices (T,), counted from 0 (MATLAB indexes from 1: add 1);
    - h0: the initial hidden state, (m) for one layer, (L, m) for more; c0 for an LSTM;
    - loss: the loss charrnn computes on the case, -sum_t log p_t[y_t];
    - cell, layers, seed, sig: how the case was made.

    Compute your gradients on it and save them (dW, dU, dV, db, dc, or W, U, ...; loss too, to
    compare it) as .npz or .mat; check_case or `charrnn check CASE GRADS` compares them.

    Args:
        path: The file to write, ending in .npz or .mat.
        cell: 'rnn', 'lstm' or 'gru'.
        K: Vocabulary size (default: the text's).
        m: Hidden units per layer.
        seq_length: T, the characters of the sequence (the first T + 1 of the text).
        layers: Stacked layers L.
        seed: Seed of the weights and (seed + 1) of the initial state.
        text: The text (a str); None: the embedded corpus.
        sig: Weight std of the vanilla RNN.
        state_scale: Std of the initial state's entries (0: zero).

    Returns:
        The arrays written, by name.

    Raises:
        ValueError: A bad setting, or a path that ends in neither .npz nor .mat.
        ModuleNotFoundError: A .mat path without scipy.
    """
    from . import _core

    if Path(path).suffix.lower() not in (".npz", ".mat"):
        raise ValueError(f"write the case as .npz or .mat, got {Path(path).name!r}")
    settings = dict(cell=cell, layers=layers, m=m, T=seq_length, seed=seed, sig=sig)
    params, inputs, targets, h0, c0 = _case(text, K, settings, state_scale)
    loss = _core.loss(native_params(params), inputs, targets, h0, c0)
    eye = np.eye(params.K)
    arrays: dict[str, Any] = {name: params[name].copy() for name in params.names}
    arrays.update(
        X=eye[:, inputs],
        Y=eye[:, targets],
        x=inputs.astype(np.int64),
        y=targets.astype(np.int64),
        h0=h0[0] if layers == 1 else h0,
    )
    if c0 is not None:
        arrays["c0"] = c0[0] if layers == 1 else c0
    arrays.update(loss=np.float64(loss), cell=np.str_(cell), layers=np.int64(layers))
    arrays.update(seed=np.int64(seed), sig=np.float64(sig))
    _save(path, arrays)
    return arrays


def _text_of(value: Any, what: str) -> str:
    a = np.asarray(value)
    if a.dtype.kind != "U" or a.size != 1:
        raise ValueError(f"{what} must be a string, got {a.dtype} of shape {a.shape}")
    return str(a.reshape(-1)[0]).strip()


def _whole_numbers(value: Any, what: str, shape_hint: str) -> np.ndarray:
    """An integer vector (a MATLAB row or column too); floats only if they are whole."""
    a = np.asarray(value)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{what} must be {shape_hint}, got shape {a.shape}")
    if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{what} must hold whole numbers, got dtype {a.dtype}")
    return a.astype(np.int64)


def check_case(case: Arrays, grads: Arrays, verbose: bool = False) -> dict[str, Any]:
    """Compare gradients computed by your own code (any language) on a case of write_case with
    charrnn's gradient on the same case, in the table of `charrnn gradcheck`.

    Without your code there are no finite differences of your loss: each tensor's row is the
    largest difference from charrnn's gradient (max_abs_diff_ref, which must be at most 1e-10),
    with the entry where it is and both values there; your loss, if the gradients file holds
    one, must equal charrnn's to 1e-10.

    Args:
        case: A file of write_case (.npz or .mat), or its arrays by name.
        grads: Your gradients: a file (.npz, or .mat where scipy is installed, MATLAB v7 or
            older) or the arrays by name; dW, dU, dV, db, dc (or W, U, V, b, c) for the
            vanilla RNN, d + name of every array of the case's model, shaped as the weights
            (a vector may be a column or a row), and optionally loss.
        verbose: Print the table.

    Returns:
        The report format_table prints: per tensor max_abs_diff_ref and worst_ref, the entry of
        the largest difference ({"index", "analytic" (yours), "numeric" (charrnn's)});
        "settings" with both losses; "passed".

    Raises:
        ValueError: A file that is not a case or not gradients of it (an array missing, of
            the wrong shape or not finite).
        FileNotFoundError: No such file.
        ModuleNotFoundError: A .mat file without scipy.
    """

    where_case = str(case) if isinstance(case, (str, Path)) else "the case"
    where_grads = str(grads) if isinstance(grads, (str, Path)) else "the gradients"
    arrays = _load(case) if isinstance(case, (str, Path)) else dict(case)
    params, x, y, h0, c0, settings = _read_case(arrays, where_case)
    source = _load(grads) if isinstance(grads, (str, Path)) else dict(grads)
    yours = _gradients(source, params.layout, where_grads)
    loss_yours = _real_number(source["loss"], f"{where_grads}: loss") if "loss" in source else None
    loss_charrnn, native = _charrnn_gradients(params, x, y, h0, c0)
    report = _report("your file", yours, native, None, settings, loss_yours, loss_charrnn)
    if verbose:
        print(format_table(report))
    return report


def _read_case(arrays: dict[str, Any], where_case: str) -> tuple:
    """The model, inputs, targets, initial state and settings of a case's arrays, each checked
    (ValueError naming what is missing or wrong)."""
    from . import _core

    for key in ("cell", "layers", "V", "x", "y", "h0"):
        if key not in arrays:
            raise ValueError(
                f"{where_case} has no {key}: not a case of `charrnn check --write-case`"
            )
    cell = _text_of(arrays["cell"], f"{where_case}: cell")
    layers = int(_real_number(arrays["layers"], f"{where_case}: layers"))
    V = np.asarray(arrays["V"])
    if V.ndim != 2:
        raise ValueError(f"{where_case}: V must be a (K, m) matrix, got shape {V.shape}")
    K, m = V.shape
    params = Params(_core.layout(cell, K, m, layers))
    for entry in params.layout:
        name = entry["name"]
        if name not in arrays:
            raise ValueError(
                f"{where_case} has no {name}, the weights {tuple(entry['shape'])} "
                f"of a {cell} x{layers} case"
            )
        params[name] = _real_array(arrays[name], f"{where_case}: {name}", tuple(entry["shape"]))
    x = _whole_numbers(arrays["x"], f"{where_case}: x", "indices (T,)")
    y = _whole_numbers(arrays["y"], f"{where_case}: y", "indices (T,)")
    T = x.size
    if y.size != T:
        raise ValueError(f"{where_case}: x and y differ in length, {T} vs {y.size}")
    for name, seq in (("x", x), ("y", y)):
        if seq.min() < 0 or seq.max() >= K:
            raise ValueError(
                f"{where_case}: {name} holds indices outside [0, {K}) (counted from 0)"
            )
    states = []
    for name in ("h0", "c0") if cell == "lstm" else ("h0",):
        if name not in arrays:
            raise ValueError(
                f"{where_case} has no {name}: not a case of `charrnn check --write-case`"
            )
        shape = (m,) if layers == 1 else (layers, m)
        states.append(_real_array(arrays[name], f"{where_case}: {name}", shape).reshape(layers, m))
    h0, c0 = states[0], (states[1] if cell == "lstm" else None)

    settings: dict[str, Any] = {"cell": cell, "layers": layers, "K": K, "m": m, "T": T}
    for key, kind in (("seed", int), ("sig", float)):
        if key in arrays:
            settings[key] = kind(_real_number(arrays[key], f"{where_case}: {key}"))
    return params, x, y, h0, c0, settings
