"""What `charrnn inspect` measures, computed streaming over a long text: the native forward-only
pass (_core.inspect_forward) run in chunks with the state carried, and per unit the running
sums behind its correlation with simple features of the text, the contexts where it fires most
and how often its gates saturate. Memory grows with the model and the kept window, not with the
text. Not here: the page (page.py) or the command line (cli.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charrnn import _core
from charrnn.spec import ModelSpec

# The characters a chunk of the native pass covers; the state is carried between chunks.
CHUNK = 1024
# Features of the text each unit is correlated with (text_features), in this order.
FEATURES = (
    "inside quotes",
    "bracket depth",
    "position in line",
    "after a newline",
    "letter",
    "upper case",
    "digit",
    "space",
    "punctuation",
    "position in word",
)
# Gates whose saturation the page plots, by cell (index into the native gate axis).
GATE_NAMES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update")}
GATE_INDEX = {"lstm": (0, 1, 3), "gru": (0, 1)}
# A gate value below LOW is left-saturated, above HIGH right-saturated (Karpathy et al. 2015).
LOW, HIGH = 0.1, 0.9
# Characters of context either side of a unit's top activation.
CONTEXT = 24


def encode_text(vocab: Any, text: str) -> tuple[np.ndarray, str, Counter]:
    """The text's characters that the vocabulary has, as indices (int32), and that text; the
    others are skipped and counted (Counter by character)."""
    index = {ch: i for i, ch in enumerate(vocab.chars)}
    unknown = Counter(ch for ch in text if ch not in index)
    kept = "".join(ch for ch in text if ch in index) if unknown else text
    return np.fromiter((index[ch] for ch in kept), np.int32, len(kept)), kept, unknown


def describe_unknown(unknown: Counter, limit: int = 10) -> str:
    """'3 characters outside the vocabulary (2 distinct: 'é' ×2, '€'), skipped'."""
    shown = ", ".join(
        f"{ch!r}" + (f" ×{n}" if n > 1 else "") for ch, n in unknown.most_common(limit)
    )
    more = ", ..." if len(unknown) > limit else ""
    total = sum(unknown.values())
    return (
        f"{total:,} character{'s' if total != 1 else ''} outside the model's vocabulary "
        f"({len(unknown)} distinct: {shown}{more}) skipped"
    )


def text_features(text: str) -> np.ndarray:
    """(N, F) float32: FEATURES of each character of text, as the network has read it (the
    state after reading character t is compared with the features at t)."""
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    n = len(codes)
    pos = np.arange(n)
    chars = np.array(list(text)) if n else np.array([], dtype="<U1")
    letter = np.char.isalpha(chars) if n else np.zeros(0, bool)
    upper = np.char.isupper(chars) if n else np.zeros(0, bool)
    digit = np.char.isdigit(chars) if n else np.zeros(0, bool)
    space = np.char.isspace(chars) if n else np.zeros(0, bool)
    punct = ~(letter | digit | space)
    newline = codes == 10
    quotes = np.cumsum(codes == ord('"')) % 2 == 1
    opening = np.isin(codes, [ord("("), ord("["), ord("{")])
    closing = np.isin(codes, [ord(")"), ord("]"), ord("}")])
    depth = np.maximum(np.cumsum(opening.astype(np.int64) - closing), 0)
    last_newline = np.maximum.accumulate(np.where(newline, pos, -1))
    line_position = pos - last_newline - 1  # 0 at the line's first character
    line_position[newline] = 0
    last_gap = np.maximum.accumulate(np.where(letter, -1, pos))
    word_position = np.where(letter, pos - last_gap, 0)
    out = np.stack(
        [quotes, depth, line_position, newline, letter, upper, digit, space, punct, word_position],
        axis=1,
    )
    return out.astype(np.float32)


def float32_params(params: Any) -> Any:
    """A float32 copy of native params: the page's pass runs in float32, about twice as fast
    (its numbers are shown to 3 digits and 8-bit activations)."""
    out = ModelSpec.from_dict(params.spec).params("float32")
    out.flat[:] = params.flat
    return out


def trace(
    params: Any,
    codes: np.ndarray,
    *,
    chunk: int = CHUNK,
    top_k: int = 5,
    gates: bool = True,
    threads: int = 1,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The native pass over codes (predicting codes[t + 1] from codes[: t + 1]) in chunks from a
    zero state, the state carried: (offset, inspect_forward's dict) per chunk."""
    h = c = None
    for start in range(0, len(codes) - 1, chunk):
        end = min(start + chunk, len(codes) - 1)
        part = _core.inspect_forward(
            params,
            codes[start:end],
            codes[start + 1 : end + 1],
            h,
            c,
            top_k=top_k,
            gates=gates,
            threads=threads,
        )
        h, c = part["h_last"], part["c_last"]
        yield start, part


def inspect_arrays(params: Any, codes: np.ndarray, *, top_k: int = 5, gates: bool = True):
    """trace() joined over the whole text: every position's arrays (see Model.inspect)."""
    parts = [part for _, part in trace(params, codes, top_k=top_k, gates=gates)]
    out: dict[str, Any] = {}
    for key, axis in (("hs", 1), ("cs", 1), ("gates", 2), ("top_index", 0), ("top_p", 0)):
        out[key] = None if parts[0][key] is None else np.concatenate([p[key] for p in parts], axis)
    for key in ("loss", "entropy", "rank"):
        out[key] = np.concatenate([p[key] for p in parts])
    return out


@dataclass
class Statistics:
    """Running sums over the positions seen so far, per layer l, kind (h; c for lstm) and unit:
    everything the page's unit table, top contexts and saturation plots need."""

    cell: str
    layers: int
    m: int
    features: int = len(FEATURES)
    top: int = 4
    n: int = 0
    nats: float = 0.0
    kinds: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        L, m, F = self.layers, self.m, self.features
        self.kinds = ("h", "c") if self.cell == "lstm" else ("h",)
        k = len(self.kinds)
        self.sx = np.zeros((L, k, m))  # sum a
        self.sxx = np.zeros((L, k, m))  # sum a^2
        self.sxf = np.zeros((L, k, m, F))  # sum a f
        self.sf = np.zeros(F)
        self.sff = np.zeros(F)
        self.top_value = np.full((L, m, self.top), -np.inf)  # h's largest values
        self.top_position = np.zeros((L, m, self.top), np.int64)
        G = len(GATE_INDEX.get(self.cell, ()))
        self.low = np.zeros((L, G, m), np.int64)  # gate < LOW
        self.high = np.zeros((L, G, m), np.int64)  # gate > HIGH
        self.saturated = np.zeros((L, m), np.int64)  # rnn: |h| > HIGH

    def update(self, offset: int, part: dict[str, Any], features: np.ndarray) -> None:
        """Add one chunk: part from inspect_forward for positions offset .., features (T, F)."""
        T = len(part["loss"])
        f = features.astype(np.float64)
        self.n += T
        self.nats += float(part["loss"].sum())
        self.sf += f.sum(0)
        self.sff += (f * f).sum(0)
        for k, kind in enumerate(self.kinds):
            acts = part["hs"] if kind == "h" else part["cs"]
            for l in range(self.layers):
                a = acts[l].astype(np.float64)  # (T, m)
                self.sx[l, k] += a.sum(0)
                self.sxx[l, k] += (a * a).sum(0)
                self.sxf[l, k] += a.T @ f
        for l in range(self.layers):
            a = part["hs"][l]  # (T, m)
            # Only values above a unit's current last place can enter its top list: after the
            # first chunks these are few, so the merge is over a handful of candidates.
            rows, units = np.nonzero(a > self.top_value[l, :, -1])
            if len(rows):
                for u in np.unique(units):
                    pick = rows[units == u]
                    values = np.concatenate([self.top_value[l, u], a[pick, u]])
                    positions = np.concatenate([self.top_position[l, u], pick + offset])
                    keep = np.argsort(-values, kind="stable")[: self.top]
                    self.top_value[l, u] = values[keep]
                    self.top_position[l, u] = positions[keep]
            if self.cell == "rnn":
                self.saturated[l] += (np.abs(a) > HIGH).sum(0)
        if part["gates"] is not None:
            for g, index in enumerate(GATE_INDEX[self.cell]):
                gate = part["gates"][:, index]  # (L, T, m)
                self.low[:, g] += (gate < LOW).sum(1)
                self.high[:, g] += (gate > HIGH).sum(1)

    def correlations(self) -> np.ndarray:
        """Pearson's r of every unit with every feature, (L, kinds, m, F); 0 where a unit or a
        feature does not vary."""
        n = max(self.n, 1)
        mean_a, mean_f = self.sx / n, self.sf / n
        cov = self.sxf / n - mean_a[..., None] * mean_f
        var_a = np.maximum(self.sxx / n - mean_a**2, 0)
        var_f = np.maximum(self.sff / n - mean_f**2, 0)
        denom = np.sqrt(var_a[..., None] * var_f)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denom > 1e-12, cov / np.where(denom > 0, denom, 1), 0.0)
        return np.clip(r, -1, 1)

    def varies(self) -> np.ndarray:
        """(F,) whether each feature takes more than one value over the positions seen."""
        n = max(self.n, 1)
        return self.sff / n - (self.sf / n) ** 2 > 1e-12

    def fractions(self) -> dict[str, np.ndarray]:
        """Saturation as fractions of the positions: low/high (L, G, m), or rnn's |h| > 0.9."""
        n = max(self.n, 1)
        if self.cell == "rnn":
            return {"saturated": self.saturated / n}
        return {"low": self.low / n, "high": self.high / n}


def _mean_loss(params: Any, codes: np.ndarray, length: int, stretches: int) -> np.ndarray:
    """The loss at offsets 1 .. length, averaged over `stretches` evenly spaced stretches of
    the text, each read from a zero state."""
    starts = np.unique(np.linspace(0, len(codes) - 1 - length, stretches).astype(np.int64))
    total = np.zeros(length)
    for s in starts:
        part = _core.inspect_forward(
            params, codes[s : s + length], codes[s + 1 : s + 1 + length], top_k=1, gates=False
        )
        total += part["loss"]
    return total / len(starts)


def context_curve(
    params: Any, codes: np.ndarray, length: int = 300, short: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Bits per character against the characters read since a zeroed state, offsets 1 ..
    length: the first `short` offsets averaged over 192 stretches of the text (one offset is
    one point, so it needs many), the rest over 32 stretches of `length`, then averaged in bins
    evenly spaced on a log scale. Returns (offsets, bits) (a bin's geometric middle), empty
    for a text under 2 characters."""
    length = min(length, len(codes) - 1)
    if length < 1:
        return np.zeros(0), np.zeros(0)
    short = min(short, length)
    nats = _mean_loss(params, codes, length, 32)
    nats[:short] = _mean_loss(params, codes, short, 192)
    bits = nats / math.log(2)
    edges = np.unique(np.round(np.geomspace(1, length + 1, 40)).astype(np.int64))
    x, y = [], []
    for a, b in zip(edges[:-1], edges[1:]):  # offsets a .. b - 1
        x.append(math.sqrt(a * (b - 1)))
        y.append(bits[a - 1 : b - 1].mean())
    return np.array(x), np.array(y)


def analyse(
    params: Any,
    codes: np.ndarray,
    text: str,
    *,
    window: int,
    top_k: int = 5,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One pass over codes: the statistics over all of it, and every array of the first
    `window` positions (for the page). progress(n) is called with the positions done."""
    spec = params.spec
    stats = Statistics(spec["cell"], spec["layers"], spec["m"])
    features = text_features(text)
    kept: dict[str, list] = {}
    for offset, part in trace(params, codes, top_k=top_k):
        T = len(part["loss"])
        stats.update(offset, part, features[offset : offset + T])
        if offset < window:
            w = min(T, window - offset)
            for key, axis in (("hs", 1), ("cs", 1), ("top_index", 0), ("top_p", 0)):
                if part[key] is not None:
                    kept.setdefault(key, []).append(
                        part[key][:, :w] if axis == 1 else part[key][:w]
                    )
            for key in ("loss", "entropy", "rank"):
                kept.setdefault(key, []).append(part[key][:w])
        if progress is not None:
            progress(offset + T)
    arrays = {
        key: np.concatenate(parts, axis=1 if key in ("hs", "cs") else 0)
        for key, parts in kept.items()
    }
    return {"stats": stats, "window": arrays}
