"""Tier 1: the numpy reference against finite differences and complex step (trust the oracle
first), a loss computed by hand, clipping and AdaGrad by their formulas, and input validation."""

import math

import numpy as np
import pytest

from charrnn import reference
from charrnn.gradcheck import compare, complex_step_gradients, numerical_gradients
from charrnn.reference import NAMES, Params


def make_case(K, m, T, seed=0, sig=0.5, h0_scale=0.5):
    """Weights large enough that tanh is nonlinear, non-zero biases and h0, random text."""
    rng = np.random.default_rng(seed)
    params = Params.random(K, m, sig=sig, seed=seed)
    params.b[:] = rng.normal(0.0, sig, m)
    params.c[:] = rng.normal(0.0, sig, K)
    inputs = rng.integers(0, K, T)
    targets = rng.integers(0, K, T)
    h0 = rng.normal(0.0, h0_scale, m)
    return params, inputs, targets, h0


# (K, m, T): general, one step, one hidden unit, two characters, zero initial state
SIZES = [(5, 4, 7, 0.5), (5, 4, 1, 0.5), (5, 1, 7, 0.5), (2, 4, 7, 0.5), (6, 3, 5, 0.0)]


@pytest.mark.parametrize("K,m,T,h0_scale", SIZES)
def test_gradients_match_central_differences(K, m, T, h0_scale):
    params, x, y, h0 = make_case(K, m, T, seed=K * 100 + m * 10 + T, h0_scale=h0_scale)
    analytic = reference.forward_backward(params, x, y, h0).grads
    before = params.copy()
    numeric = numerical_gradients(lambda: reference.loss(params, x, y, h0), params, h=1e-5)
    for name, arr in params.items():
        np.testing.assert_array_equal(arr, getattr(before, name), err_msg=f"{name} not restored")
    for name in NAMES:
        np.testing.assert_allclose(
            getattr(analytic, name), numeric[name], rtol=1e-6, atol=1e-8, err_msg=f"d{name}"
        )
    for name, err in compare(analytic, numeric).items():
        assert err["norm_rel_err"] < 1e-7, (name, err)
        assert err["max_abs_err"] < 1e-7, (name, err)


@pytest.mark.parametrize("K,m,T,h0_scale", SIZES)
def test_gradients_match_complex_step(K, m, T, h0_scale):
    params, x, y, h0 = make_case(K, m, T, seed=K * 100 + m * 10 + T + 1, h0_scale=h0_scale)
    analytic = reference.forward_backward(params, x, y, h0).grads
    exact = complex_step_gradients(params, x, y, h0)
    for name in NAMES:
        np.testing.assert_allclose(
            getattr(analytic, name), exact[name], rtol=1e-12, atol=1e-13, err_msg=f"d{name}"
        )


def test_gradcheck_catches_a_wrong_gradient():
    # The comparison above must be able to fail: a 1e-6 error in one entry is caught.
    params, x, y, h0 = make_case(5, 4, 7)
    analytic = reference.forward_backward(params, x, y, h0).grads
    analytic.W[1, 2] += 1e-6
    exact = complex_step_gradients(params, x, y, h0)
    with pytest.raises(AssertionError, match="dW"):
        np.testing.assert_allclose(analytic.W, exact["W"], rtol=1e-12, atol=1e-13, err_msg="dW")


def test_backward_does_not_clip():
    # 30 steps all aiming at character 0 while c favours character 1: |dc[0]| is about 30.
    K, m, T = 3, 2, 30
    params = Params.random(K, m, sig=0.1, seed=1)
    params.c[:] = [0.0, 3.0, 0.0]
    x = np.zeros(T, dtype=np.int64)
    y = np.zeros(T, dtype=np.int64)
    h0 = np.zeros(m)
    grads = reference.forward_backward(params, x, y, h0).grads
    assert grads.c[0] < -20
    exact = complex_step_gradients(params, x, y, h0)
    np.testing.assert_allclose(grads.c, exact["c"], rtol=1e-12, err_msg="dc")


def test_one_step_loss_by_hand():
    # K = 2, m = 1: every quantity is a scalar expression.
    params = Params(
        W=np.array([[0.5]]),
        U=np.array([[1.0, -1.0]]),
        V=np.array([[2.0], [-1.0]]),
        b=np.array([0.1]),
        c=np.array([0.0, 0.3]),
    )
    h0 = np.array([0.2])
    a = 0.5 * 0.2 + 1.0 + 0.1  # W h0 + U[:, 0] + b
    h = math.tanh(a)
    o0, o1 = 2.0 * h + 0.0, -1.0 * h + 0.3
    p1 = math.exp(o1) / (math.exp(o0) + math.exp(o1))
    expected = -math.log(p1)

    result = reference.forward_backward(params, [0], [1], h0)
    assert result.loss == pytest.approx(expected, rel=1e-14, abs=0)
    assert reference.loss(params, [0], [1], h0) == pytest.approx(expected, rel=1e-14, abs=0)
    np.testing.assert_allclose(result.hs, [[h]], rtol=1e-15, err_msg="hs")
    np.testing.assert_allclose(result.h_last, [h], rtol=1e-15, err_msg="h_last")
    np.testing.assert_allclose(result.probs, [[1 - p1, p1]], rtol=1e-14, err_msg="probs")
    # dc = p - onehot(y), dV = dc h^T, by hand
    np.testing.assert_allclose(result.grads.c, [1 - p1, p1 - 1], rtol=1e-14, err_msg="dc")
    np.testing.assert_allclose(result.grads.V, [[(1 - p1) * h], [(p1 - 1) * h]], rtol=1e-14,
                               err_msg="dV")


def test_activation_shapes_and_probabilities():
    params, x, y, h0 = make_case(5, 4, 7)
    result = reference.forward_backward(params, x, y, h0)
    assert result.hs.shape == (7, 4)
    assert result.probs.shape == (7, 5)
    np.testing.assert_allclose(result.probs.sum(axis=1), 1.0, rtol=1e-14, err_msg="probs")
    np.testing.assert_array_equal(result.h_last, result.hs[-1], err_msg="h_last")
    # Loss equals -sum log p_t[y_t] from the returned probabilities.
    expected = -np.log(result.probs[np.arange(7), y]).sum()
    assert result.loss == pytest.approx(expected, rel=1e-13)
    # The carried state continues the sequence: two halves equal the whole.
    first = reference.forward_backward(params, x[:3], y[:3], h0)
    second = reference.forward_backward(params, x[3:], y[3:], first.h_last)
    assert first.loss + second.loss == pytest.approx(result.loss, rel=1e-13)


def test_max_shift_keeps_huge_logits_finite():
    # Logits around +-1000 would overflow exp without the max shift (and warn, which is an error).
    params = Params.zeros(3, 1)
    params.U[:] = 5.0  # h = tanh(5) ~ 1
    params.V[:, 0] = [1000.0, -1000.0, 0.0]
    result = reference.forward_backward(params, [0], [2], np.zeros(1))
    h = math.tanh(5.0)
    assert result.loss == pytest.approx(1000.0 * h, rel=1e-12)
    assert np.all(np.isfinite(result.probs))
    assert np.all(np.isfinite(result.grads.V))


def test_complex_loss_matches_real_loss():
    params, x, y, h0 = make_case(5, 4, 7)
    as_complex = Params(**{name: arr.astype(np.complex128) for name, arr in params.items()})
    value = reference.loss(as_complex, x, y, h0)
    assert isinstance(value, complex)
    assert value.real == pytest.approx(reference.loss(params, x, y, h0), rel=1e-15)
    assert value.imag == 0.0


def test_clip_gradients_in_place():
    grads = Params.zeros(3, 2)
    rng = np.random.default_rng(0)
    for _, g in grads.items():
        g[...] = rng.normal(0.0, 10.0, g.shape)
    original = grads.copy()
    arrays = {name: g for name, g in grads.items()}
    assert reference.clip_gradients(grads, limit=5.0) is None
    for name, g in grads.items():
        assert g is arrays[name], f"{name} replaced, not clipped in place"
        expected = np.minimum(np.maximum(getattr(original, name), -5.0), 5.0)
        np.testing.assert_array_equal(g, expected, err_msg=name)
    assert np.abs(original.W).max() > 5.0  # the test data did need clipping
    reference.clip_gradients(grads, limit=0.5)
    assert max(np.abs(g).max() for _, g in grads.items()) == 0.5
    with pytest.raises(ValueError):
        reference.clip_gradients(grads, limit=0.0)


def test_adagrad_step_by_formula():
    K, m, eta, eps = 3, 2, 0.1, 1e-8
    params = Params.random(K, m, sig=1.0, seed=0)
    grads = Params.random(K, m, sig=1.0, seed=1)
    grads.b[:] = [0.5, -2.0]
    grads.c[:] = [0.0, 1.0, -3.0]
    memory = Params.zeros(K, m)
    memory.W[:] = 0.25
    theta0, mem0 = params.copy(), memory.copy()
    arrays = {name: p for name, p in params.items()}

    reference.adagrad_step(params, grads, memory, eta=eta, eps=eps)
    for name in NAMES:
        g = getattr(grads, name)
        mem = getattr(mem0, name) + g * g
        theta = getattr(theta0, name) - eta * g / np.sqrt(mem + eps)
        np.testing.assert_array_equal(getattr(memory, name), mem, err_msg=f"memory {name}")
        np.testing.assert_array_equal(getattr(params, name), theta, err_msg=name)
        assert getattr(params, name) is arrays[name], f"{name} not updated in place"
    # A zero gradient leaves its parameter unchanged (eps keeps 0/0 away).
    assert params.c[0] == theta0.c[0]
    # Scalar check: theta = 1, g = 2, mem = 0 -> mem = 4, theta = 1 - 0.1 * 2 / sqrt(4 + eps).
    p, g, mem = Params.zeros(1, 1), Params.zeros(1, 1), Params.zeros(1, 1)
    p.b[0], g.b[0] = 1.0, 2.0
    reference.adagrad_step(p, g, mem)
    assert mem.b[0] == 4.0
    assert p.b[0] == pytest.approx(1.0 - 0.1 * 2.0 / math.sqrt(4.0 + 1e-8), rel=1e-15)


def test_params_helpers():
    p = Params.random(5, 3, sig=0.01, seed=7)
    assert (p.K, p.m) == (5, 3)
    assert [name for name, _ in p.items()] == list(NAMES)
    shapes = {name: arr.shape for name, arr in p.items()}
    assert shapes == {"W": (3, 3), "U": (3, 5), "V": (5, 3), "b": (3,), "c": (5,)}
    assert not p.b.any() and not p.c.any()
    assert 0.001 < p.W.std() < 0.1
    same = Params.random(5, 3, sig=0.01, seed=7)
    other = Params.random(5, 3, sig=0.01, seed=8)
    np.testing.assert_array_equal(p.W, same.W, err_msg="W")
    assert not np.array_equal(p.W, other.W)

    q = p.copy()
    q.W[0, 0] += 1.0
    assert p.W[0, 0] != q.W[0, 0]

    class Native:  # what the native params look like from Python: attributes holding arrays
        pass

    native = Native()
    for name, arr in p.items():
        setattr(native, name, arr.astype(np.float32))
    r = Params.from_any(native)
    for name, arr in r.items():
        assert arr.dtype == np.float64
        np.testing.assert_array_equal(arr, getattr(native, name), err_msg=name)
        assert not np.shares_memory(arr, getattr(native, name))

    z = Params.zeros(2, 4, dtype=np.complex128)
    assert z.W.dtype == np.complex128 and (z.K, z.m) == (2, 4)


def test_params_shape_mismatch():
    p = Params.zeros(5, 3)
    with pytest.raises(ValueError, match="shapes"):
        Params(W=p.W, U=p.U, V=p.V.T, b=p.b, c=p.c)
    with pytest.raises(ValueError, match="shapes"):
        Params(W=p.W, U=p.U, V=p.V, b=p.c, c=p.c)


@pytest.mark.parametrize(
    "inputs,targets,h0,error,match",
    [
        ([], [], np.zeros(3), ValueError, "empty"),
        ([0, 1], [1], np.zeros(3), ValueError, "length"),
        ([0, 1], [1, 2], np.zeros(4), ValueError, "h0"),
        ([0, 1], [1, 2], np.zeros((3, 1)), ValueError, "h0"),
        ([[0, 1]], [[1, 2]], np.zeros(3), ValueError, "1-D"),
        ([0.0, 1.0], [1, 2], np.zeros(3), ValueError, "integers"),
        ([0, 5], [1, 2], np.zeros(3), IndexError, r"inputs\[1\] = 5"),
        ([0, 1], [-1, 2], np.zeros(3), IndexError, r"targets\[0\] = -1"),
    ],
)
def test_bad_input_raises(inputs, targets, h0, error, match):
    params = Params.random(5, 3)
    with pytest.raises(error, match=match):
        reference.forward_backward(params, inputs, targets, h0)
    with pytest.raises(error, match=match):
        reference.loss(params, inputs, targets, h0)
