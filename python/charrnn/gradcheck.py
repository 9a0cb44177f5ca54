"""Gradient checking for every model of the family: central differences, complex-step derivatives,
error metrics, and the three-way report (native analytic vs finite differences, vs the numpy
reference, vs complex step), one row per parameter name of the layout.

Duck-typed: anything with a .layout and a writable numpy array per name (params[name] or
params.name) can be checked, the numpy reference.Params or the native core's Params (whose arrays
are views into C++ memory). Imports nothing native except in check_native and native_params; the
native side is passed in as callables, and so is the layout table. check.py checks a user's own
code with the same case, metrics and table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import reference
from .gradtable import METRICS, THRESHOLDS, format_table
from .gradtable import metric_passes as _metric_passes
from .reference import Params, ops

__all__ = [
    "THRESHOLDS",
    "check_native",
    "compare",
    "complex_step_gradients",
    "complex_step_per_entry",
    "format_table",
    "fresh_case",
    "gradcheck_report",
    "native_params",
    "numerical_gradients",
]


def _names(params: Any) -> list[str]:
    """Parameter names in layout order: from .layout, else the keys of a mapping."""
    layout = getattr(params, "layout", None)
    if layout is not None:
        return [entry["name"] for entry in layout]
    if isinstance(params, Mapping):
        return list(params)
    raise TypeError(f"{type(params).__name__} has neither a .layout nor names (not a mapping)")


def _array(params: Any, name: str) -> Any:
    """params[name] for a mapping or an indexable params object, else params.name."""
    if isinstance(params, Mapping) or hasattr(type(params), "__getitem__"):
        return params[name]
    return getattr(params, name)


def _tensors(grads: Any) -> dict[str, np.ndarray]:
    """name -> array of a gradient set: a mapping, or params with a .layout (reference, native)."""
    return {name: np.asarray(_array(grads, name)) for name in _names(grads)}


# Central differences of fourth order at h = 1e-3 by default: their truncation error (h^4) is below
# the rounding of the loss, which a larger h divides down. The second-order formula at h = 1e-4 (the
# assignment's) is either truncation-bound (an LSTM's biases: 1e-8 off) or rounding-bound (a deep
# vanilla stack at sig = 0.01, whose first-layer gradients are ~1e-4: 2.6e-6 relative).
FD_STEP = 1e-3
FD_ORDER = 4


def numerical_gradients(
    loss_fn: Callable[[], float],
    params: Any,
    h: float = FD_STEP,
    names: Sequence[str] | None = None,
    order: int = FD_ORDER,
) -> dict[str, np.ndarray]:
    """Central differences over every entry: order 2, (L(theta+h) - L(theta-h)) / 2h, or order 4,
    (8 (L(theta+h) - L(theta-h)) - (L(theta+2h) - L(theta-2h))) / 12h.

    Perturbs params' arrays in place (for the native core these are views into C++ memory, so an
    in-place edit is what changes the model) and restores each entry to its exact original value.
    loss_fn() takes no arguments and returns the loss at the current params. names defaults to
    every name of the layout (or of the mapping).
    """
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    grads = {}
    for name in _names(params) if names is None else names:
        arr = _array(params, name)
        if not isinstance(arr, np.ndarray) or not arr.flags.writeable:
            kind = type(arr).__name__
            raise TypeError(f"params {name} must be a writable numpy array, got {kind}")
        g = np.zeros(arr.shape, dtype=np.float64)
        for n, idx in enumerate(np.ndindex(arr.shape)):
            old = arr[idx]

            def loss_at(value: float) -> float:
                arr[idx] = value
                return loss_fn()

            try:
                plus, minus = old + h, old - h
                loss_plus = loss_at(plus)
                if n == 0 and _array(params, name)[idx] != arr[idx]:
                    raise TypeError(
                        f"params {name} returns a copy, so editing it does not change the model; "
                        f"it must be a writable view"
                    )
                difference = loss_plus - loss_at(minus)
                if order == 4:
                    difference = (
                        8 * difference - (loss_at(old + 2 * h) - loss_at(old - 2 * h))
                    ) / 6
            finally:
                arr[idx] = old
            # Divide by the step actually taken: plus - minus is 2h up to rounding of old +- h.
            g[idx] = difference / (plus - minus)
        grads[name] = g
    return grads


def complex_step_gradients(
    params: Params,
    inputs,
    targets,
    h0=None,
    c0=None,
    h: float = 1e-30,
    chunk: int = 512,
    *,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    dropout_step: int = 0,
) -> dict[str, np.ndarray]:
    """dL/dtheta = Im L(theta + i h e_k) / h for every entry k of the reference loss, any model.

    Exact to rounding (no subtraction, so h can be tiny). Each entry still gets its own forward
    pass, but up to `chunk` of those passes (times the B sequences of a batch) run side by side
    as the rows of one batched forward: a row's model has only entry k_r perturbed, which the
    reference's parameter reads (ops.matvec, input_term, add_bias) apply as a rank-one
    correction of one pre-activation, not a copy of the weights. Layers below the perturbed
    array's layer are unchanged, so they run once, in real arithmetic; columns of U1 for
    characters that never occur have dL = 0 exactly and are skipped.
    Tests check this equals complex_step_per_entry (the definition). dropout: one fixed set of
    masks, those of (dropout_seed, dropout_step), as reference.forward draws them.

    One layer, m = 100, T = 25, K = 76 on a 2-core VM: rnn ~3 s, gru ~14 s, lstm ~25 s with
    OPENBLAS_NUM_THREADS=1; about twice that with two BLAS threads when the machine is busy.
    """
    batch = reference.check_inputs(params, inputs, targets, h0, c0)
    x, y, h0b, c0b = batch.x, batch.y, batch.h0, batch.c0
    B, T = x.shape
    masks = reference.dropout.masks(
        dropout, dropout_seed, dropout_step, params.layers, B, T, params.m
    )
    _, _, real_layers = reference.run(params, x, y, h0b, c0b, masks=masks)  # unperturbed
    grads = {}
    for entry in params.layout:
        name, shape, layer = entry["name"], entry["shape"], entry["layer"]
        # V and c: the output layer only; the embedding E: from layer 1
        first = 1 if entry["role"] == "E" else layer if layer > 0 else params.layers + 1
        below = real_layers[first - 2][0] if first > 1 else None  # (B, T, m)  hs of layer first-1
        out = np.zeros(entry["size"])
        active = np.arange(entry["size"])  # flat indices of the entries to differentiate
        # Column j of E (or, without one, of U1) is only read when x == j.
        if entry["role"] == "E" or (entry["role"] == "U" and layer == 1 and not params.embedding):
            active = active[np.isin(np.unravel_index(active, shape)[1], x)]
        per_pass = max(1, chunk // B)  # entries per batched forward
        for start in range(0, active.size, per_pass):
            k = active[start : start + per_pass]  # flat indices perturbed in this pass
            rows = np.repeat(k, B)  # row r = e B + s: entry k[e] on sequence s
            i, j = np.unravel_index(rows, shape) if len(shape) == 2 else (rows, None)
            perturbed = {name: ops.Perturbed(params[name], i, j, 1j * h)}
            n = k.size
            losses, _, _ = reference.run(
                params,
                np.tile(x, (n, 1)),
                np.tile(y, (n, 1)),
                np.tile(h0b, (1, n, 1)),
                None if c0b is None else np.tile(c0b, (1, n, 1)),
                first,
                None if below is None else np.tile(below, (n, 1, 1)),
                perturbed,
                None if masks is None else [np.tile(mask, (n, 1, 1)) for mask in masks],
            )
            out[k] = losses.reshape(n, B).sum(axis=1).imag * reference.loss_scale(y) / h
        grads[name] = out.reshape(shape)
    return grads


def complex_step_per_entry(
    params: Params, inputs, targets, h0=None, c0=None, h: float = 1e-30, **dropout: Any
) -> dict[str, np.ndarray]:
    """The definition, for testing complex_step_gradients on tiny sizes: for every entry k of
    the flat block, one complex reference.loss at theta + i h e_k (dropout: reference.loss's
    keywords)."""
    base = params.astype(np.complex128)
    g = Params.zeros(params.layout)
    for k in range(base.flat.size):
        theta = base.copy()
        theta.flat[k] += 1j * h
        g.flat[k] = reference.loss(theta, inputs, targets, h0, c0, **dropout).imag / h
    return {name: g[name] for name in g}


def compare(
    analytic: Any, numeric: Any, eps: float = 1e-15, worst: bool = False
) -> dict[str, dict[str, Any]]:
    """Error metrics per tensor between two gradient sets (mappings, or params with a .layout),
    for every name of the analytic set.

    max_rel_err   max over entries of |ga - gn| / max(eps, |ga| + |gn|). eps only guards 0/0
                  (both exactly zero gives 0); it is not a noise floor, so entries whose true
                  gradient is at finite-difference noise level (~1e-10) can show a large
                  relative error. That is why the pass criteria use the two metrics below.
    norm_rel_err  ||ga - gn|| / (||ga|| + ||gn||), Frobenius norms; 0 when both are zero.
    max_abs_err   max |ga - gn|.
    worst         (worst=True only) the entry of max_abs_err: {"index": [i, j] (from 0),
                  "analytic": ga there, "numeric": gn there}; a NaN counts as the largest.
    """
    ga_all, gn_all = _tensors(analytic), _tensors(numeric)
    out: dict[str, dict[str, Any]] = {}
    for name, ga in ga_all.items():
        if name not in gn_all:
            raise KeyError(f"{name!r} is in the analytic gradients but not in the numeric ones")
        gn = gn_all[name]
        if ga.shape != gn.shape:
            raise ValueError(f"{name}: shapes differ, {ga.shape} vs {gn.shape}")
        diff = np.abs(ga - gn)
        if diff.size == 0:
            out[name] = {"max_rel_err": 0.0, "norm_rel_err": 0.0, "max_abs_err": 0.0}
            continue
        denom = np.linalg.norm(ga) + np.linalg.norm(gn)
        out[name] = {
            "max_rel_err": float(np.max(diff / np.maximum(eps, np.abs(ga) + np.abs(gn)))),
            "norm_rel_err": float(np.linalg.norm(ga - gn) / denom) if denom > 0 else 0.0,
            "max_abs_err": float(np.max(diff)),
        }
        if worst:
            at = np.unravel_index(int(np.argmax(diff)), diff.shape)  # argmax stops at a NaN
            out[name]["worst"] = {
                "index": [int(i) for i in at],
                "analytic": float(ga[at]),
                "numeric": float(gn[at]),
            }
    return out


def _text_window(
    encoded: np.ndarray | None, K: int | None, offset: int, T: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """(inputs, targets, K): encoded[offset : offset + T] and the characters after them
    (default: the bundled corpus and its K)."""
    if encoded is None:
        from .data import load_corpus

        _, vocab, encoded = load_corpus()
        K = vocab.K if K is None else K
    elif K is None:
        raise ValueError("give the vocabulary size K together with encoded")
    encoded = np.asarray(encoded)
    if not 0 <= offset or offset + T + 1 > encoded.size:
        raise ValueError(
            f"need {T + 1} characters from offset {offset}, but the text has {encoded.size}"
        )
    return encoded[offset : offset + T], encoded[offset + 1 : offset + T + 1], K


def _initial_state(
    cell: str, layers: int, m: int, seed: int, state_scale: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """(h0, c0), (layers, m) each: zero, or N(0, state_scale^2) from default_rng(seed + 1);
    c0 None but for lstm."""
    rng = np.random.default_rng(seed + 1)
    h0 = rng.normal(0.0, state_scale, (layers, m)) if state_scale > 0 else np.zeros((layers, m))
    c0 = None
    if cell == "lstm":
        c0 = rng.normal(0.0, state_scale, (layers, m)) if state_scale > 0 else np.zeros((layers, m))
    return h0, c0


def fresh_case(
    layout_fn: Callable[..., Sequence[Mapping[str, Any]]],
    encoded: np.ndarray | None = None,
    K: int | None = None,
    *,
    cell: str = "rnn",
    layers: int = 1,
    m: int = 100,
    T: int = 25,
    seed: int = 0,
    sig: float = 0.01,
    offset: int = 0,
    state_scale: float = 0.0,
    embedding: int = 0,
) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The weights, sequence and initial state a gradient check runs on (gradcheck_report's, and
    check.py's for a user's own code): (params, inputs (T,), targets (T,), h0 (L, m), c0 (L, m)
    or None).

    params = Params.random(layout_fn(K, m, cell=cell, layers=layers, embedding=embedding),
    sig=sig, seed=seed); inputs = encoded[offset : offset + T], targets the next characters;
    h0 (and c0 for lstm) zero, or N(0, state_scale^2) drawn from default_rng(seed + 1) if
    state_scale > 0. encoded and K default to the bundled corpus.
    """
    inputs, targets, K = _text_window(encoded, K, offset, T)
    params = Params.random(
        layout_fn(K, m, cell=cell, layers=layers, embedding=embedding), sig=sig, seed=seed
    )
    h0, c0 = _initial_state(cell, layers, m, seed, state_scale)
    return params, inputs, targets, h0, c0


def gradcheck_report(
    native_forward_backward: Callable[..., Any] | None = None,
    make_native_params: Callable[[Params], Any] | None = None,
    *,
    layout_fn: Callable[..., Sequence[Mapping[str, Any]]],
    encoded: np.ndarray | None = None,
    K: int | None = None,
    cell: str = "rnn",
    layers: int = 1,
    m: int = 100,
    T: int = 25,
    h: float = FD_STEP,
    order: int = FD_ORDER,
    seed: int = 0,
    sig: float = 0.01,
    offset: int = 0,
    state_scale: float = 0.0,
    native_loss: Callable[..., Any] | None = None,
    dropout: float = 0.0,
    embedding: int = 0,
) -> dict[str, Any]:
    """Check the native gradients three ways on one set of weights and one sequence of text.

    The weights are Params.random(layout_fn(K, m, cell=cell, layers=layers, embedding=embedding),
    sig=sig, seed=seed),
    copied into the native model with make_native_params(ref_params) -> params with a .layout and
    writable array views by name. The sequence is inputs = encoded[offset : offset + T], targets
    shifted by one; the initial state h0 (and c0 for lstm), (layers, m), is zero, or N(0,
    state_scale^2) drawn from default_rng(seed + 1) if state_scale > 0. encoded and K default to the
    bundled corpus. native_forward_backward(params, inputs, targets, h0, c0) must return an object
    with .loss and .grads; native_loss(params, inputs, targets, h0, c0), if given, is used for the
    finite differences instead (forward only, cheaper). c0 is None for models other than lstm.
    dropout > 0: every side uses the one fixed set of masks of (seed, step 0), passed to the
    callables as the keywords dropout, dropout_seed and dropout_step.

    With no native callables the numpy reference stands in for the native side (a self-check).

    Returns {name: {metric: value}} for every name of the layout, in its order (metrics in
    METRICS), plus "settings" (spec, sizes, losses) and "passed": every thresholded metric within
    THRESHOLDS and the native and reference losses within THRESHOLDS["max_abs_diff_ref"].
    """
    if (native_forward_backward is None) != (make_native_params is None):
        raise ValueError("give both native_forward_backward and make_native_params, or neither")
    side = "native"
    if native_forward_backward is None:
        side = "reference"
        native_forward_backward, make_native_params = reference.forward_backward, Params.copy
        native_loss = native_loss or reference.loss
    assert native_forward_backward is not None and make_native_params is not None
    case: dict[str, Any] = dict(
        cell=cell, layers=layers, m=m, T=T, seed=seed, sig=sig, offset=offset,
        state_scale=state_scale, embedding=embedding,
    )  # fmt: skip
    ref_params, inputs, targets, h0, c0 = fresh_case(layout_fn, encoded, K, **case)
    native_params = make_native_params(ref_params)
    drop: dict[str, Any] = (
        {"dropout": dropout, "dropout_seed": seed, "dropout_step": 0} if dropout else {}
    )
    args = (native_params, inputs, targets, h0, c0)

    def loss_fn() -> float:  # forward only, when native_loss is given
        if native_loss is None:
            return float(native_forward_backward(*args, **drop).loss)
        return float(native_loss(*args, **drop))

    native = native_forward_backward(*args, **drop)
    names = ref_params.names
    ga = _tensors(native.grads)
    ga = {name: np.array(ga[name], dtype=np.float64) for name in names}  # out of native memory
    loss_native = float(native.loss)
    ref = reference.forward_backward(ref_params, inputs, targets, h0, c0, **drop)
    fd = numerical_gradients(loss_fn, native_params, h=h, names=names, order=order)
    cs = complex_step_gradients(ref_params, inputs, targets, h0, c0, **drop)
    report: dict[str, Any] = _rows(names, compare(ga, fd), compare(ga, ref.grads), compare(ga, cs))
    loss_diff = abs(loss_native - ref.loss)
    report["settings"] = dict(
        side=side, **case, K=ref_params.K, h=h, order=order, dropout=dropout,
        loss_native=loss_native, loss_reference=ref.loss, loss_abs_diff=loss_diff,
    )  # fmt: skip
    report["passed"] = _metric_passes("max_abs_diff_ref", loss_diff) and all(
        _metric_passes(metric, report[name][metric]) for name in names for metric in METRICS
    )
    return report


def _rows(names: Sequence[str], vs_fd: dict, vs_ref: dict, vs_cs: dict) -> dict[str, Any]:
    """A report's row per tensor: its METRICS from compare's results against each side."""
    return {
        name: {
            "max_rel_err_fd": vs_fd[name]["max_rel_err"],
            "norm_rel_err_fd": vs_fd[name]["norm_rel_err"],
            "max_abs_err_fd": vs_fd[name]["max_abs_err"],
            "max_abs_diff_ref": vs_ref[name]["max_abs_err"],
            "max_abs_err_cs": vs_cs[name]["max_abs_err"],
        }
        for name in names
    }


def native_params(ref: Params) -> Any:
    """A native float64 Params (charrnn._core) holding a copy of the arrays of a reference
    Params, any model of the family."""

    params = ref.spec.params()
    for name, array in ref.items():
        _array(params, name)[...] = array
    return params


def check_native(
    encoded: np.ndarray | None = None,
    K: int | None = None,
    cell: str = "rnn",
    layers: int = 1,
    m: int = 100,
    T: int = 25,
    h: float = FD_STEP,
    order: int = FD_ORDER,
    seed: int = 0,
    sig: float = 0.01,
    offset: int = 0,
    state_scale: float = 0.0,
    dropout: float = 0.0,
    embedding: int = 0,
) -> dict[str, Any]:
    """gradcheck_report for the native core (charrnn._core): the same weights are copied into a
    native Params of the same layout, whose gradients are checked against finite differences of
    the native loss, against the numpy reference and against complex-step derivatives (with
    dropout > 0, all under one fixed set of masks)."""
    from . import _core

    return gradcheck_report(
        _core.forward_backward,
        native_params,
        native_loss=_core.loss,
        layout_fn=_core.layout,
        encoded=encoded,
        K=K,
        cell=cell,
        layers=layers,
        m=m,
        T=T,
        h=h,
        order=order,
        seed=seed,
        sig=sig,
        offset=offset,
        state_scale=state_scale,
        dropout=dropout,
        embedding=embedding,
    )


# The report's gradient check differentiates every entry twice by finite differences and once by
# complex step: seconds for the assignment's 25,376 parameters, many minutes for a 2 x 512 LSTM.
GRADCHECK_MAX_PARAMS = 30_000


def gradcheck_m(config: Any, K: int) -> int:
    """m for the report's gradient check: the run's, or, for a larger model, the largest m below
    it whose model of the same cell and depth has at most GRADCHECK_MAX_PARAMS parameters."""

    def size(m: int) -> int:
        from charrnn.spec import ModelSpec

        spec = ModelSpec(config.cell, K, m, config.layers, config.embedding)
        return sum(e["size"] for e in spec.layout())

    if size(config.m) <= GRADCHECK_MAX_PARAMS:
        return config.m
    low, high = 1, config.m  # size(low) is small enough (or nothing is), size(high) is not
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if size(mid) <= GRADCHECK_MAX_PARAMS else (low, mid)
    return low
