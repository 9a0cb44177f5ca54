"""Gradient checking: central differences, complex-step derivatives, error metrics, and the
three-way report (native analytic vs finite differences, vs the numpy reference, vs complex step).

Duck-typed: anything with writable numpy-array attributes W, U, V, b, c can be checked, the numpy
reference.Params or the native core's params (whose attributes are views into C++ memory).
Imports nothing native; the native side is passed in as callables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import reference
from .reference import NAMES, Params

__all__ = [
    "THRESHOLDS",
    "check_native",
    "compare",
    "complex_step_gradients",
    "format_table",
    "gradcheck_report",
    "numerical_gradients",
]

# Pass criteria of gradcheck_report. "_fd": native analytic vs central differences on the native
# loss; "_ref": native analytic vs numpy reference analytic on identical weights.
THRESHOLDS = {
    "norm_rel_err_fd": 1e-6,
    "max_abs_err_fd": 1e-8,
    "max_abs_diff_ref": 1e-10,
}

# Metrics of one tensor in gradcheck_report, in table order.
METRICS = (
    "max_rel_err_fd",
    "norm_rel_err_fd",
    "max_abs_err_fd",
    "max_abs_diff_ref",
    "max_abs_err_cs",
)


def _tensors(grads: Any) -> dict[str, np.ndarray]:
    """name -> array from a mapping or from an object with attributes W, U, V, b, c."""
    if isinstance(grads, Mapping):
        return {name: np.asarray(grads[name]) for name in grads}
    return {name: np.asarray(getattr(grads, name)) for name in NAMES}


def numerical_gradients(
    loss_fn: Callable[[], float], params: Any, h: float = 1e-4, names: tuple[str, ...] = NAMES
) -> dict[str, np.ndarray]:
    """Central differences dL/dtheta ~ (L(theta+h) - L(theta-h)) / 2h over every entry.

    Perturbs params.<name> in place (for the native core these are views into C++ memory, so an
    in-place edit is what changes the model) and restores each entry to its exact original value.
    loss_fn() takes no arguments and returns the loss at the current params.
    """
    grads = {}
    for name in names:
        arr = getattr(params, name)
        if not isinstance(arr, np.ndarray) or not arr.flags.writeable:
            kind = type(arr).__name__
            raise TypeError(f"params.{name} must be a writable numpy array, got {kind}")
        g = np.zeros(arr.shape, dtype=np.float64)
        for n, idx in enumerate(np.ndindex(arr.shape)):
            old = arr[idx]
            plus, minus = old + h, old - h
            try:
                arr[idx] = plus
                if n == 0 and getattr(params, name)[idx] != arr[idx]:
                    raise TypeError(
                        f"params.{name} returns a copy, so editing it does not change the model; "
                        f"it must be a writable view"
                    )
                loss_plus = loss_fn()
                arr[idx] = minus
                loss_minus = loss_fn()
            finally:
                arr[idx] = old
            # Divide by the step actually taken: plus - minus is 2h up to rounding of old +- h.
            g[idx] = (loss_plus - loss_minus) / (plus - minus)
        grads[name] = g
    return grads


def complex_step_gradients(
    params: Params, inputs, targets, h0, h: float = 1e-30, chunk: int = 2048
) -> dict[str, np.ndarray]:
    """dL/dtheta = Im L(theta + i h e_k) / h for every entry k of the reference loss.

    Exact to rounding (no subtraction, so h can be tiny). Each entry still gets its own forward
    pass, but up to `chunk` of those passes run side by side as one batched forward: row r of
    the batch is the model with only entry k_r perturbed, which costs a rank-one correction to
    one pre-activation or logit, not a copy of the weights. Complex tanh and exp dominate, so
    this is only ~4x faster than looping reference.loss over entries (m=100, K=76, T=25: ~5 s);
    tests check the two agree.
    """
    x, y, h0 = reference._check_sequence(params, inputs, targets, h0)
    return {name: _complex_step_one(params, x, y, h0, name, h, chunk) for name in NAMES}


def _complex_step_one(
    params: Params, x: np.ndarray, y: np.ndarray, h0: np.ndarray, name: str, h: float, chunk: int
) -> np.ndarray:
    W, U, V, b, c = (np.asarray(a, np.float64) for _, a in params.items())
    shape = getattr(params, name).shape
    out = np.zeros(int(np.prod(shape)))
    active = np.arange(out.size)  # flat indices of the entries to differentiate
    if name == "U":  # column j of U is only read when x_t == j: other columns have dL = 0 exactly
        active = active[np.isin(np.unravel_index(active, shape)[1], x)]
    step = 1j * h
    for start in range(0, active.size, chunk):
        k = active[start : start + chunk]  # flat indices perturbed in this batch
        rows = np.arange(k.size)  # batch row r perturbs entry k[r]
        # Entry k[r] is theta[i[r], j[r]] (matrices) or theta[i[r]] (vectors).
        i, j = np.unravel_index(k, shape) if len(shape) == 2 else (k, None)
        H = np.empty((k.size, W.shape[0]), np.complex128)  # (B, m)  h_{t-1} of each row
        H[:] = h0
        L = np.zeros(k.size, np.complex128)  # (B)
        for t in range(x.size):
            A = H @ W.T + (U[:, x[t]] + b)  # (B, m)  a_t = W h_{t-1} + U x_t + b
            if name == "W":  # (W + ih e_i e_j^T) h_{t-1} adds ih h_{t-1}[j] to a[i]
                A[rows, i] += step * H[rows, j]
            elif name == "U":  # column x_t of (U + ih e_i e_j^T) differs only if j == x_t
                A[rows, i] += step * (j == x[t])
            elif name == "b":
                A[rows, i] += step
            H = np.tanh(A)  # (B, m)
            O = H @ V.T + c  # (B, K)  o_t = V h_t + c
            if name == "V":
                O[rows, i] += step * H[rows, j]
            elif name == "c":
                O[rows, i] += step
            Z = O - O.real.max(axis=1, keepdims=True)  # max-shift by the real part
            L -= Z[:, y[t]] - np.log(np.exp(Z).sum(axis=1))  # -log p_t[y_t]
        out[k] = L.imag / h
    return out.reshape(shape)


def compare(analytic: Any, numeric: Any, eps: float = 1e-15) -> dict[str, dict[str, float]]:
    """Error metrics per tensor between two gradient sets (mappings or W..c-attribute objects).

    max_rel_err   max over entries of |ga - gn| / max(eps, |ga| + |gn|). eps only guards 0/0
                  (both exactly zero gives 0); it is not a noise floor, so entries whose true
                  gradient is at finite-difference noise level (~1e-10) can show a large
                  relative error. That is why the pass criteria use the two metrics below.
    norm_rel_err  ||ga - gn|| / (||ga|| + ||gn||), Frobenius norms; 0 when both are zero.
    max_abs_err   max |ga - gn|.
    """
    ga_all, gn_all = _tensors(analytic), _tensors(numeric)
    out = {}
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
    return out


def _metric_passes(metric: str, value: float) -> bool:
    return metric not in THRESHOLDS or bool(value <= THRESHOLDS[metric])  # NaN fails


def gradcheck_report(
    native_forward_backward: Callable[..., Any] | None = None,
    make_native_params: Callable[[Params], Any] | None = None,
    *,
    encoded: np.ndarray | None = None,
    K: int | None = None,
    m: int = 100,
    T: int = 25,
    h: float = 1e-4,
    seed: int = 0,
    sig: float = 0.01,
    offset: int = 0,
    native_loss: Callable[..., float] | None = None,
) -> dict[str, Any]:
    """Check the native gradients three ways on one set of weights and one sequence of text.

    The weights are Params.random(K, m, sig, seed), copied into the native model with
    make_native_params(ref_params) -> object with writable array views W..c. The sequence is
    inputs = encoded[offset : offset + T], targets shifted by one, h0 = 0. encoded and K default
    to the bundled corpus. native_forward_backward(params, inputs, targets, h0) must return an
    object with .loss and .grads (attributes W..c); native_loss(params, inputs, targets, h0), if
    given, is used for the finite differences instead (forward only, cheaper).

    With no native callables the numpy reference stands in for the native side (a self-check).

    Returns {name: {metric: value}} for name in W, U, V, b, c (metrics in METRICS), plus
    "settings" (sizes, losses) and "passed": every thresholded metric within THRESHOLDS and the
    native and reference losses within THRESHOLDS["max_abs_diff_ref"].
    """
    if (native_forward_backward is None) != (make_native_params is None):
        raise ValueError("give both native_forward_backward and make_native_params, or neither")
    side = "native"
    if native_forward_backward is None:
        side = "reference"
        native_forward_backward, make_native_params = reference.forward_backward, Params.copy
        native_loss = native_loss or reference.loss
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
    inputs = encoded[offset : offset + T]
    targets = encoded[offset + 1 : offset + T + 1]
    h0 = np.zeros(m)

    ref_params = Params.random(K, m, sig=sig, seed=seed)
    native_params = make_native_params(ref_params)
    if native_loss is None:

        def loss_fn() -> float:
            return float(native_forward_backward(native_params, inputs, targets, h0).loss)
    else:

        def loss_fn() -> float:
            return float(native_loss(native_params, inputs, targets, h0))

    native = native_forward_backward(native_params, inputs, targets, h0)
    ga = _tensors(native.grads)
    ga = {name: np.array(ga[name], dtype=np.float64) for name in NAMES}  # copy out of native memory
    loss_native = float(native.loss)
    ref = reference.forward_backward(ref_params, inputs, targets, h0)

    fd = numerical_gradients(loss_fn, native_params, h=h)
    cs = complex_step_gradients(ref_params, inputs, targets, h0)
    vs_fd, vs_ref, vs_cs = compare(ga, fd), compare(ga, ref.grads), compare(ga, cs)

    report: dict[str, Any] = {}
    for name in NAMES:
        report[name] = {
            "max_rel_err_fd": vs_fd[name]["max_rel_err"],
            "norm_rel_err_fd": vs_fd[name]["norm_rel_err"],
            "max_abs_err_fd": vs_fd[name]["max_abs_err"],
            "max_abs_diff_ref": vs_ref[name]["max_abs_err"],
            "max_abs_err_cs": vs_cs[name]["max_abs_err"],
        }
    loss_diff = abs(loss_native - ref.loss)
    report["settings"] = {
        "side": side,
        "K": K,
        "m": m,
        "T": T,
        "h": h,
        "seed": seed,
        "sig": sig,
        "offset": offset,
        "loss_native": loss_native,
        "loss_reference": ref.loss,
        "loss_abs_diff": loss_diff,
    }
    report["passed"] = _metric_passes("max_abs_diff_ref", loss_diff) and all(
        _metric_passes(metric, report[name][metric]) for name in NAMES for metric in METRICS
    )
    return report


def format_table(report: Mapping[str, Any]) -> str:
    """Fixed-width table of a gradcheck_report: one row per tensor, PASS/FAIL per row.

    A value outside its threshold is marked with '*'.
    """
    width = 17
    header = "tensor " + "".join(f"{metric:>{width}}" for metric in METRICS) + "  result"
    limits = "limit  " + "".join(
        f"{('<= ' + format(THRESHOLDS[metric], '.0e')) if metric in THRESHOLDS else '-':>{width}}"
        for metric in METRICS
    )
    lines = []
    settings = report.get("settings")
    if settings:
        lines.append(
            f"gradient check ({settings['side']}): K={settings['K']} m={settings['m']} "
            f"T={settings['T']} h={settings['h']:g} seed={settings['seed']} sig={settings['sig']:g}"
        )
        lines.append(
            "  fd: vs central differences   ref: vs numpy reference   cs: vs complex step"
        )
    lines += [header, limits, "-" * len(header)]
    for name in NAMES:
        row = report[name]
        cells = []
        ok = True
        for metric in METRICS:
            passes = _metric_passes(metric, row[metric])
            ok &= passes
            cells.append(f"{format(row[metric], '.2e') + ('' if passes else '*'):>{width}}")
        lines.append(f"{name:<7}" + "".join(cells) + f"  {'PASS' if ok else 'FAIL'}")
    lines.append("-" * len(header))
    if settings:
        diff = settings["loss_abs_diff"]
        mark = "" if _metric_passes("max_abs_diff_ref", diff) else "*"
        lines.append(
            f"loss: native {settings['loss_native']:.12f}  reference "
            f"{settings['loss_reference']:.12f}  |diff| {diff:.2e}{mark}"
        )
    lines.append("max_rel_err_fd: information only (near-zero entries sit at the FD noise floor)")
    lines.append(f"overall: {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)


def check_native(encoded: np.ndarray | None = None, K: int | None = None, **settings: Any) -> dict[str, Any]:
    """gradcheck_report for the native core (charrnn._core): the same weights are copied into a
    native Params, whose gradients are checked against finite differences of the native loss,
    against the numpy reference and against complex-step derivatives."""
    from . import _core

    def make_native(ref: Params) -> Any:
        params = _core.Params(ref.K, ref.m)
        for name, array in ref.items():
            setattr(params, name, array)
        return params

    return gradcheck_report(_core.forward_backward, make_native, native_loss=_core.loss,
                            encoded=encoded, K=K, **settings)
