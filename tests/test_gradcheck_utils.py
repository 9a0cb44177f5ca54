"""The gradient-checking tools themselves: error metrics, central differences on a function with a
known gradient, complex step against its plain definition, and the report and table."""

from types import SimpleNamespace

import numpy as np
import pytest

from charrnn import gradcheck, reference
from charrnn.gradcheck import (
    THRESHOLDS,
    compare,
    complex_step_gradients,
    format_table,
    gradcheck_report,
    numerical_gradients,
)
from charrnn.reference import NAMES, Params


def test_compare_known_values():
    analytic = {"W": np.array([[1.0, 2.0], [0.0, -1.0]]), "b": np.zeros(3)}
    numeric = {"W": np.array([[1.0, 2.5], [0.0, -1.0]]), "b": np.zeros(3)}
    err = compare(analytic, numeric)
    assert err["W"]["max_abs_err"] == 0.5
    assert err["W"]["max_rel_err"] == pytest.approx(0.5 / 4.5, rel=1e-15)
    expected_norm = 0.5 / (np.sqrt(1 + 4 + 1) + np.sqrt(1 + 6.25 + 1))
    assert err["W"]["norm_rel_err"] == pytest.approx(expected_norm, rel=1e-15)
    # Both exactly zero: no error, no division by zero.
    assert err["b"] == {"max_rel_err": 0.0, "norm_rel_err": 0.0, "max_abs_err": 0.0}


def test_compare_eps_and_opposite_signs():
    err = compare({"c": np.array([1e-20])}, {"c": np.array([0.0])}, eps=1e-12)
    assert err["c"]["max_rel_err"] == pytest.approx(1e-8, rel=1e-12)
    err = compare({"c": np.array([1.0])}, {"c": np.array([-1.0])})
    assert err["c"]["max_rel_err"] == 1.0
    assert err["c"]["norm_rel_err"] == 1.0


def test_compare_accepts_params_and_checks_shapes():
    a = Params.random(3, 2, seed=0)
    err = compare(a, a.copy())
    assert set(err) == set(NAMES)
    assert all(v == 0.0 for e in err.values() for v in e.values())
    with pytest.raises(ValueError, match="W"):
        compare({"W": np.zeros((2, 2))}, {"W": np.zeros((2, 3))})


def quadratic_params():
    rng = np.random.default_rng(0)
    shapes = {"W": (2, 2), "U": (2, 3), "V": (3, 2), "b": (2,), "c": (3,)}
    return SimpleNamespace(**{name: rng.normal(size=shape) for name, shape in shapes.items()})


def test_numerical_gradients_of_a_quadratic():
    # f = sum_name sum(A_name * theta^2) / 2 + sum(B_name * theta): gradient A * theta + B.
    params = quadratic_params()
    rng = np.random.default_rng(1)
    A = {name: rng.uniform(0.5, 2.0, getattr(params, name).shape) for name in NAMES}
    B = {name: rng.normal(size=getattr(params, name).shape) for name in NAMES}
    before = {name: getattr(params, name).copy() for name in NAMES}
    arrays = {name: getattr(params, name) for name in NAMES}

    def loss_fn():
        return sum(
            float(np.sum(A[n] * getattr(params, n) ** 2) / 2 + np.sum(B[n] * getattr(params, n)))
            for n in NAMES
        )

    numeric = numerical_gradients(loss_fn, params, h=1e-3)
    for name in NAMES:
        expected = A[name] * before[name] + B[name]
        np.testing.assert_allclose(numeric[name], expected, rtol=1e-9, atol=1e-10, err_msg=name)
        # Restored exactly, and edited in place (the same array objects).
        np.testing.assert_array_equal(getattr(params, name), before[name], err_msg=name)
        assert getattr(params, name) is arrays[name]


def test_numerical_gradients_sees_every_entry():
    # A loss that depends on one entry only: all other gradients must be exactly zero.
    params = quadratic_params()
    grads = numerical_gradients(lambda: 3.0 * params.V[2, 1], params)
    assert grads["V"][2, 1] == pytest.approx(3.0, rel=1e-10)
    assert np.count_nonzero(np.concatenate([g.ravel() for g in grads.values()])) == 1


def test_numerical_gradients_rejects_copies():
    class CopyingParams:  # a binding bug: each access returns a fresh copy
        def __init__(self):
            self._p = quadratic_params()

        def __getattr__(self, name):
            return getattr(self._p, name).copy()

    with pytest.raises(TypeError, match="copy"):
        numerical_gradients(lambda: 0.0, CopyingParams())
    read_only = quadratic_params()
    read_only.W.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        numerical_gradients(lambda: 0.0, read_only)


def naive_complex_step(params, x, y, h0, h=1e-30):
    """The definition: one complex forward of the reference per entry."""
    out = {}
    for name, arr in params.items():
        g = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            p = Params(**{n: a.astype(np.complex128) for n, a in params.items()})
            getattr(p, name)[idx] += 1j * h
            g[idx] = reference.loss(p, x, y, h0).imag / h
        out[name] = g
    return out


@pytest.mark.parametrize("chunk", [1, 7, 2048])
def test_batched_complex_step_equals_definition(chunk):
    rng = np.random.default_rng(3)
    K, m, T = 4, 3, 6
    params = Params.random(K, m, sig=0.7, seed=2)
    params.b[:] = rng.normal(size=m)
    params.c[:] = rng.normal(size=K)
    x = np.array([0, 2, 2, 1, 0, 2])  # character 3 never appears: its column of dU is zero
    y = rng.integers(0, K, T)
    h0 = rng.normal(size=m)
    batched = complex_step_gradients(params, x, y, h0, chunk=chunk)
    plain = naive_complex_step(params, x, y, h0)
    for name in NAMES:
        np.testing.assert_allclose(batched[name], plain[name], rtol=1e-13, atol=1e-15,
                                   err_msg=name)
    assert not batched["U"][:, 3].any()
    assert np.abs(batched["W"]).min() > 0  # non-trivial values


def tiny_text():
    return np.array([0, 1, 2, 3, 4, 0, 2, 4, 1, 3, 0, 0, 1]), 5


def test_report_reference_side_passes():
    encoded, K = tiny_text()
    report = gradcheck_report(encoded=encoded, K=K, m=3, T=6, seed=1)
    assert report["passed"] is True
    for name in NAMES:
        assert set(report[name]) == set(gradcheck.METRICS)
        for metric, limit in THRESHOLDS.items():
            assert report[name][metric] <= limit, (name, metric)
        assert report[name]["max_abs_err_cs"] < 1e-12
    table = format_table(report)
    assert "overall: PASS" in table
    assert "FAIL" not in table
    for name in NAMES:
        assert any(line.startswith(name + " ") for line in table.splitlines())


def test_report_with_native_like_objects():
    # The shape of the real wiring: native params are an object with writable array attributes.
    encoded, K = tiny_text()

    def make_native_params(ref_params):
        return SimpleNamespace(**{name: arr.copy() for name, arr in ref_params.items()})

    def native_forward_backward(params, inputs, targets, h0):
        return reference.forward_backward(Params.from_any(params), inputs, targets, h0)

    report = gradcheck_report(native_forward_backward, make_native_params, encoded=encoded, K=K,
                              m=3, T=6)
    assert report["passed"] is True
    assert report["settings"]["side"] == "native"
    assert report["W"]["max_abs_diff_ref"] == 0.0


def test_report_detects_a_wrong_gradient():
    encoded, K = tiny_text()

    def broken(params, inputs, targets, h0):
        result = reference.forward_backward(params, inputs, targets, h0)
        result.grads.b *= 1.001  # a 0.1% error in db only
        return result

    report = gradcheck_report(broken, Params.copy, encoded=encoded, K=K, m=3, T=6)
    assert report["passed"] is False
    assert report["b"]["max_abs_diff_ref"] > THRESHOLDS["max_abs_diff_ref"]
    assert report["W"]["max_abs_diff_ref"] == 0.0
    rows = {line.split()[0]: line for line in format_table(report).splitlines() if line.strip()}
    assert rows["b"].endswith("FAIL")
    assert rows["W"].endswith("PASS")
    assert "overall: FAIL" in format_table(report)


def test_report_on_bundled_corpus():
    report = gradcheck_report(m=4, T=5)
    assert report["settings"]["K"] == 76
    assert report["passed"] is True


def test_report_argument_errors():
    encoded, K = tiny_text()
    with pytest.raises(ValueError):
        gradcheck_report(reference.forward_backward, None, encoded=encoded, K=K)
    with pytest.raises(ValueError, match="K"):
        gradcheck_report(encoded=encoded)
    with pytest.raises(ValueError, match="characters"):
        gradcheck_report(encoded=encoded, K=K, m=3, T=20)
