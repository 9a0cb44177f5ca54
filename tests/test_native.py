"""The native core against the numpy reference on identical weights (tier 2) and against finite
differences directly (tier 3); clipping, AdaGrad and the edge sizes; validation at the boundary."""

import re

import numpy as np
import pytest

from charrnn import _core, reference
from charrnn.gradcheck import check_native, compare, numerical_gradients
from charrnn.reference import NAMES

CASES = [  # (K, m, T, nonzero h0)
    (7, 5, 9, False),
    (7, 5, 9, True),
    (5, 4, 1, True),   # T = 1
    (6, 1, 8, True),   # m = 1
    (2, 6, 7, True),   # K = 2
]


def setup(K, m, T, nonzero_h0, seed=0, sig=0.5):
    rng = np.random.default_rng(seed + 100)
    ref = reference.Params.random(K, m, sig=sig, seed=seed)
    ref.b[:] = rng.normal(0, 0.3, m)  # non-zero biases so db, dc paths are exercised
    ref.c[:] = rng.normal(0, 0.3, K)
    native = _core.Params(K, m)
    for name, array in ref.items():
        setattr(native, name, array)
    inputs = rng.integers(0, K, T)
    targets = rng.integers(0, K, T)
    h0 = rng.normal(0, 0.5, m) if nonzero_h0 else np.zeros(m)
    return ref, native, inputs, targets, h0


@pytest.mark.parametrize("K,m,T,nonzero_h0", CASES)
def test_native_equals_reference(K, m, T, nonzero_h0):
    ref, native, x, y, h0 = setup(K, m, T, nonzero_h0)
    r = reference.forward_backward(ref, x, y, h0)
    n = _core.forward_backward(native, x, y, h0)
    np.testing.assert_allclose(n.loss, r.loss, rtol=1e-12, err_msg="loss")
    np.testing.assert_allclose(n.hs, r.hs, rtol=0, atol=1e-12, err_msg="hs (every h_t)")
    np.testing.assert_allclose(n.probs, r.probs, rtol=0, atol=1e-12, err_msg="probs (every p_t)")
    np.testing.assert_allclose(n.h_last, r.h_last, rtol=0, atol=1e-12, err_msg="h_last")
    for name in NAMES:
        np.testing.assert_allclose(getattr(n.grads, name), getattr(r.grads, name), rtol=1e-10,
                                   atol=1e-12, err_msg=f"d{name}")
    assert np.isclose(_core.loss(native, x, y, h0), r.loss, rtol=1e-12, atol=0)


@pytest.mark.parametrize("K,m,T,nonzero_h0", CASES)
def test_native_against_finite_differences(K, m, T, nonzero_h0):
    _, native, x, y, h0 = setup(K, m, T, nonzero_h0)
    analytic = _core.forward_backward(native, x, y, h0).grads
    numeric = numerical_gradients(lambda: _core.loss(native, x, y, h0), native, h=1e-5)
    errors = compare(analytic, numeric)
    for name in NAMES:
        assert errors[name]["norm_rel_err"] < 1e-7, (name, errors[name])
        assert errors[name]["max_abs_err"] < 1e-7, (name, errors[name])


def test_finite_differences_catch_a_wrong_gradient():
    """The tier-3 check is able to fail: a gradient off by 0.1% in one entry is caught."""
    _, native, x, y, h0 = setup(7, 5, 9, True)
    grads = _core.forward_backward(native, x, y, h0).grads
    analytic = {name: np.array(getattr(grads, name)) for name in NAMES}
    analytic["W"][1, 2] *= 1.001
    numeric = numerical_gradients(lambda: _core.loss(native, x, y, h0), native, h=1e-5)
    errors = compare(analytic, numeric)
    assert errors["W"]["max_abs_err"] > 1e-7
    assert errors["U"]["max_abs_err"] < 1e-7


def test_gradcheck_of_the_native_core_on_the_corpus():
    """The check `charrnn gradcheck` runs, at a small size on the embedded corpus."""
    report = check_native(m=12, T=10, seed=3)
    assert report["passed"], report
    for name in NAMES:
        assert report[name]["max_abs_diff_ref"] <= 1e-12, name
        assert report[name]["norm_rel_err_fd"] <= 1e-6, name


def test_clip_and_adagrad_equal_reference():
    ref, native, x, y, h0 = setup(6, 4, 8, True, sig=2.0)  # large weights: gradients beyond ±5
    r = reference.forward_backward(ref, x, y, h0)
    n = _core.forward_backward(native, x, y, h0)
    assert max(np.abs(g).max() for _, g in r.grads.items()) > 1.0
    limit = 0.5
    reference.clip_gradients(r.grads, limit)
    _core.clip_gradients(n.grads, limit)
    for name in NAMES:
        np.testing.assert_allclose(getattr(n.grads, name), getattr(r.grads, name), rtol=0,
                                   atol=1e-12, err_msg=f"clipped d{name}")
        assert np.abs(getattr(n.grads, name)).max() <= limit
    mem_ref = reference.Params.random(6, 4, sig=1.0, seed=9)
    for _, a in mem_ref.items():
        a[:] = np.abs(a)
    mem_native = _core.Params(6, 4)
    for name, a in mem_ref.items():
        setattr(mem_native, name, a)
    reference.adagrad_step(ref, r.grads, mem_ref, eta=0.1, eps=1e-8)
    _core.adagrad_step(native, n.grads, mem_native, eta=0.1, eps=1e-8)
    for name in NAMES:
        np.testing.assert_allclose(getattr(native, name), getattr(ref, name), rtol=1e-14,
                                   atol=1e-15, err_msg=f"{name} after AdaGrad")
        np.testing.assert_allclose(getattr(mem_native, name), getattr(mem_ref, name),
                                   rtol=1e-14, atol=0, err_msg=f"memory {name}")


def test_adagrad_formula_by_hand():
    p, g, mem = _core.Params(2, 1), _core.Params(2, 1), _core.Params(2, 1)
    p.W = [[1.0]]
    g.W = [[3.0]]
    mem.W = [[16.0]]
    _core.adagrad_step(p, g, mem, eta=0.5, eps=0.0 + 1e-8)
    assert mem.W[0, 0] == 25.0
    np.testing.assert_allclose(p.W[0, 0], 1.0 - 0.5 * 3.0 / np.sqrt(25.0 + 1e-8), rtol=1e-15)


def test_random_init_is_seeded_normal_with_zero_biases():
    a = _core.Params.random(76, 100, sig=0.01, seed=5)
    b = _core.Params.random(76, 100, sig=0.01, seed=5)
    c = _core.Params.random(76, 100, sig=0.01, seed=6)
    np.testing.assert_array_equal(a.flat, b.flat)
    assert not np.array_equal(a.W, c.W)
    assert np.all(a.b == 0) and np.all(a.c == 0)
    matrices = np.concatenate([a.W.ravel(), a.U.ravel(), a.V.ravel()])
    assert abs(matrices.std() - 0.01) < 0.0005 and abs(matrices.mean()) < 0.0005


def test_views_share_memory_and_setters_copy():
    p = _core.Params(3, 2)
    assert p.W.shape == (2, 2) and p.U.shape == (2, 3) and p.V.shape == (3, 2)
    assert p.b.shape == (2,) and p.c.shape == (3,) and p.flat.shape == (4 + 6 + 6 + 2 + 3,)
    p.U[1, 2] = 7.0
    assert p.flat[4 + 1 * 3 + 2] == 7.0  # W first, then U row-major
    source = np.arange(6.0).reshape(3, 2)
    p.V = source
    source[0, 0] = 100.0
    assert p.V[0, 0] == 0.0
    q = p.copy()
    q.W[0, 0] = 5.0
    assert p.W[0, 0] == 0.0


def test_views_outlive_their_params():
    w = _core.Params.random(4, 3, sig=1.0, seed=1).W  # the Params object is gone after this line
    import gc

    gc.collect()
    assert w.shape == (3, 3) and np.all(np.isfinite(w)) and np.any(w != 0)


def test_noncontiguous_and_other_integer_inputs_give_the_same_result():
    ref, native, x, y, h0 = setup(7, 5, 9, True)
    base = _core.forward_backward(native, x, y, h0)
    wide = np.zeros(18, dtype=np.int64)
    wide[::2] = x
    other = _core.forward_backward(native, wide[::2], y.astype(np.uint8), h0[::1].astype(np.float32))
    np.testing.assert_allclose(other.loss, base.loss, rtol=1e-6)  # h0 went through float32
    same = _core.forward_backward(native, wide[::2], y.astype(np.int16), h0)
    assert same.loss == base.loss


@pytest.mark.parametrize(
    "change, error, words",
    [
        (dict(inputs=np.array([0, 1, 7])), IndexError, "outside [0, 7)"),
        (dict(inputs=np.array([0, -1, 2])), IndexError, "outside [0, 7)"),
        (dict(targets=np.array([0, 1])), ValueError, "targets must have the shape"),
        (dict(inputs=np.array([], dtype=int), targets=np.array([], dtype=int)), ValueError, "at least one"),
        (dict(h0=np.zeros(4)), ValueError, "h0 must have shape"),
        (dict(h0=np.array([0, 0, np.nan, 0, 0])), ValueError, "NaN"),
        (dict(inputs=np.array([0.0, 1.0, 2.0])), ValueError, "integer"),
        (dict(h0=np.zeros(5, dtype=complex)), ValueError, "real numbers"),
    ],
)
def test_bad_sequences_raise(change, error, words):
    _, native, _, _, _ = setup(7, 5, 3, False)
    args = dict(inputs=np.array([0, 1, 2]), targets=np.array([1, 2, 3]), h0=np.zeros(5))
    args.update(change)
    with pytest.raises(error, match=re.escape(words)):
        _core.forward_backward(native, args["inputs"], args["targets"], args["h0"])


def test_bad_sizes_and_settings_raise():
    with pytest.raises(ValueError, match="m \\(hidden size\\) must be a positive integer"):
        _core.Params(5, 0)
    with pytest.raises(ValueError, match="K \\(vocabulary size\\)"):
        _core.Params.random(-1, 5)
    with pytest.raises(ValueError, match="sig"):
        _core.Params.random(3, 5, sig=-0.1)
    p = _core.Params(3, 2)
    with pytest.raises(ValueError, match=r"W must have shape \(2, 2\)"):
        p.W = np.zeros((3, 2))
    with pytest.raises(ValueError, match="limit"):
        _core.clip_gradients(p, 0.0)
    with pytest.raises(ValueError, match="memory has K=4"):
        _core.adagrad_step(p, _core.Params(3, 2), _core.Params(4, 2))
    with pytest.raises(ValueError, match="eta"):
        _core.adagrad_step(p, _core.Params(3, 2), _core.Params(3, 2), eta=float("nan"))
    p.flat[0] = np.inf  # through the view: caught where it is used
    with pytest.raises(ValueError, match="params contain NaN or infinity"):
        _core.loss(p, [0], [1], np.zeros(2))
