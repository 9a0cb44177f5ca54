"""A model's parameters in numpy, mirroring cpp/core/layout: Params, one flat block with a view
per name of the native layout table (passed in, charrnn._core.layout), the same type for
weights, gradients and optimizer state. Imports nothing native.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from charrnn.spec import ModelSpec

__all__ = ["GATES", "Params"]

GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # rows of a layer's stacked weights per hidden unit


def _read_layout(layout: Sequence[Mapping[str, Any]]) -> tuple[tuple[dict, ...], ModelSpec]:
    """Normalise a layout table and derive its spec; ValueError if it is not a model of the
    family (the shapes are those the equations need, checked here so that a wrong table fails
    with its own message rather than deep inside a product)."""
    entries: tuple[dict[str, Any], ...] = tuple(
        dict(
            name=str(e["name"]),
            role=str(e["role"]),
            layer=int(e["layer"]),
            shape=tuple(int(s) for s in e["shape"]),
            offset=int(e["offset"]),
            size=int(e["size"]),
            init=str(e["init"]),
        )
        for e in layout
    )
    by_role = {(e["role"], e["layer"]): e for e in entries}
    Ws = sorted(layer for role, layer in by_role if role == "W")
    if not Ws or ("V", 0) not in by_role or len(by_role) != len(entries):
        raise ValueError("a layout needs one W per layer, one V and no repeated (role, layer)")
    L = len(Ws)
    m = by_role[("W", 1)]["shape"][-1]
    G = by_role[("W", 1)]["shape"][0] // max(m, 1)
    K = by_role[("V", 0)]["shape"][0]
    cell = {g: c for c, g in GATES.items()}.get(G)
    if cell is None or Ws != list(range(1, L + 1)) or K < 1 or m < 1:
        raise ValueError(
            f"layout: W1 {by_role[('W', 1)]['shape']} is not (G m, m) with G in "
            f"1, 4, 3 (rnn, lstm, gru), or layers are not numbered 1..L"
        )
    expected = {("V", 0): (K, m), ("c", 0): (K,)}
    D = by_role[("E", 0)]["shape"][0] if ("E", 0) in by_role else 0
    if D:
        expected[("E", 0)] = (D, K)
    for l in range(1, L + 1):
        expected[("W", l)] = (G * m, m)
        expected[("U", l)] = (G * m, (D or K) if l == 1 else m)
        expected[("b", l)] = (G * m,)
        if cell == "gru":
            expected[("bn", l)] = (m,)
    got = {key: e["shape"] for key, e in by_role.items()}
    if got != expected:
        raise ValueError(
            f"layout does not match a {L}-layer {cell} with K={K}, m={m}: "
            f"expected {expected}, got {got}"
        )
    offset = 0
    for e in sorted(entries, key=lambda e: e["offset"]):
        if e["offset"] != offset or e["size"] != int(np.prod(e["shape"])):
            raise ValueError(
                f"layout: {e['name']} at offset {e['offset']} size {e['size']} "
                f"does not continue the block at {offset}"
            )
        offset += e["size"]
    return entries, ModelSpec(cell, K, m, L, D)


class Params(Mapping[str, np.ndarray]):
    """All parameters of one model in one flat block, with a view per name, in the layout's order.

    The same type holds weights, gradients and optimizer state (clipping and the update are flat
    loops). params["W1"] and params.W1 are views into params.flat; assigning to a name copies in.
    Carries its layout (the native table) and spec: cell, K, m, layers.

    Args:
        layout: The native layout table (charrnn.layout(K, m, cell=cell, layers=layers)).
        flat: The block to view, (n,), kept without a copy; None: zeros of `dtype`.
        dtype: The dtype of a new block (float64; complex128 for complex step).

    Raises:
        ValueError: A layout that is not a model of the family, or a flat of another length.
        KeyError: params[name] for a name not in the layout.
        AttributeError: params.name for a name not in the layout, or setting one.
    """

    layout: tuple[dict[str, Any], ...]
    """The layout table, normalised (name, role, layer, shape, offset, size, init)."""
    spec: ModelSpec
    """What the layout describes."""
    flat: np.ndarray
    """The whole block, (n,)."""
    _arrays: dict[str, np.ndarray]

    def __init__(
        self,
        layout: Sequence[Mapping[str, Any]],
        flat: npt.ArrayLike | None = None,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        entries, spec = _read_layout(layout)
        size = sum(e["size"] for e in entries)
        # asarray keeps the caller's block (no copy) and its dtype (complex for complex step).
        block = np.zeros(size, dtype) if flat is None else np.asarray(flat)
        if block.shape != (size,):
            raise ValueError(f"flat must have shape ({size},), got {block.shape}")
        object.__setattr__(self, "layout", entries)
        object.__setattr__(self, "spec", spec)
        object.__setattr__(self, "flat", block)
        object.__setattr__(
            self,
            "_arrays",
            {
                e["name"]: block[e["offset"] : e["offset"] + e["size"]].reshape(e["shape"])
                for e in entries
            },
        )

    # --- constructors
    @classmethod
    def zeros(
        cls, layout: Sequence[Mapping[str, Any]], dtype: npt.DTypeLike = np.float64
    ) -> Params:
        """All-zero parameters of a layout (float64 by default; complex128 for complex step)."""
        return cls(layout, dtype=dtype)

    @classmethod
    def random(
        cls,
        layout: Sequence[Mapping[str, Any]],
        *,
        sig: float = 0.01,
        seed: int = 0,
        forget_bias: float = 1.0,
    ) -> Params:
        """Each array drawn by its init kind, in layout order, from numpy's default_rng(seed):
        normal N(0, sig^2); uniform U(-1/sqrt(m), 1/sqrt(m)); unit_normal N(0, 1) (the
        embedding); zeros; forget_bias (zeros, but `forget_bias` for rows m..2m, the LSTM's
        forget gate). The vanilla model is thus W, U, V ~ N(0, sig^2)
        drawn in that order, biases 0."""
        params = cls(layout)
        rng = np.random.default_rng(seed)
        m = params.m
        for e in params.layout:
            theta = params[e["name"]]
            if e["init"] == "normal":
                theta[...] = rng.normal(0.0, sig, size=e["shape"])
            elif e["init"] == "uniform":
                theta[...] = rng.uniform(-1.0 / np.sqrt(m), 1.0 / np.sqrt(m), size=e["shape"])
            elif e["init"] == "unit_normal":
                theta[...] = rng.normal(0.0, 1.0, size=e["shape"])
            elif e["init"] == "forget_bias":
                theta[m : 2 * m] = forget_bias
            elif e["init"] != "zeros":
                raise ValueError(f"{e['name']}: unknown init kind {e['init']!r}")
        return params

    @classmethod
    def from_native(cls, native: Any) -> Params:
        """A float64 copy of any params object with .layout and an array attribute per name
        (the native core's Params)."""
        params = cls(native.layout)
        for name in params:
            params[name] = np.asarray(getattr(native, name), dtype=np.float64)
        return params

    def copy(self) -> Params:
        """An independent copy."""
        return Params(self.layout, self.flat.copy())

    def astype(self, dtype: npt.DTypeLike) -> Params:
        """A copy in another dtype (complex128 for complex-step derivatives)."""
        return Params(self.layout, self.flat.astype(dtype))

    # --- the mapping: name -> view, in layout order
    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __setitem__(self, name: str, value: npt.ArrayLike) -> None:
        target = self._arrays[name]
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{name} has shape {target.shape}, got {value.shape}")
        target[...] = value

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or parameter {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._arrays:
            self[name] = value
        else:
            raise AttributeError(f"cannot set {name!r}: not a parameter of this model")

    __eq__ = object.__eq__  # Mapping's would compare arrays elementwise
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"Params({s.cell}, K={s.K}, m={s.m}, layers={s.layers}, "
            f"dtype={self.flat.dtype}, names={list(self)})"
        )

    # --- the spec
    @property
    def cell(self) -> str:
        """'rnn', 'lstm' or 'gru'."""
        return self.spec.cell

    @property
    def K(self) -> int:
        """Vocabulary size."""
        return self.spec.K

    @property
    def m(self) -> int:
        """Hidden units per layer."""
        return self.spec.m

    @property
    def layers(self) -> int:
        """Number of layers L."""
        return self.spec.layers

    @property
    def embedding(self) -> int:
        """D, the embedding's width; 0: none."""
        return self.spec.embedding

    @property
    def names(self) -> list[str]:
        """The array names in layout order."""
        return list(self._arrays)

    def roles(self, layer: int) -> dict[str, str]:
        """role -> name of the arrays of one layer (0: the output layer's V and c)."""
        return {e["role"]: e["name"] for e in self.layout if e["layer"] == layer}
