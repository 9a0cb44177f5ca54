"""Tiers 2 and 3 for the whole model family: the native core against the numpy reference on
identical weights (loss, every h and c state, every p_t, every gradient, ~1e-12 in float64) and
against finite differences of its own loss, for each cell x layers {1, 2, 3} x batch {1, 3} at odd
m; the layout both sides share; clipping and AdaGrad; the gradient check the CLI runs."""

import numpy as np
import pytest
from charrnn import _core, reference
from charrnn.gradcheck import check_native, compare, numerical_gradients
from charrnn.reference import Params
from helpers import CELLS, to_native

FAMILY = [(cell, L, B) for cell in CELLS for L in (1, 2, 3) for B in (1, 3)]


def make_case(cell, L, B, K=6, m=5, T=7, seed=0, scale=0.5):
    """Every parameter N(0, scale^2), random text, non-zero h0 (and c0) with the layer axis;
    B = 1 means one unbatched sequence (T,). The same weights in a reference and a native model."""
    rng = np.random.default_rng(seed)
    ref = Params(_core.layout(K, m, cell=cell, layers=L))
    ref.flat[:] = rng.normal(0.0, scale, ref.flat.size)
    shape = (L, B, m) if B > 1 else (L, m)
    x = rng.integers(0, K, (B, T) if B > 1 else T)
    y = rng.integers(0, K, (B, T) if B > 1 else T)
    h0 = rng.normal(0.0, 0.5, shape)
    c0 = rng.normal(0.0, 0.5, shape) if cell == "lstm" else None
    return ref, to_native(ref), x, y, h0, c0


def assert_same_run(n, r, what):
    """Native Result n equals reference Result r: loss, states, probabilities, gradients."""
    np.testing.assert_allclose(n.loss, r.loss, rtol=1e-13, err_msg=f"loss {what}")
    for field in ("hs", "h_last", "cs", "c_last", "probs"):
        a, b = getattr(n, field), getattr(r, field)
        if b is None:
            assert a is None, f"{field} {what}: native has one, the reference none"
            continue
        assert a.shape == b.shape, f"{field} {what}: {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13, err_msg=f"{field} {what}")
    assert list(n.grads.names) == r.grads.names
    for name in r.grads:
        np.testing.assert_allclose(
            n.grads[name], r.grads[name], rtol=1e-11, atol=1e-12, err_msg=f"d{name} {what}"
        )


@pytest.mark.parametrize("m", [5, 7])
@pytest.mark.parametrize("cell,L,B", FAMILY)
def test_native_equals_reference(cell, L, B, m):
    ref, native, x, y, h0, c0 = make_case(cell, L, B, m=m, seed=10 * L + B + m)
    what = f"({cell}, L={L}, B={B}, m={m})"
    r = reference.forward_backward(ref, x, y, h0, c0)
    n = _core.forward_backward(native, x, y, h0, c0)
    assert_same_run(n, r, what)
    assert _core.loss(native, x, y, h0, c0) == pytest.approx(r.loss, rel=1e-13, abs=0)


@pytest.mark.parametrize("m", [16, 32])
@pytest.mark.parametrize("cell,B", [(c, B) for c in CELLS for B in (1, 13)])
def test_native_equals_reference_at_whole_vector_m(cell, B, m):
    """m a multiple of the SIMD width: no padding rows, so the gated cells take their unpadded
    paths (one product for all gates, the blocked weight-gradient product); T B = 325 spans two
    of that product's depth blocks, and 13 columns leave partial column blocks."""
    ref, native, x, y, h0, c0 = make_case(cell, 2, B, m=m, T=25, seed=m + B, scale=0.3)
    what = f"({cell}, L=2, B={B}, m={m})"
    assert_same_run(
        _core.forward_backward(native, x, y, h0, c0),
        reference.forward_backward(ref, x, y, h0, c0),
        what,
    )


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("L,B,state", [(1, 1, "none"), (1, 3, "without axis"), (2, 3, "none")])
def test_native_equals_reference_for_each_state_convention(cell, L, B, state):
    ref, native, x, y, h0, c0 = make_case(cell, L, B, seed=3)
    if state == "none":
        h0 = c0 = None
    else:  # L == 1: the state without its layer axis
        h0, c0 = h0[0], None if c0 is None else c0[0]
    r = reference.forward_backward(ref, x, y, h0, c0)
    n = _core.forward_backward(native, x, y, h0, c0)
    assert_same_run(n, r, f"({cell}, L={L}, B={B}, h0 {state})")


@pytest.mark.parametrize("cell,L,B", [(c, L, B) for c in CELLS for L in (1, 2) for B in (1, 3)])
def test_native_against_finite_differences(cell, L, B):
    _, native, x, y, h0, c0 = make_case(cell, L, B, K=4, m=3, T=4, seed=5)
    analytic = _core.forward_backward(native, x, y, h0, c0).grads
    before = np.array(native.flat)
    numeric = numerical_gradients(lambda: _core.loss(native, x, y, h0, c0), native, h=1e-5)
    np.testing.assert_array_equal(native.flat, before, err_msg="native params not restored")
    for name, err in compare(analytic, numeric).items():
        assert err["norm_rel_err"] < 1e-6, (cell, L, B, name, err)
        assert err["max_abs_err"] < 1e-7, (cell, L, B, name, err)


def test_finite_differences_catch_a_wrong_native_gradient():
    _, native, x, y, h0, c0 = make_case("lstm", 2, 3, K=4, m=3, T=4)
    grads = _core.forward_backward(native, x, y, h0, c0).grads
    analytic = {name: np.array(grads[name]) for name in grads.names}
    analytic["W2"][1, 2] *= 1.001
    numeric = numerical_gradients(lambda: _core.loss(native, x, y, h0, c0), native, h=1e-5)
    errors = compare(analytic, numeric)
    assert errors["W2"]["max_abs_err"] > 1e-7
    assert errors["U2"]["max_abs_err"] < 1e-7


@pytest.mark.parametrize("cell,L", [("rnn", 1), ("lstm", 3), ("gru", 2)])
def test_layout_and_params_round_trip(cell, L):
    native = _core.Params.random(6, 5, sig=0.1, seed=4, cell=cell, layers=L)
    ref = Params.from_native(native)
    assert (ref.cell, ref.K, ref.m, ref.layers) == (cell, 6, 5, L)
    assert ref.names == list(native.names) == [e["name"] for e in native.layout]
    np.testing.assert_array_equal(ref.flat, native.flat, err_msg="flat block")
    back = to_native(ref)
    np.testing.assert_array_equal(back.flat, native.flat, err_msg="flat block back")


@pytest.mark.parametrize("cell", CELLS)
def test_clip_and_adagrad_equal_reference(cell):
    ref, native, x, y, h0, c0 = make_case(cell, 2, 3, scale=1.5)
    r = reference.forward_backward(ref, x, y, h0, c0)
    n = _core.forward_backward(native, x, y, h0, c0)
    reference.clip_gradients(r.grads, 0.05)
    _core.clip_gradients(n.grads, 0.05)
    np.testing.assert_allclose(
        n.grads.flat, r.grads.flat, rtol=1e-11, atol=1e-12, err_msg="clipped grads"
    )
    assert np.abs(r.grads.flat).max() == 0.05  # clipping did bite
    mem_ref = Params(ref.layout)
    mem_ref.flat[:] = np.random.default_rng(9).uniform(0.0, 2.0, mem_ref.flat.size)
    mem_native = to_native(mem_ref)
    reference.adagrad_step(ref, r.grads, mem_ref, eta=0.1, eps=1e-8)
    _core.adagrad_step(native, n.grads, mem_native, eta=0.1, eps=1e-8)
    for name in ref:
        np.testing.assert_allclose(
            mem_native[name], mem_ref[name], rtol=1e-12, atol=1e-14, err_msg=f"memory {name}"
        )
        np.testing.assert_allclose(native[name], ref[name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2), ("gru", 2)])
def test_gradcheck_of_the_native_core_on_the_corpus(cell, layers):
    """The check `charrnn gradcheck` runs, at a small size on the embedded corpus, from a
    non-zero state."""
    report = check_native(cell=cell, layers=layers, m=5, T=6, seed=3, state_scale=0.5)
    assert report["passed"], report
    names = [e["name"] for e in _core.layout(76, 5, cell=cell, layers=layers)]
    assert [k for k in report if k not in ("settings", "passed")] == names
    for name in names:
        assert report[name]["max_abs_diff_ref"] <= 1e-12, name
        assert report[name]["norm_rel_err_fd"] <= 1e-6, name
        assert report[name]["max_abs_err_cs"] <= 1e-12, name
