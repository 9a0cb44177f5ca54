"""Tier 1: the numpy reference of the model family against finite differences and complex step
(trust the oracle first), its forward against PyTorch's cells on the same weights (the equations
themselves: gate order, GRU's form), the vanilla model against today's formulas, state carried
across chunks, clipping and AdaGrad by their formulas, Params, and input validation."""

import math

import numpy as np
import pytest
from charrnn import _core, reference
from charrnn.gradcheck import (
    compare,
    complex_step_gradients,
    complex_step_per_entry,
    numerical_gradients,
)
from charrnn.reference import Params, ops
from helpers import slow_when

CELLS = ["rnn", "lstm", "gru"]
FAMILY = [(cell, L, B) for cell in CELLS for L in (1, 2, 3) for B in (1, 3)]


def layout(K=4, m=5, *, cell="rnn", layers=1):
    return _core.layout(K, m, cell=cell, layers=layers)


def make_case(cell, L, B, K=4, m=5, T=4, seed=0, scale=0.5, state_scale=0.5):
    """Every parameter N(0, scale^2) (non-zero biases, nonlinear gates), random text, non-zero
    h0 and c0 with the layer axis; B = 1 means one unbatched sequence (T,)."""
    rng = np.random.default_rng(seed)
    params = Params(layout(K, m, cell=cell, layers=L))
    params.flat[:] = rng.normal(0.0, scale, params.flat.size)
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    h0 = rng.normal(0.0, state_scale, (L, B, m))
    c0 = rng.normal(0.0, state_scale, (L, B, m)) if cell == "lstm" else None
    if B == 1:
        x, y, h0 = x[0], y[0], h0[:, 0]
        c0 = None if c0 is None else c0[:, 0]
    return params, x, y, h0, c0


def assert_grads_close(actual, expected, rtol, atol, what=""):
    for name in expected:
        np.testing.assert_allclose(
            actual[name], expected[name], rtol=rtol, atol=atol, err_msg=f"d{name} {what}"
        )


@pytest.mark.parametrize("cell,L,B", slow_when(FAMILY, lambda cell, L, B: L == 3))
def test_gradients_match_central_differences(cell, L, B):
    params, x, y, h0, c0 = make_case(cell, L, B, seed=10 * L + B)
    analytic = reference.forward_backward(params, x, y, h0, c0).grads
    before = params.flat.copy()
    numeric = numerical_gradients(lambda: reference.loss(params, x, y, h0, c0), params, h=1e-5)
    np.testing.assert_array_equal(params.flat, before, err_msg="params not restored")
    assert list(numeric) == params.names
    assert_grads_close(analytic, numeric, rtol=1e-6, atol=1e-8, what=f"{cell} L={L} B={B}")
    for name, err in compare(analytic, numeric).items():
        assert err["norm_rel_err"] < 1e-7, (name, err)


@pytest.mark.parametrize("cell,L,B", FAMILY)
def test_gradients_match_complex_step(cell, L, B):
    params, x, y, h0, c0 = make_case(cell, L, B, seed=10 * L + B + 1)
    analytic = reference.forward_backward(params, x, y, h0, c0).grads
    exact = complex_step_gradients(params, x, y, h0, c0)
    assert list(exact) == params.names
    assert_grads_close(analytic, exact, rtol=1e-11, atol=1e-13, what=f"{cell} L={L} B={B}")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("L,B,chunk", [(1, 1, 1), (2, 3, 7), (2, 1, 4096), (3, 3, 2)])
def test_chunked_complex_step_equals_the_definition(cell, L, B, chunk):
    params, x, y, h0, c0 = make_case(cell, L, B, K=5, m=3, T=3, seed=7)
    x = np.where(x == 4, 0, x)  # character 4 never occurs: its column of dU1 is exactly zero
    batched = complex_step_gradients(params, x, y, h0, c0, chunk=chunk)
    plain = complex_step_per_entry(params, x, y, h0, c0)
    assert_grads_close(batched, plain, rtol=1e-13, atol=1e-15, what=f"chunk {chunk}")
    U1 = "U" if (cell, L) == ("rnn", 1) else "U1"
    assert not batched[U1][:, 4].any()
    assert np.abs(batched["V"]).min() > 0  # non-trivial values


def test_gradcheck_catches_a_wrong_gradient():
    # The comparison above must be able to fail: a 1e-6 error in one entry is caught.
    params, x, y, h0, c0 = make_case("gru", 2, 3)
    analytic = reference.forward_backward(params, x, y, h0, c0).grads
    analytic["bn2"][1] += 1e-6
    exact = complex_step_gradients(params, x, y, h0, c0)
    with pytest.raises(AssertionError, match="dbn2"):
        assert_grads_close(analytic, exact, rtol=1e-11, atol=1e-13)


# --- the forward equations themselves, against PyTorch's cells on the same weights


def torch_forward(params, x, h0, c0):
    """PyTorch's nn.RNN / LSTM / GRU (float64) plus a Linear head, fed one-hot characters, with
    our weights: U_l -> weight_ih, W_l -> weight_hh, b_l -> bias_ih, b_hn -> bias_hh's n rows."""
    torch = pytest.importorskip("torch")
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[params.cell]
    K, m, L = params.K, params.m, params.layers
    net = cls(K, m, num_layers=L, batch_first=True).double()
    for l in range(1, L + 1):
        roles = params.roles(l)
        G = params[roles["W"]].shape[0] // m
        bias_hh = np.zeros(G * m)
        if params.cell == "gru":
            bias_hh[2 * m :] = params[roles["bn"]]
        for torch_name, value in (
            ("weight_ih", params[roles["U"]]),
            ("weight_hh", params[roles["W"]]),
            ("bias_ih", params[roles["b"]]),
            ("bias_hh", bias_hh),
        ):
            getattr(net, f"{torch_name}_l{l - 1}").data = torch.tensor(np.array(value))
    onehot = torch.tensor(np.eye(K)[x])  # (B, T, K)
    state = torch.tensor(h0) if c0 is None else (torch.tensor(h0), torch.tensor(c0))
    with torch.no_grad():
        top, _ = net(onehot, state)  # (B, T, m)
        logits = top @ torch.tensor(params["V"]).T + torch.tensor(params["c"])
    return top.numpy(), torch.softmax(logits, dim=-1).numpy()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("L", [1, 2])
def test_forward_equals_pytorch(cell, L):
    params, x, y, h0, c0 = make_case(cell, L, 3, K=6, m=7, T=5, seed=3)
    result = reference.forward_backward(params, x, y, h0, c0)
    top, probs = torch_forward(params, x, h0, c0)
    np.testing.assert_allclose(result.hs[-1], top, rtol=0, atol=1e-14, err_msg=f"{cell} top hs")
    np.testing.assert_allclose(result.probs, probs, rtol=0, atol=1e-14, err_msg=f"{cell} probs")


# --- the vanilla model: today's numbers


def vanilla_today(W, U, V, b, c, x, y, h0):
    """The vanilla reference as it was before the family (reference.py), formula by formula."""
    T, m, K = len(x), W.shape[0], V.shape[0]
    hs, probs, loss, h = np.zeros((T, m)), np.zeros((T, K)), 0.0, h0
    for t in range(T):
        h = np.tanh(W @ h + U[:, x[t]] + b)
        o = V @ h + c
        z = o - o.max()
        e = np.exp(z)
        loss -= z[y[t]] - np.log(e.sum())
        hs[t], probs[t] = h, e / e.sum()
    dW, dU, dV, db, dc = (np.zeros_like(a) for a in (W, U, V, b, c))
    dh_next = np.zeros(m)
    for t in reversed(range(T)):
        h_prev = hs[t - 1] if t > 0 else h0
        d_o = probs[t].copy()
        d_o[y[t]] -= 1.0
        dV += np.outer(d_o, hs[t])
        dc += d_o
        da = (1.0 - hs[t] ** 2) * (V.T @ d_o + dh_next)
        db += da
        dW += np.outer(da, h_prev)
        dU[:, x[t]] += da
        dh_next = W.T @ da
    return loss, hs, probs, {"W": dW, "U": dU, "V": dV, "b": db, "c": dc}


def test_vanilla_model_keeps_its_numbers():
    params, x, y, h0, _ = make_case("rnn", 1, 1, K=6, m=7, T=9, seed=5)
    h0 = h0[0]  # (m,): the vanilla model's state, without the layer axis
    assert params.names == ["W", "U", "V", "b", "c"]
    loss, hs, probs, grads = vanilla_today(*(params[n] for n in "WUVbc"), x, y, h0)
    result = reference.forward_backward(params, x, y, h0)
    assert result.loss == pytest.approx(loss, rel=1e-14, abs=0)
    np.testing.assert_allclose(result.hs, hs, rtol=1e-14, atol=1e-16, err_msg="hs")
    np.testing.assert_allclose(result.probs, probs, rtol=1e-13, atol=1e-16, err_msg="probs")
    assert_grads_close(result.grads, grads, rtol=1e-13, atol=1e-15)


def test_vanilla_random_is_todays_draw():
    K, m, sig, seed = 7, 5, 0.03, 11
    params = Params.random(layout(K, m), sig=sig, seed=seed)
    rng = np.random.default_rng(seed)
    for name, shape in (("W", (m, m)), ("U", (m, K)), ("V", (K, m))):
        np.testing.assert_array_equal(params[name], rng.normal(0.0, sig, size=shape), err_msg=name)
    assert not params["b"].any() and not params["c"].any()


def test_one_step_loss_by_hand():
    # K = 2, m = 1: every quantity is a scalar expression.
    params = Params(layout(K=2, m=1))
    params["W"], params["U"], params["V"] = [[0.5]], [[1.0, -1.0]], [[2.0], [-1.0]]
    params["b"], params["c"] = [0.1], [0.0, 0.3]
    h0 = np.array([0.2])
    h = math.tanh(0.5 * 0.2 + 1.0 + 0.1)  # W h0 + U[:, 0] + b
    o0, o1 = 2.0 * h + 0.0, -1.0 * h + 0.3
    p1 = math.exp(o1) / (math.exp(o0) + math.exp(o1))

    result = reference.forward_backward(params, [0], [1], h0)
    assert result.loss == pytest.approx(-math.log(p1), rel=1e-14, abs=0)
    np.testing.assert_allclose(result.hs, [[h]], rtol=1e-15, err_msg="hs")
    np.testing.assert_allclose(result.probs, [[1 - p1, p1]], rtol=1e-14, err_msg="probs")
    np.testing.assert_allclose(result.grads.c, [1 - p1, p1 - 1], rtol=1e-14, err_msg="dc")
    np.testing.assert_allclose(
        result.grads.V, [[(1 - p1) * h], [(p1 - 1) * h]], rtol=1e-14, err_msg="dV"
    )


# --- batches, state, shapes


@pytest.mark.parametrize("cell", CELLS)
def test_batch_is_the_mean_of_its_sequences(cell):
    params, x, y, h0, c0 = make_case(cell, 2, 3, seed=4)
    whole = reference.forward_backward(params, x, y, h0, c0)
    singles = [
        reference.forward_backward(params, x[j], y[j], h0[:, j], None if c0 is None else c0[:, j])
        for j in range(3)
    ]
    assert whole.loss == pytest.approx(np.mean([s.loss for s in singles]), rel=1e-14)
    for name in params:
        mean = np.mean([s.grads[name] for s in singles], axis=0)
        np.testing.assert_allclose(
            whole.grads[name], mean, rtol=1e-13, atol=1e-16, err_msg=f"d{name}"
        )
    for j, single in enumerate(singles):
        np.testing.assert_allclose(whole.hs[:, j], single.hs, rtol=1e-14, atol=1e-15, err_msg="hs")
        np.testing.assert_allclose(
            whole.probs[j], single.probs, rtol=1e-14, atol=1e-15, err_msg="probs"
        )


@pytest.mark.parametrize("cell", CELLS)
def test_three_chunks_equal_the_whole_sequence(cell):
    # torch-rnn's check: the state carried between chunks continues the sequence exactly.
    params, x, y, h0, c0 = make_case(cell, 2, 3, T=9, seed=6)
    whole = reference.forward_backward(params, x, y, h0, c0)
    h, c, loss, hs = h0, c0, 0.0, []
    for s in (slice(0, 2), slice(2, 7), slice(7, 9)):
        part = reference.forward_backward(params, x[:, s], y[:, s], h, c)
        h, c, loss = part.h_last, part.c_last, loss + part.loss
        hs.append(part.hs)
    assert loss == pytest.approx(whole.loss, rel=1e-14)
    np.testing.assert_allclose(np.concatenate(hs, axis=2), whole.hs, rtol=1e-14, err_msg="hs")
    np.testing.assert_allclose(h, whole.h_last, rtol=1e-14, err_msg="h_last")
    if cell == "lstm":
        np.testing.assert_allclose(c, whole.c_last, rtol=1e-14, err_msg="c_last")
        np.testing.assert_array_equal(whole.c_last, whole.cs[:, :, -1], err_msg="c_last")
    np.testing.assert_array_equal(whole.h_last, whole.hs[:, :, -1], err_msg="h_last")


@pytest.mark.parametrize(
    "cell,L,batched,h0_axis,hs_shape,h_shape",
    [
        ("rnn", 1, False, None, (6, 5), (5,)),
        ("rnn", 1, True, None, (3, 6, 5), (3, 5)),
        ("lstm", 1, False, "with", (1, 6, 5), (1, 5)),
        ("gru", 1, True, "with", (1, 3, 6, 5), (1, 3, 5)),
        ("lstm", 1, True, "without", (3, 6, 5), (3, 5)),
        ("gru", 2, False, None, (2, 6, 5), (2, 5)),
        ("lstm", 3, True, None, (3, 3, 6, 5), (3, 3, 5)),
        ("rnn", 2, True, "with", (2, 3, 6, 5), (2, 3, 5)),
    ],
)
def test_output_shapes_follow_h0(cell, L, batched, h0_axis, hs_shape, h_shape):
    params = Params.random(layout(4, 5, cell=cell, layers=L), sig=0.3, seed=1)
    B = 3 if batched else None
    x = np.zeros((B, 6) if batched else 6, dtype=int)
    h0 = None
    if h0_axis is not None:
        h0 = np.zeros(((L,) if h0_axis == "with" else ()) + ((B,) if batched else ()) + (5,))
    result = reference.forward_backward(params, x, x, h0)
    assert result.hs.shape == hs_shape
    assert result.h_last.shape == h_shape
    assert result.probs.shape == ((3, 6, 4) if batched else (6, 4))
    if cell == "lstm":
        assert result.cs.shape == hs_shape and result.c_last.shape == h_shape
        np.testing.assert_array_equal(
            reference.forward_backward(params, x, x, h0, np.zeros(h_shape)).hs,
            result.hs,
            err_msg="zero c0 equals c0=None",
        )
    else:
        assert result.cs is None and result.c_last is None
    np.testing.assert_allclose(result.probs.sum(axis=-1), 1.0, rtol=1e-14, err_msg="probs")


def test_h0_not_c0_decides_the_layer_axis():
    params = Params.random(layout(4, 5, cell="lstm", layers=1), sig=0.3, seed=1)
    x = np.zeros(6, dtype=int)
    with_axis = reference.forward_backward(params, x, x, None, np.zeros((1, 5)))
    assert with_axis.hs.shape == with_axis.cs.shape == (6, 5)
    assert with_axis.h_last.shape == with_axis.c_last.shape == (5,)
    mixed = reference.forward_backward(params, x, x, np.zeros((1, 5)), np.zeros(5))
    assert mixed.cs.shape == (1, 6, 5) and mixed.c_last.shape == (1, 5)


@pytest.mark.parametrize("cell", CELLS)
def test_complex_loss_matches_real_loss(cell):
    params, x, y, h0, c0 = make_case(cell, 2, 3)
    value = reference.loss(params.astype(np.complex128), x, y, h0, c0)
    assert isinstance(value, complex)
    assert value.real == pytest.approx(reference.loss(params, x, y, h0, c0), rel=1e-15)
    assert value.imag == 0.0


def test_complex_tanh_and_sigmoid():
    # ops.tanh's addition-theorem form equals numpy's complex tanh, also far out (no overflow:
    # warnings are errors) and for imaginary parts far from complex step's 1e-30.
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 3, 500), [0.0, 30.0, -400.0, 800.0, -1e4]])
    for y in (rng.normal(0, 1e-30, x.size), rng.normal(0, 0.5, x.size)):
        z = x + 1j * y
        np.testing.assert_allclose(ops.tanh(z), np.tanh(z), rtol=1e-14, atol=1e-300, err_msg="tanh")
        # sigmoid as 0.5 + 0.5 tanh(a/2) is accurate in absolute terms (~1e-16), not relative
        # ones where it is tiny
        expected = 1.0 / (1.0 + np.exp(-z[np.abs(x) < 700]))
        np.testing.assert_allclose(
            ops.sigmoid(z)[np.abs(x) < 700], expected, rtol=1e-13, atol=1e-15, err_msg="sigmoid"
        )
    np.testing.assert_array_equal(ops.tanh(x), np.tanh(x), err_msg="real tanh")


def test_max_shift_keeps_huge_logits_finite():
    # Logits around +-1000 would overflow exp without the max shift (and warn, which is an error).
    params = Params(layout(K=3, m=1))
    params["U"][:] = 5.0  # h = tanh(5) ~ 1
    params["V"][:, 0] = [1000.0, -1000.0, 0.0]
    result = reference.forward_backward(params, [0], [2])
    assert result.loss == pytest.approx(1000.0 * math.tanh(5.0), rel=1e-12)
    assert np.all(np.isfinite(result.probs))
    assert np.all(np.isfinite(result.grads.flat))


@pytest.mark.parametrize("cell", CELLS)
def test_backward_does_not_clip(cell):
    # 30 steps all aiming at character 0 while c favours character 1: |dc[0]| is about 30.
    params = Params.random(layout(K=3, m=3, cell=cell), sig=0.1, seed=1)
    params["c"][:] = [0.0, 3.0, 0.0]
    x = np.zeros(30, dtype=np.int64)
    grads = reference.forward_backward(params, x, x).grads
    assert grads["c"][0] < -20
    exact = complex_step_gradients(params, x, x)
    np.testing.assert_allclose(grads["c"], exact["c"], rtol=1e-12, err_msg="dc")


# --- clipping, AdaGrad, training


def test_clip_gradients_in_place():
    grads = Params(layout(3, 3, cell="lstm", layers=2))
    grads.flat[:] = np.random.default_rng(0).normal(0.0, 10.0, grads.flat.size)
    original = grads.copy()
    views = {name: grads[name] for name in grads}
    assert reference.clip_gradients(grads, clip=5.0) is None
    for name in grads:
        assert grads[name] is views[name], f"{name} replaced, not clipped in place"
        expected = np.minimum(np.maximum(original[name], -5.0), 5.0)
        np.testing.assert_array_equal(grads[name], expected, err_msg=name)
    assert np.abs(original.flat).max() > 5.0  # the test data did need clipping
    reference.clip_gradients(grads, clip=0.5)
    assert np.abs(grads.flat).max() == 0.5
    with pytest.raises(ValueError):
        reference.clip_gradients(grads, clip=0.0)


def test_adagrad_step_by_formula():
    eta, eps = 0.1, 1e-8
    lay = layout(3, 2, cell="gru", layers=2)
    params, grads = Params.random(lay, sig=1.0, seed=0), Params.random(lay, sig=1.0, seed=1)
    grads["bn2"][:] = [0.5, -2.0]
    memory = Params.zeros(lay)
    memory["W1"][:] = 0.25
    theta0, mem0 = params.copy(), memory.copy()
    reference.adagrad_step(params, grads, memory, eta=eta, eps=eps)
    for name in params:
        g = grads[name]
        mem = mem0[name] + g * g
        np.testing.assert_array_equal(memory[name], mem, err_msg=f"memory {name}")
        np.testing.assert_array_equal(
            params[name], theta0[name] - eta * g / np.sqrt(mem + eps), err_msg=name
        )
    # A zero gradient leaves its parameter unchanged (eps keeps 0/0 away).
    assert grads["c"][0] == 0.0 and params["c"][0] == theta0["c"][0]
    with pytest.raises(ValueError, match="different models"):
        reference.adagrad_step(params, Params.zeros(layout(3, 2, cell="lstm", layers=2)), memory)


@pytest.mark.parametrize("cell,L", [("rnn", 1), ("lstm", 2), ("gru", 1)])
def test_train_is_the_assignment_loop(cell, L):
    # 7 updates of T = 4 over 17 characters: epochs restart at e = 0 with the state zero.
    rng = np.random.default_rng(2)
    text = rng.integers(0, 5, 17)
    params = Params.random(layout(5, 3, cell=cell, layers=L), sig=0.3, seed=2)
    by_hand, memory = params.copy(), Params.zeros(params.layout)
    losses, smooth = reference.train(params, text, 7, seq_length=4)
    e, h, c, expected = 0, None, None, []
    for _ in range(7):
        if e + 5 > text.size:
            e, h, c = 0, None, None
        zeros = np.zeros((L, 3))
        result = reference.forward_backward(
            by_hand,
            text[e : e + 4],
            text[e + 1 : e + 5],
            zeros if h is None else h,
            (zeros if c is None else c) if cell == "lstm" else None,
        )
        reference.clip_gradients(result.grads, 5.0)
        reference.adagrad_step(by_hand, result.grads, memory)
        h, c, e = result.h_last, result.c_last, e + 4
        expected.append(result.loss)
    np.testing.assert_array_equal(losses, expected, err_msg="losses")
    np.testing.assert_array_equal(params.flat, by_hand.flat, err_msg="params")
    assert smooth[0] == losses[0]
    assert smooth[1] == pytest.approx(0.999 * losses[0] + 0.001 * losses[1], rel=1e-15)


# --- Params


@pytest.mark.parametrize("cell,L", [("rnn", 1), ("rnn", 2), ("lstm", 3), ("gru", 2)])
def test_params_follow_the_layout(cell, L):
    K, m = 6, 5
    lay = layout(K, m, cell=cell, layers=L)
    p = Params.random(lay, sig=0.01, seed=7)
    assert (p.cell, p.K, p.m, p.layers) == (cell, K, m, L)
    assert p.names == [e["name"] for e in lay] == list(p)
    assert p.flat.shape == (sum(e["size"] for e in lay),)
    for e in lay:
        assert p[e["name"]].shape == tuple(e["shape"])
        assert np.shares_memory(p[e["name"]], p.flat)
        assert getattr(p, e["name"]) is p[e["name"]]
        values = p[e["name"]]
        if e["init"] == "normal":
            assert 0.001 < values.std() < 0.1, e["name"]
        elif e["init"] == "uniform":
            assert np.abs(values).max() <= 1 / math.sqrt(m) and values.std() > 0.1, e["name"]
        elif e["init"] == "forget_bias":
            np.testing.assert_array_equal(
                values, np.repeat([0.0, 1.0, 0.0, 0.0], m), err_msg=e["name"]
            )
        else:
            assert not values.any(), e["name"]
    np.testing.assert_array_equal(
        Params.random(lay, sig=0.01, seed=7).flat, p.flat, err_msg="seeded"
    )
    assert not np.array_equal(Params.random(lay, sig=0.01, seed=8).flat, p.flat)


def test_params_helpers():
    lay = layout(5, 3, cell="lstm", layers=2)
    p = Params.random(lay, seed=1)
    q = p.copy()
    q["W1"][0, 0] += 1.0
    assert p["W1"][0, 0] != q["W1"][0, 0]
    q.W2 = np.ones((12, 3))  # assignment copies in, by attribute or by name
    q["c"] = [1, 2, 3, 4, 5]
    assert (q["W2"] == 1).all() and q.c[4] == 5.0 and np.shares_memory(q["c"], q.flat)
    with pytest.raises(ValueError, match="shape"):
        q["c"] = np.zeros(4)
    with pytest.raises(AttributeError):
        q.W3 = np.zeros((12, 3))
    with pytest.raises(KeyError):
        q["W3"]
    z = p.astype(np.complex128)
    assert z.flat.dtype == np.complex128 and z.names == p.names

    class Native:  # what native params look like from Python: a layout and array attributes
        layout = lay

    native = Native()
    for name in p:
        setattr(native, name, p[name].astype(np.float32))
    r = Params.from_native(native)
    assert r.flat.dtype == np.float64
    for name in r:
        np.testing.assert_array_equal(r[name], getattr(native, name), err_msg=name)
        assert not np.shares_memory(r[name], getattr(native, name))


def test_bad_layouts_are_rejected():
    good = layout(4, 3, cell="gru", layers=2)
    missing = [e for e in good if e["name"] != "bn2"]
    with pytest.raises(ValueError, match="layout"):
        Params(missing)
    wrong = [dict(e, shape=(9, 4)) if e["name"] == "U2" else e for e in good]
    with pytest.raises(ValueError, match="layout"):
        Params(wrong)
    with pytest.raises(ValueError, match="flat"):
        Params(good, np.zeros(3))


@pytest.mark.parametrize(
    "cell,L,inputs,targets,h0,c0,error,match",
    [
        ("rnn", 1, [], [], None, None, ValueError, "empty"),
        ("rnn", 1, [0, 1], [1], None, None, ValueError, "length"),
        ("rnn", 1, [0, 1], [1, 2], np.zeros(4), None, ValueError, "h0"),
        ("rnn", 1, [0, 1], [1, 2], np.zeros((3, 1)), None, ValueError, "h0"),
        ("rnn", 1, [[[0, 1]]], [[[1, 2]]], None, None, ValueError, r"\(B, T\)"),
        ("rnn", 1, [0.0, 1.0], [1, 2], None, None, ValueError, "integers"),
        ("rnn", 1, [0, 5], [1, 2], None, None, IndexError, r"inputs\[1\] = 5"),
        (
            "rnn",
            1,
            [0, 1],
            [-2, 2],
            None,
            None,
            IndexError,
            r"targets\[0\] = -2 is outside the vocabulary \[-1,",
        ),  # -1: no prediction
        (
            "rnn",
            1,
            [-1, 1],
            [0, 2],
            None,
            None,
            IndexError,
            r"inputs\[0\] = -1 is outside the vocabulary \[0,",
        ),
        (
            "gru",
            2,
            [[0, 1], [2, 1]],
            [[1, 2], [0, 9]],
            None,
            None,
            IndexError,
            r"targets\[1, 1\] = 9",
        ),
        ("lstm", 2, [0, 1], [1, 2], np.zeros(3), None, ValueError, "h0"),  # layer axis needed
        ("lstm", 2, [[0, 1]], [[1, 2]], np.zeros((2, 3)), None, ValueError, "h0"),
        ("lstm", 1, [[0, 1]], [[1, 2]], np.zeros((2, 3)), None, ValueError, "h0"),  # B is 1
        ("lstm", 2, [0, 1], [1, 2], None, np.zeros((2, 4)), ValueError, "c0"),
        ("rnn", 1, [0, 1], [1, 2], None, np.zeros(3), ValueError, "c0"),
        ("gru", 2, [0, 1], [1, 2], None, np.zeros((2, 3)), ValueError, "c0"),
        ("rnn", 1, [0, 1], [1, 2], np.array(["a", "b", "c"]), None, ValueError, "h0"),
    ],
)
def test_bad_input_raises(cell, L, inputs, targets, h0, c0, error, match):
    params = Params.random(layout(5, 3, cell=cell, layers=L))
    with pytest.raises(error, match=match):
        reference.forward_backward(params, inputs, targets, h0, c0)
    with pytest.raises(error, match=match):
        reference.loss(params, inputs, targets, h0, c0)
