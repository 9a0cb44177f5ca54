"""The gradient-checking tools themselves: error metrics, central differences on a function with a
known gradient, names taken from the layout, the report and table for every cell (the numpy
reference standing in for the native side), and that they catch a wrong gradient."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from charrnn import _core, gradcheck, reference
from charrnn.gradcheck import (
    THRESHOLDS,
    compare,
    format_table,
    gradcheck_report,
    numerical_gradients,
)
from charrnn.reference import Params


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


def test_compare_takes_names_from_the_layout_and_checks_shapes():
    a = Params.random(_core.layout(3, 2, cell="gru", layers=2), seed=0)
    err = compare(a, a.copy())
    assert list(err) == a.names == ["W1", "U1", "W2", "U2", "V", "b1", "bn1", "b2", "bn2", "c"]
    assert all(v == 0.0 for e in err.values() for v in e.values())
    with pytest.raises(KeyError, match="U1"):
        compare(a, {"W1": a["W1"]})
    with pytest.raises(ValueError, match="W"):
        compare({"W": np.zeros((2, 2))}, {"W": np.zeros((2, 3))})
    with pytest.raises(TypeError, match="layout"):
        compare(SimpleNamespace(W=np.zeros(2)), {"W": np.zeros(2)})


SHAPES = {"W1": (2, 2), "U1": (2, 3), "V": (3, 2), "b1": (2,), "bn1": (2,), "c": (3,)}


def quadratic_params():
    rng = np.random.default_rng(0)
    return {name: rng.normal(size=shape) for name, shape in SHAPES.items()}


def test_numerical_gradients_of_a_quadratic():
    # f = sum_name sum(A_name * theta^2) / 2 + sum(B_name * theta): gradient A * theta + B.
    params = quadratic_params()
    rng = np.random.default_rng(1)
    A = {name: rng.uniform(0.5, 2.0, shape) for name, shape in SHAPES.items()}
    B = {name: rng.normal(size=shape) for name, shape in SHAPES.items()}
    before = {name: arr.copy() for name, arr in params.items()}
    arrays = dict(params)

    def loss_fn():
        return sum(float(np.sum(A[n] * p**2) / 2 + np.sum(B[n] * p)) for n, p in params.items())

    numeric = numerical_gradients(loss_fn, params, h=1e-3)
    assert list(numeric) == list(SHAPES)  # names from the mapping, in its order
    for name in SHAPES:
        expected = A[name] * before[name] + B[name]
        np.testing.assert_allclose(numeric[name], expected, rtol=1e-9, atol=1e-10, err_msg=name)
        # Restored exactly, and edited in place (the same array objects).
        np.testing.assert_array_equal(params[name], before[name], err_msg=name)
        assert params[name] is arrays[name]


def test_numerical_gradients_sees_every_entry_of_a_layout():
    # A loss that depends on one entry only: all other gradients must be exactly zero.
    params = Params.random(_core.layout(3, 2, cell="lstm", layers=2), seed=0)
    grads = numerical_gradients(lambda: 3.0 * params["U2"][5, 1], params)
    assert list(grads) == params.names
    assert grads["U2"][5, 1] == pytest.approx(3.0, rel=1e-10)
    assert np.count_nonzero(np.concatenate([g.ravel() for g in grads.values()])) == 1
    only = numerical_gradients(lambda: 2.0 * params["c"][0], params, names=["c"])
    assert list(only) == ["c"] and only["c"][0] == pytest.approx(2.0, rel=1e-10)


def test_numerical_gradients_rejects_copies():
    lay = _core.layout(3, 2, cell="gru")

    class CopyingParams:  # a binding bug: each access returns a fresh copy
        layout = lay

        def __init__(self):
            self._p = Params(lay)

        def __getitem__(self, name):
            return self._p[name].copy()

    with pytest.raises(TypeError, match="copy"):
        numerical_gradients(lambda: 0.0, CopyingParams())
    read_only = quadratic_params()
    read_only["W1"].flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        numerical_gradients(lambda: 0.0, read_only)


def tiny_text():
    return np.array([0, 1, 2, 3, 4, 0, 2, 4, 1, 3, 0, 0, 1]), 5


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2), ("gru", 1), ("gru", 3)])
def test_report_reference_side_passes(cell, layers):
    encoded, K = tiny_text()
    report = gradcheck_report(
        layout_fn=_core.layout,
        encoded=encoded,
        K=K,
        cell=cell,
        layers=layers,
        m=3,
        T=6,
        seed=1,
        state_scale=0.5,
    )
    assert report["passed"] is True
    names = [e["name"] for e in _core.layout(K, 3, cell=cell, layers=layers)]
    assert [k for k in report if k not in ("settings", "passed")] == names
    for name in names:
        assert set(report[name]) == set(gradcheck.METRICS)
        for metric, limit in THRESHOLDS.items():
            assert report[name][metric] <= limit, (name, metric)
        assert report[name]["max_abs_err_cs"] < 1e-12
    settings = report["settings"]
    assert (settings["cell"], settings["layers"], settings["state_scale"]) == (cell, layers, 0.5)
    table = format_table(report)
    assert "overall: PASS" in table and "FAIL" not in table
    assert f"{cell} x{layers}" in table
    for name in names:
        assert any(line.startswith(name + " ") for line in table.splitlines())
    # The report survives JSON (experiment.py reads it back) and tabulates the same.
    assert format_table(json.loads(json.dumps(report))) == table


def test_report_state_scale_changes_the_state():
    encoded, K = tiny_text()
    kwargs = dict(layout_fn=_core.layout, encoded=encoded, K=K, cell="lstm", m=3, T=6)
    zero, nonzero = gradcheck_report(**kwargs), gradcheck_report(**kwargs, state_scale=0.5)
    assert zero["settings"]["loss_reference"] != nonzero["settings"]["loss_reference"]
    assert zero["passed"] and nonzero["passed"]


def test_report_with_native_like_objects():
    # The shape of the real wiring: native params have a layout and writable array attributes.
    encoded, K = tiny_text()
    calls = []

    def make_native_params(ref_params):
        return SimpleNamespace(
            layout=ref_params.layout, **{name: arr.copy() for name, arr in ref_params.items()}
        )

    def native_forward_backward(params, inputs, targets, h0, c0):
        calls.append((h0.shape, None if c0 is None else c0.shape))
        return reference.forward_backward(Params.from_native(params), inputs, targets, h0, c0)

    report = gradcheck_report(
        native_forward_backward,
        make_native_params,
        layout_fn=_core.layout,
        encoded=encoded,
        K=K,
        cell="lstm",
        layers=2,
        m=3,
        T=6,
    )
    assert report["passed"] is True
    assert report["settings"]["side"] == "native"
    assert report["W2"]["max_abs_diff_ref"] == 0.0
    assert calls[0] == ((2, 3), (2, 3))


def test_report_detects_a_wrong_gradient():
    encoded, K = tiny_text()

    def broken(params, inputs, targets, h0, c0):
        result = reference.forward_backward(params, inputs, targets, h0, c0)
        result.grads["bn1"] *= 1.001  # a 0.1% error in one tensor only
        return result

    report = gradcheck_report(
        broken,
        Params.copy,
        layout_fn=_core.layout,
        encoded=encoded,
        K=K,
        cell="gru",
        m=3,
        T=6,
        state_scale=0.5,
    )
    assert report["passed"] is False
    assert report["bn1"]["max_abs_diff_ref"] > THRESHOLDS["max_abs_diff_ref"]
    assert report["W1"]["max_abs_diff_ref"] == 0.0
    rows = {line.split()[0]: line for line in format_table(report).splitlines() if line.strip()}
    assert rows["bn1"].endswith("FAIL")
    assert rows["W1"].endswith("PASS")
    assert "overall: FAIL" in format_table(report)


def test_report_on_bundled_corpus():
    report = gradcheck_report(layout_fn=_core.layout, m=4, T=5)
    assert report["settings"]["K"] == 76
    assert list(report)[:5] == ["W", "U", "V", "b", "c"]
    assert report["passed"] is True


def test_report_argument_errors():
    encoded, K = tiny_text()
    with pytest.raises(ValueError):
        gradcheck_report(
            reference.forward_backward, None, layout_fn=_core.layout, encoded=encoded, K=K
        )
    with pytest.raises(ValueError, match="K"):
        gradcheck_report(layout_fn=_core.layout, encoded=encoded)
    with pytest.raises(ValueError, match="characters"):
        gradcheck_report(layout_fn=_core.layout, encoded=encoded, K=K, m=3, T=20)


def test_fourth_order_differences_are_exact_for_quartics():
    """Order 4 is exact (to rounding) for polynomials of degree 4, where order 2 is h^2 off; an
    order other than 2 or 4 is refused."""
    from charrnn.gradcheck import numerical_gradients

    params = {"a": np.array([0.3, -1.2, 2.0])}
    a = params["a"]

    def loss():
        return float(np.sum(a**4 + a**3))

    exact = 4 * a**3 + 3 * a**2
    fourth = numerical_gradients(loss, params, h=1e-2, order=4)["a"]
    second = numerical_gradients(loss, params, h=1e-2, order=2)["a"]
    np.testing.assert_allclose(fourth, exact, rtol=1e-10, err_msg="order 4")
    assert np.abs(second - exact).max() > 1e-5  # h^2 (4 a + 1): ~1e-4
    np.testing.assert_array_equal(a, [0.3, -1.2, 2.0])  # every entry restored
    with pytest.raises(ValueError, match="order"):
        numerical_gradients(loss, params, order=3)
