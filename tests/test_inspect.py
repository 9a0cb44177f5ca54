"""`charrnn inspect` without a browser: the features of the text, the streaming statistics
against the same numbers computed at once, Model.inspect, the page's static properties (no
outside load, the size budget, its assets installed) and the command's one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from importlib import resources

import numpy as np
import pytest
from charrnn import _core
from charrnn.inspect import analysis, page
from charrnn.model import Model

FAST = ["--seq-length", "16", "--quiet", "--no-gradcheck", "--sample-every", "1000"]


def charrnn(*args):
    return subprocess.run(
        [sys.executable, "-m", "charrnn", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_text):
    """A short run of each cell on a few thousand characters (10% held out): name -> folder."""
    root = tmp_path_factory.mktemp("inspect_runs")
    text = root / "small.txt"
    text.write_text(small_text, encoding="utf-8")
    out = {}
    for cell, layers in (("rnn", 1), ("lstm", 2), ("gru", 1)):
        folder = root / cell
        args = ["--cell", cell, "--layers", layers, "--m", 16, "--val-frac", 0.1]
        result = charrnn("train", text, "--steps", 60, "--out", folder, *args, *FAST)
        assert result.returncode == 0, result.stderr
        out[cell] = folder
    out["text"] = text
    return out


def test_text_features():
    f = analysis.text_features('ab "c(d)"\nE1 ')
    names = analysis.FEATURES
    col = {n: f[:, i] for i, n in enumerate(names)}
    np.testing.assert_array_equal(col["inside quotes"], [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(col["bracket depth"], [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(col["position in line"], [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 1, 2])
    np.testing.assert_array_equal(col["after a newline"], [0] * 9 + [1, 0, 0, 0])
    np.testing.assert_array_equal(col["position in word"], [1, 2, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(col["digit"], [0] * 11 + [1, 0])
    np.testing.assert_array_equal(col["upper case"], [0] * 10 + [1, 0, 0])


def test_streaming_statistics_equal_the_whole(runs, small_text):
    """Correlations, top contexts and saturation accumulated chunk by chunk (chunks of 100)
    equal numpy's on the whole arrays."""
    model = Model.load(runs["lstm"] / "best.npz")
    codes, kept, _ = analysis.encode_text(model.vocab, small_text[:1500])
    feats = analysis.text_features(kept)
    stats = analysis.Statistics("lstm", 2, 16)
    for offset, part in analysis.trace(model.params, codes, chunk=100):
        stats.update(offset, part, feats[offset : offset + len(part["loss"])])
    whole = model.inspect(kept)
    n = len(codes) - 1
    assert stats.n == n
    r = stats.correlations()
    for l in range(2):
        for k, key in enumerate(("hs", "cs")):
            for f in (1, 2, 4, 7):  # features that vary in this text
                expected = [np.corrcoef(whole[key][l, :, u], feats[:n, f])[0, 1] for u in range(16)]
                np.testing.assert_allclose(r[l, k, :, f], expected, atol=1e-9, err_msg=f"r {l} {k}")
        top = np.sort(whole["hs"][l], axis=0)[::-1][: stats.top].T
        np.testing.assert_array_equal(stats.top_value[l], top, err_msg="top values")
    gates = whole["gates"][:, [0, 1, 3]]  # i f o
    np.testing.assert_array_equal(stats.low, (gates < 0.1).sum(2))
    np.testing.assert_array_equal(stats.high, (gates > 0.9).sum(2))
    assert stats.nats == pytest.approx(whole["loss"].sum(), rel=1e-12)


def test_model_inspect(runs):
    model = Model.load(runs["gru"] / "best.npz")
    got = model.inspect("To be, or not to be€€ that\n", top_k=3)
    assert got["unknown"] == Counter({"€": 2})
    n = len(got["text"]) - 1
    assert got["hs"].shape == (1, n, 16) and got["cs"] is None
    assert got["gates"].shape == (1, 3, n, 16)
    assert got["top_index"].shape == (n, 3)
    codes = model.vocab.encode(got["text"])
    ref = _core.forward_backward(model.params, codes[:-1], codes[1:])
    np.testing.assert_array_equal(got["hs"][0], ref.hs)
    with pytest.raises(ValueError, match="at least 2"):
        model.inspect("€")


def test_quantise_keeps_every_unit_to_its_scale():
    a = np.random.default_rng(0).normal(0, 1, (50, 7)) * np.arange(1, 8)
    q, scale = page.quantise(a)
    assert q.dtype == np.int8 and scale.shape == (7,)
    assert np.abs(q * scale - a).max(axis=0).max() <= scale.max() / 2 * 1.0001


def test_assets_are_package_data():
    files = resources.files("charrnn.inspect").joinpath("assets")
    for name in ("page.html", "page.js", "page.css"):
        assert files.joinpath(name).is_file(), name


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_page_is_self_contained(runs, cell, tmp_path):
    out = tmp_path / "page.html"
    result = charrnn("inspect", runs[cell], runs["text"], "--out", out)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    html = out.read_text(encoding="utf-8")
    # No outside load: no src or href with a scheme, no external script or stylesheet.
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert "<link" not in html and "<script src" not in html
    assert "default-src 'none'" in html
    assert len(html.encode()) < 5_000_000
    for view in ("text-view", "units-view", "span-view", "gates-view", "context-view"):
        assert f'id="{view}"' in html
    # By default the run's validation part (the last 10% of the text).
    default = runs[cell] / "inspect.html"
    assert charrnn("inspect", runs[cell], "--quiet").returncode == 0
    assert "validation part" in default.read_text(encoding="utf-8")


@pytest.mark.slow
def test_train_inspect_writes_the_page(tmp_path, runs):
    args = ["--m", 8, "--steps", 20, "--inspect", "--out", tmp_path / "run", *FAST]
    result = charrnn("train", runs["text"], *args)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "inspect.html").is_file()
    assert (tmp_path / "run" / "report.md").is_file()


@pytest.mark.slow
def test_errors_are_one_line(runs, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes((runs["rnn"] / "best.npz").read_bytes()[:500])
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("To be €or not ¥to be, that is the question€\n" * 5, encoding="utf-8")
    short = tmp_path / "short.txt"
    short.write_text("To be, or not to be", encoding="utf-8")
    ckpt = runs["rnn"]
    cases = [
        (["inspect", tmp_path / "missing.npz"], "missing.npz"),
        (["inspect", damaged], "damaged.npz"),
        (["inspect", ckpt, empty], "empty"),
        (["inspect", ckpt, short, "--window", 500], "--window 500"),
    ]
    for args, words in cases:
        result = charrnn(*args, "--out", tmp_path / "x.html")
        assert result.returncode in (1, 2), (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (args, result.stderr)
        assert "error" in lines[0] and words in lines[0], (args, lines)
    # A bad option value is argparse's usage error (exit 2), its message on the last line.
    result = charrnn("inspect", ckpt, short, "--max-chars", 0)
    assert result.returncode == 2 and "--max-chars" in result.stderr.splitlines()[-1]
    # Characters outside the vocabulary: skipped, counted and named, the page still written.
    result = charrnn("inspect", ckpt, unknown, "--out", tmp_path / "u.html")
    assert result.returncode == 0, result.stderr
    assert "15 characters outside" in result.stderr and "'€' ×10" in result.stderr
    assert "'¥' ×5" in result.stderr
