"""The few operations the cells share: the three reads of a parameter in an affine map (matvec,
input_term, add_bias), the backward of input_term, and tanh / sigmoid that also take complex input.

Every forward read of a parameter goes through the first three, so that complex-step
differentiation (gradcheck.complex_step_gradients) can hand in a Perturbed parameter: batch row r
then sees the model with one entry k_r moved by i h, at the cost of a rank-one correction, not a
copy of the weights. On plain arrays they are one numpy expression each.
Rows are batch rows throughout: a state h is (B, m), and "A v" for each row is v @ A^T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Perturbed",
    "add_bias",
    "embed",
    "input_term",
    "input_term_backward",
    "matvec",
    "sigmoid",
    "tanh",
]


@dataclass(frozen=True)
class Perturbed:
    """A parameter array as batch row r sees it: array + step e_{i[r]} e_{j[r]}^T (matrices) or
    array + step e_{i[r]} (vectors). One entry per row; every row of the batch has one."""

    array: np.ndarray  # (n_out, n_in) or (n,)  the unperturbed parameter
    i: np.ndarray  # (B,)  row (or vector index) perturbed in each batch row
    j: np.ndarray | None  # (B,)  column perturbed in each batch row; None for vectors
    step: complex  # i h


def matvec(A, v: np.ndarray) -> np.ndarray:
    """A v for each row of v: (B, n_in) -> (B, n_out). Reads W h, U h_below, V h."""
    if not isinstance(A, Perturbed):
        return v @ A.T
    out = v @ A.array.T  # (B, n_out)
    rows = np.arange(v.shape[0])
    # (A + s e_i e_j^T) v = A v + s v[j] e_i
    out = out.astype(np.result_type(out, A.step), copy=False)
    out[rows, A.i] += A.step * v[rows, A.j]
    return out


def input_term(U, x_t: np.ndarray) -> np.ndarray:
    """U x_t for each row: (B,) characters -> column x_t of U (never a one-hot product);
    (B, n) dense input (the layer below's h_t) -> a product. Returns (B, rows of U)."""
    if x_t.dtype.kind not in "iu":
        return matvec(U, x_t)
    if not isinstance(U, Perturbed):
        return U[:, x_t].T
    out = U.array[:, x_t].T.astype(np.result_type(U.array, U.step))  # (B, n_out)
    rows = np.arange(x_t.shape[0])
    # column x_t of (U + s e_i e_j^T) differs from U's only when j == x_t
    out[rows, U.i] += U.step * (U.j == x_t)
    return out


def embed(E, x: np.ndarray) -> np.ndarray:
    """e_t = E[:, x_t] for characters x (B, T): the embedding's columns, (B, T, D)."""
    if not isinstance(E, Perturbed):
        return E[:, x].transpose(1, 2, 0)
    out = E.array[:, x].transpose(1, 2, 0).astype(np.result_type(E.array, E.step))
    rows = np.arange(x.shape[0])
    # column x_t of (E + s e_i e_j^T) differs from E's only when j == x_t
    for t in range(x.shape[1]):
        out[rows, t, E.i] += E.step * (E.j == x[:, t])
    return out


def add_bias(a: np.ndarray, b) -> np.ndarray:
    """a + b for each row: (B, n) + (n,) -> (B, n), a new array."""
    if not isinstance(b, Perturbed):
        return a + b
    out = (a + b.array).astype(np.result_type(a, b.array, b.step), copy=False)
    out[np.arange(a.shape[0]), b.i] += b.step
    return out


def input_term_backward(dU: np.ndarray, U: np.ndarray, x_t: np.ndarray, da: np.ndarray):
    """The backward of input_term for pre-activation gradients da (B, rows): accumulates dU and
    returns dL/dx_t (B, n) for a dense input, None for characters (they have no gradient)."""
    if x_t.dtype.kind in "iu":
        np.add.at(dU.T, x_t, da)  # dU.col(x_t) += da, row by row (two rows may share x_t)
        return None
    dU += da.T @ x_t  # (rows, n)
    return da @ U  # U^T da for each row


def tanh(a: np.ndarray) -> np.ndarray:
    """np.tanh; for complex a, the same function by the addition theorem, 3-5x faster than
    numpy's complex tanh (which dominated complex-step time):

        tanh(x + iy) = (t + i s) / (1 + i t s),  t = tanh x, s = tan y

    written as (t (1 + s^2) + i s sech^2 x) / (1 + t^2 s^2), with sech^2 x = 4e / (1 + e)^2,
    e = exp(-2|x|), which neither overflows nor loses digits as 1 - t^2 does when |x| is large.
    """
    if not np.iscomplexobj(a):
        return np.tanh(a)
    # Contiguous copies: numpy's vectorised tanh, tan and exp skip strided views. Real and
    # imaginary parts are divided separately (a complex division is much slower).
    x, y = np.ascontiguousarray(a.real), np.ascontiguousarray(a.imag)
    t, s = np.tanh(x), np.tan(y)
    e = np.exp(-2.0 * np.abs(x))
    den = 1.0 + (t * s) ** 2
    return t * (1.0 + s * s) / den + 1j * (s * (4.0 * e / ((1.0 + e) ** 2 * den)))


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), as 0.5 + 0.5 tanh(a / 2): the same function, but exp cannot overflow."""
    return 0.5 + 0.5 * tanh(0.5 * a)
