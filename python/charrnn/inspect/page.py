"""The `charrnn inspect` page: one self-contained HTML file. The numbers (analysis.py) are packed
as typed arrays (deflate, base64) in a JSON block, activations quantised to 8 bits with a scale
per unit, the model's weights embedded when it is small enough for the page to run it; the
script and style come from assets/ and are inlined. A Content-Security-Policy forbids every
outside load. Not here: the statistics (analysis.py) or the command line (cli.py).
"""

from __future__ import annotations

import base64
import html
import json
import math
import zlib
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from charrnn.inspect import analysis

# Models up to this many parameters carry their weights (float32 up to FLOAT32_UP_TO, float16
# above) so the page can run them; larger ones show the recorded text only.
WEIGHTS_UP_TO = 1_200_000
FLOAT32_UP_TO = 200_000
# The default window (DEFAULT_WINDOW characters) shrinks until the page fits DEFAULT_BYTES; a
# window given shrinks, with a warning, only above MAX_BYTES.
DEFAULT_WINDOW = 3000
DEFAULT_BYTES = 5_000_000
MAX_BYTES = 20_000_000
TEMPERATURES = (0.5, 0.8, 1.0, 1.2)
SAMPLE_LENGTH = 300
CONTEXT_LENGTH = 300
TOP_K = 5
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)


def pack(a: np.ndarray, dtype: str) -> dict[str, Any]:
    """An array for the page: {'dtype', 'shape', 'b64'} of its bytes deflated."""
    raw = np.ascontiguousarray(a, dtype=dtype).tobytes()
    return {
        "dtype": dtype,
        "shape": list(np.shape(a)),
        "b64": base64.b64encode(zlib.compress(raw, 6)).decode("ascii"),
    }


def quantise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, m) activations as int8 with a scale per unit: a ~ q * scale, |q| <= 127."""
    scale = np.abs(a).max(axis=0).astype(np.float64) / 127
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(a / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def weights_for_page(params: Any) -> dict[str, Any] | None:
    """The arrays by name (layout order) for the page's forward pass, or None when too big."""
    n = int(params.flat.size)
    if n > WEIGHTS_UP_TO:
        return None
    dtype = "float32" if n <= FLOAT32_UP_TO else "float16"
    return {
        "dtype": dtype,
        "arrays": {e["name"]: pack(np.asarray(params[e["name"]]), dtype) for e in params.layout},
        "layout": [
            {"name": e["name"], "role": e["role"], "layer": e["layer"], "shape": list(e["shape"])}
            for e in params.layout
        ],
    }


def samples(model: Any, seed: int = 0) -> list[dict[str, Any]]:
    """Text drawn at each of TEMPERATURES, with the probability the model (at temperature 1)
    gave each drawn character."""
    out = []
    for i, temperature in enumerate(TEMPERATURES):
        text = model.sample(SAMPLE_LENGTH, temperature=temperature, seed=seed + i)
        full = model.start + text
        codes, _, _ = analysis.encode_text(model.vocab, full)
        part = next(
            p for _, p in analysis.trace(model.params, codes, chunk=len(codes), gates=False)
        )
        p = np.exp(-part["loss"])
        out.append(
            {
                "temperature": temperature,
                "text": text,
                "p": [round(float(v), 3) for v in p],
            }
        )
    return out


def unit_table(
    r: np.ndarray, kinds: tuple[str, ...], varies: np.ndarray, best: int = 6
) -> list[dict[str, Any]]:
    """For each feature, the units with the largest |r| (layer 1-based, kind, unit, r); none
    for a feature that does not vary in the text."""
    L, k, m, F = r.shape
    rows: list[dict[str, Any]] = []
    for f, name in enumerate(analysis.FEATURES):
        if not varies[f]:
            rows.append({"feature": name, "units": []})
            continue
        flat = np.abs(r[..., f]).ravel()
        order = np.argsort(-flat, kind="stable")[:best]
        units = []
        for index in order:
            l, ki, u = np.unravel_index(index, (L, k, m))
            units.append(
                {
                    "layer": int(l) + 1,
                    "kind": kinds[ki],
                    "unit": int(u),
                    "r": round(float(r[l, ki, u, f]), 3),
                }
            )
        rows.append({"feature": name, "units": units})
    return rows


def contexts(stats: analysis.Statistics, text: str) -> list[list[list[list[Any]]]]:
    """[layer][unit] -> the top contexts of h as [before, character, after] strings."""
    out = []
    for l in range(stats.layers):
        layer = []
        for u in range(stats.m):
            items: list[list[Any]] = []
            for v, p in zip(stats.top_value[l, u], stats.top_position[l, u]):
                if not np.isfinite(v):
                    continue
                p = int(p)
                items.append(
                    [
                        text[max(0, p - analysis.CONTEXT) : p],
                        text[p],
                        text[p + 1 : p + 1 + analysis.CONTEXT // 2],
                        round(float(v), 3),
                    ]
                )
            layer.append(items)
        out.append(layer)
    return out


def page_data(
    model: Any,
    text: str,
    codes: np.ndarray,
    result: dict[str, Any],
    *,
    name: str,
    window: int,
    unknown: str | None,
) -> dict[str, Any]:
    """The JSON block of the page for the first `window` positions of the analysed text."""
    stats: analysis.Statistics = result["stats"]
    arrays = result["window"]
    spec = model.params.spec  # the native dict: cell, K, m, layers, embedding
    W = min(window, len(arrays["loss"]))
    acts: dict[str, Any] = {}
    for kind, key in (("h", "hs"), ("c", "cs")):
        if key not in arrays:
            continue
        for l in range(spec["layers"]):
            q, scale = quantise(arrays[key][l, :W])
            acts[f"{kind}{l + 1}"] = {
                "q": pack(q, "int8"),
                "scale": [float(f"{s:.6g}") for s in scale],
            }
    index_dtype = "uint8" if spec["K"] <= 256 else "uint16"
    r = stats.correlations()
    curve_x, curve_bits = result["context"]
    full_bits = stats.nats / max(stats.n, 1) / math.log(2)
    return {
        "model": {
            "cell": spec["cell"],
            "layers": spec["layers"],
            "m": spec["m"],
            "K": spec["K"],
            "embedding": spec.get("embedding", 0),
            "params": model.n_params,
            "describe": model.describe(),
        },
        "name": name,
        "chars": int(len(codes)),
        "bits_per_char": full_bits,
        "unknown": unknown,
        "vocab": list(model.vocab.chars),
        "text": text[: W + 1],
        "window": W,
        "kinds": list(stats.kinds),
        "acts": acts,
        "top_index": pack(arrays["top_index"][:W], index_dtype),
        "top_p": pack(arrays["top_p"][:W], "float32"),
        "loss": pack(arrays["loss"][:W], "float32"),
        "entropy": pack(arrays["entropy"][:W], "float32"),
        "rank": pack(np.minimum(arrays["rank"][:W], 65535), "uint16"),
        "features": list(analysis.FEATURES),
        "units": unit_table(r, stats.kinds, stats.varies()),
        "r": np.round(r, 3).tolist(),
        "contexts": contexts(stats, text),
        "saturation": {
            "gates": list(analysis.GATE_NAMES.get(spec["cell"], ())),
            **{k: np.round(v, 4).tolist() for k, v in stats.fractions().items()},
        },
        "context": {
            "x": [round(float(v), 2) for v in curve_x],
            "bits": [round(float(b), 4) for b in curve_bits],
            "full": full_bits,
        },
        "samples": result["samples"],
        "weights": weights_for_page(model.params),
        "start": model.start,
    }


def asset(name: str) -> str:
    """The text of assets/NAME, installed with the package."""
    return resources.files("charrnn.inspect").joinpath("assets").joinpath(name).read_text("utf-8")


def render(data: dict[str, Any]) -> str:
    """The HTML file: assets/page.html with the style, the script and the data inlined."""
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    title = f"charrnn inspect: {data['model']['describe']} on {data['name']}"
    return (
        asset("page.html")
        .replace("%CSP%", CSP)
        .replace("%TITLE%", html.escape(title))
        .replace("/*%CSS%*/", asset("page.css"))
        .replace("%DATA%", blob)
        .replace("/*%JS%*/", asset("page.js"))
    )


def build(
    model: Any,
    text: str,
    *,
    name: str,
    max_chars: int = 100_000,
    window: int | None = None,
    progress: Callable[[int], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The page for a model on a text: (html, info), info holding what a caller reports
    (chars, window, bytes, bits_per_char, unknown).

    Raises:
        ValueError: An empty text, one with fewer than 2 characters the model knows, or a
            window (given) larger than the text.
    """
    if not text:
        raise ValueError("the text is empty")
    codes, kept, unknown = analysis.encode_text(model.vocab, text[:max_chars])
    note = analysis.describe_unknown(unknown) if unknown else None
    if note and warn:
        warn(note)
    if len(codes) < 2:
        raise ValueError(
            f"the text has {len(codes)} character(s) the model knows; inspecting needs at "
            f"least 2 (one to read, one to predict)"
        )
    if window is not None and window > len(codes) - 1:
        raise ValueError(
            f"--window {window} is larger than the text ({len(codes) - 1:,} predictions)"
        )
    given = window is not None
    window = min(window or DEFAULT_WINDOW, len(codes) - 1)
    params32 = analysis.float32_params(model.params)
    result = analysis.analyse(params32, codes, kept, window=window, progress=progress)
    result["context"] = analysis.context_curve(model.params, codes, CONTEXT_LENGTH)
    result["samples"] = samples(model)
    budget = MAX_BYTES if given else DEFAULT_BYTES
    while True:
        data = page_data(model, kept, codes, result, name=name, window=window, unknown=note)
        page = render(data)
        size = len(page.encode("utf-8"))
        if size <= budget or window <= 100:
            break
        # The window's share of the page is about proportional to its length.
        per_char = sum(len(a["q"]["b64"]) for a in data["acts"].values()) / window + 40
        smaller = max(100, min(window - 1, int(window - (size - 0.98 * budget) / per_char)))
        if given and warn:
            warn(
                f"the page would be {size / 1e6:.1f} MB; the window shrinks from "
                f"{window:,} to {smaller:,} characters"
            )
        window = smaller
    info = {
        "chars": int(len(codes)),
        "window": window,
        "bytes": size,
        "bits_per_char": data["bits_per_char"],
        "unknown": note,
    }
    return page, info
