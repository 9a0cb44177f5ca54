"""The two small types every part of charrnn shares: ModelSpec, what a model is (cell, K, m,
layers, embedding), and Evaluation, how well it predicts a text. TrainConfig makes the spec of
the model it trains, Model and the numpy reference's Params carry one, checkpoints store it; every
evaluation (Model.evaluate, Trainer.evaluate_validation, the run loop's validation) returns an
Evaluation.

Not here: the parameter layout itself (the native core's layout table, charrnn.layout) or the
file format (checkpoint.py). This module imports no compiled code, so the reference uses it too.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

CELLS = ("rnn", "lstm", "gru")
"""The recurrent cells, as the native core names them (charrnn._core.CELLS)."""


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


@dataclass(frozen=True)
class ModelSpec:
    """What a model is: its cell, vocabulary size, width and depth, and whether it reads
    characters through an embedding. Its parameters follow from it (`layout()`).

    Examples:
        >>> spec = ModelSpec("lstm", K=65, m=128, layers=2)
        >>> spec.describe()
        '2-layer LSTM, m = 128'

    Raises:
        ValueError: On construction, a field of the wrong type or out of range (named).
    """

    cell: str
    """'rnn' (the assignment's vanilla RNN), 'lstm' or 'gru'."""
    K: int
    """Vocabulary size: the number of distinct characters."""
    m: int
    """Hidden units per layer."""
    layers: int = 1
    """Stacked layers L, each of m units."""
    embedding: int = 0
    """D, the width of the embedding table E (D, K) that layer 1 reads; 0: one-hot characters."""

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("K", "m", "layers"):
            if not _whole(getattr(self, name), 1):
                raise ValueError(f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        if not _whole(self.embedding, 0):
            raise ValueError(f"embedding must be a whole number >= 0, got {self.embedding!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        """The spec of a mapping with the keys cell, K, m, layers and (optionally: 0) embedding;
        other keys are ignored (a checkpoint's spec also names its dtype, a native Params'
        spec is this dict)."""
        missing = [k for k in ("cell", "K", "m", "layers") if k not in values]
        if missing:
            raise ValueError(f"a model spec needs {', '.join(missing)}")
        return cls(
            values["cell"], values["K"], values["m"], values["layers"], values.get("embedding", 0)
        )

    def to_dict(self) -> dict[str, Any]:
        """{'cell', 'K', 'm', 'layers', 'embedding'}: what a checkpoint stores."""
        return asdict(self)

    def layout(self) -> list[dict[str, Any]]:
        """The parameter layout of this model: the native core's table (name, role, layer,
        shape, offset, size, init), charrnn.layout."""
        from charrnn import _core

        return _core.layout(self.cell, self.K, self.m, self.layers, embedding=self.embedding)

    def params(self, dtype: str = "float64") -> Any:
        """All-zero native parameters of this model: charrnn.Params (float64) or Params32."""
        from charrnn import _core

        kind = {"float64": _core.Params, "float32": _core.Params32}.get(dtype)
        if kind is None:
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        return kind(self.K, self.m, cell=self.cell, layers=self.layers, embedding=self.embedding)

    def describe(self) -> str:
        """A few words: '2-layer LSTM, m = 128' (', embedding 64' when there is one)."""
        kind = "vanilla RNN" if self.cell == "rnn" else self.cell.upper()
        embedding = f", embedding {self.embedding}" if self.embedding else ""
        return f"{self.layers}-layer {kind}, m = {self.m}{embedding}"

    def __getitem__(self, key: str) -> Any:
        """spec['m'] as charrnn 0.2's dict spec allowed; deprecated, write spec.m."""
        warnings.warn(
            f"a model spec is a ModelSpec now: write spec.{key}, not spec[{key!r}]",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_dict()[key]


# exp overflows past 709 nats (a model with huge weights): the perplexity is then inf.
_MAX_EXP = 709.0

# charrnn 0.2 returned dicts with these keys; Evaluation[key] still reads them (deprecated).
_OLD_KEYS = {
    "nats_per_char": "nats",
    "bits_per_char": "bits",
    "perplexity": "perplexity",
    "chars": "characters",
    "documents": "documents",
}


@dataclass(frozen=True)
class Evaluation:
    """How well a model predicts a text: the mean loss over its predictions, from a zero state.

    Examples:
        >>> e = Evaluation(nats=1.5, characters=1000)
        >>> round(e.bits, 4), round(e.perplexity, 3)
        (2.164, 4.482)
    """

    nats: float
    """The mean loss per predicted character, in nats: -mean log p[next character]."""
    characters: int
    """The number of predictions (a text of n characters makes n - 1; with documents each
    document's end symbol counts as one)."""
    documents: int | None = None
    """How many documents the text held when read as one per line, else None."""

    @property
    def bits(self) -> float:
        """The mean loss per character in bits (nats / ln 2)."""
        return self.nats / math.log(2)

    @property
    def perplexity(self) -> float:
        """exp(nats): the number of equally likely characters that would be as surprising
        (inf for a loss past 709 nats)."""
        return math.exp(self.nats) if self.nats < _MAX_EXP else math.inf

    def to_dict(self) -> dict[str, Any]:
        """nats, bits, perplexity, characters and (if any) documents, by name."""
        out = {
            "nats": self.nats,
            "bits": self.bits,
            "perplexity": self.perplexity,
            "characters": self.characters,
        }
        if self.documents is not None:
            out["documents"] = self.documents
        return out

    def __getitem__(self, key: str) -> Any:
        """result['bits_per_char'] as charrnn 0.2's dict allowed; deprecated, write
        result.bits (nats_per_char: .nats, chars: .characters)."""
        if key not in _OLD_KEYS or (key == "documents" and self.documents is None):
            raise KeyError(key)
        warnings.warn(
            f"an evaluation is an Evaluation now: write result.{_OLD_KEYS[key]}, not "
            f"result[{key!r}]",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, _OLD_KEYS[key])
