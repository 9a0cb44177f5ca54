"""The inspection pass (_core.inspect_forward) against the numpy reference, array by array, for
every cell and depth, and against forward_backward's forward bit for bit (float64 and float32):
h, c, the gates, the top-k probabilities, the loss, entropy and rank per position, and the state
carried across chunks."""

from __future__ import annotations

import numpy as np
import pytest
from charrnn import _core
from charrnn import reference as ref
from charrnn.reference import model as refmodel

CELLS = _core.CELLS
FAMILY = [(cell, layers) for cell in CELLS for layers in (1, 2)]
IDS = [f"{cell}-L{layers}" for cell, layers in FAMILY]


def setup(cell, layers, K=7, m=5, T=23, seed=0, embedding=0):
    p = _core.Params.random(K, m, 0.5, seed, cell=cell, layers=layers, embedding=embedding)
    rng = np.random.default_rng(seed + 1)
    for e in p.layout:
        if len(e["shape"]) == 1:
            p[e["name"]] = rng.normal(0, 0.3, e["shape"])
    x = rng.integers(0, K, T)
    y = rng.integers(0, K, T)
    h0 = np.tanh(rng.normal(0, 1, (layers, m)))
    c0 = rng.normal(0, 1, (layers, m)) if cell == "lstm" else None
    return p, x, y, h0, c0


@pytest.mark.parametrize(("cell", "layers"), FAMILY, ids=IDS)
def test_every_array_equals_the_reference(cell, layers):
    p, x, y, h0, c0 = setup(cell, layers)
    K = p.K
    got = _core.inspect_forward(p, x, y, h0, c0, top_k=K)
    rp = ref.Params.from_native(p)
    fwd = refmodel.forward(rp, x, y, h0, c0)
    np.testing.assert_allclose(got["hs"], fwd.hs.reshape(got["hs"].shape), atol=1e-12, err_msg="hs")
    if cell == "lstm":
        np.testing.assert_allclose(got["cs"], fwd.cs, atol=1e-12, err_msg="cs")
    else:
        assert got["cs"] is None
    probs = fwd.probs  # (T, K)
    order = np.argsort(-probs, axis=1, kind="stable")
    np.testing.assert_array_equal(got["top_index"], order, err_msg="top_index")
    np.testing.assert_allclose(
        got["top_p"], np.take_along_axis(probs, order, 1), atol=1e-14, err_msg="top_p"
    )
    true_p = probs[np.arange(len(y)), y]
    np.testing.assert_allclose(got["loss"], -np.log(true_p), rtol=1e-12, err_msg="loss")
    entropy = -(probs * np.log(probs)).sum(axis=1)
    np.testing.assert_allclose(got["entropy"], entropy, rtol=1e-12, err_msg="entropy")
    np.testing.assert_array_equal(got["rank"], (probs > true_p[:, None]).sum(1), err_msg="rank")
    np.testing.assert_allclose(got["h_last"], fwd.hs.reshape(got["hs"].shape)[:, -1], atol=1e-12)
    # The gates, from the reference's caches: lstm (i, f, g, o), gru (r, z, n).
    if cell == "rnn":
        assert got["gates"] is None
        return
    for l, (_, _, cache) in enumerate(fwd.layers):
        gates = np.stack([np.stack(g)[:, 0] for g in zip(*cache["gates"])])  # (G, T, m)
        np.testing.assert_allclose(got["gates"][l], gates, atol=1e-12, err_msg=f"gates layer {l}")


@pytest.mark.parametrize(("cell", "layers"), FAMILY, ids=IDS)
@pytest.mark.parametrize("params_type", ["Params", "Params32"])
def test_bit_identical_to_forward_backward(cell, layers, params_type):
    p64, x, y, h0, c0 = setup(cell, layers, K=9, m=11, T=37, seed=4)
    p = getattr(_core, params_type)(p64.K, p64.m, cell=cell, layers=layers)
    p.flat[:] = p64.flat
    r = _core.forward_backward(p, x, y, h0=h0, c0=c0)
    got = _core.inspect_forward(p, x, y, h0, c0, top_k=4)
    hs = r.hs.reshape(got["hs"].shape)
    assert got["hs"].dtype == hs.dtype
    np.testing.assert_array_equal(got["hs"], hs, err_msg="hs")
    if cell == "lstm":
        np.testing.assert_array_equal(got["cs"], r.cs.reshape(got["cs"].shape), err_msg="cs")
    np.testing.assert_array_equal(
        got["top_p"], np.take_along_axis(r.probs, got["top_index"], 1), err_msg="top_p"
    )
    tol = 1e-12 if params_type == "Params" else 1e-5
    np.testing.assert_allclose(got["loss"].sum(), r.loss, rtol=tol, err_msg="loss")


@pytest.mark.parametrize(("cell", "layers"), FAMILY, ids=IDS)
def test_chunks_carry_the_state(cell, layers):
    """Three chunks with the state carried give the whole sequence's arrays (torch-rnn's test)."""
    p, x, y, h0, c0 = setup(cell, layers, T=30)
    whole = _core.inspect_forward(p, x, y, h0, c0)
    h, c, parts = h0, c0, []
    for a, b in ((0, 7), (7, 19), (19, 30)):
        part = _core.inspect_forward(p, x[a:b], y[a:b], h, c)
        h, c = part["h_last"], part["c_last"]
        parts.append(part)
    for key in ("hs", "cs", "gates"):
        if whole[key] is None:
            continue
        axis = whole[key].ndim - 2  # time
        joined = np.concatenate([q[key] for q in parts], axis=axis)
        np.testing.assert_allclose(joined, whole[key], atol=1e-13, err_msg=key)
    for key in ("top_p", "loss", "entropy", "rank"):
        joined = np.concatenate([q[key] for q in parts])
        np.testing.assert_allclose(joined, whole[key], atol=1e-12, err_msg=key)


def test_embedding_model():
    p, x, y, h0, c0 = setup("lstm", 2, embedding=3)
    got = _core.inspect_forward(p, x, y, h0, c0)
    fwd = refmodel.forward(ref.Params.from_native(p), x, y, h0, c0)
    np.testing.assert_allclose(got["hs"], fwd.hs, atol=1e-12, err_msg="hs")


def test_bad_arguments():
    p, x, y, h0, c0 = setup("gru", 1)
    with pytest.raises(IndexError, match="outside"):
        _core.inspect_forward(p, x, np.full_like(y, 99))
    with pytest.raises(ValueError, match="equal length"):
        _core.inspect_forward(p, x, y[:-1])
    with pytest.raises(ValueError, match="non-empty"):
        _core.inspect_forward(p, x[:0], y[:0])
    with pytest.raises(ValueError, match="top_k"):
        _core.inspect_forward(p, x, y, top_k=0)
    with pytest.raises(ValueError, match="shape"):
        _core.inspect_forward(p, x, y, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="lstm"):
        _core.inspect_forward(p, x, y, None, np.zeros((1, p.m)))
