"""Mini-batches, for every cell (rnn, lstm, gru) at 1 to 3 layers: B sequences per call, column
t*B+j of every activation is sequence j at time t, and the loss (and so every gradient) is the
MEAN over the batch of the per-sequence summed losses. A batch must equal B separate batch-1
passes of the native core; the batched trainer must equal batched steps by hand; the vectorised
activations must be accurate over their whole range; and every code path of the vanilla layer's
sequential kernel (register blocks, their leftovers, the streamed product above the W-size
switch) must equal the line-by-line numpy reference.
Not here: native vs reference and vs finite differences in general (test_family.py), batch-1
behaviour (test_native.py), float32 in general (test_float32.py)."""

import numpy as np
import pytest
from charrnn import _core, reference

CELLS = _core.CELLS
FAMILY = [(cell, layers) for cell in CELLS for layers in (1, 2, 3)]
IDS = [f"{cell}-L{layers}" for cell, layers in FAMILY]
K, M, T, B = 9, 7, 7, 4


def make_case(cell="rnn", layers=1, seed=0, sig=0.4, K=K, m=M, T=T, B=B):
    """Random weights large enough that tanh and softmax are far from linear, non-zero biases,
    random inputs/targets and a random initial state (L, B, m) per sequence (c0 for lstm)."""
    rng = np.random.default_rng(seed)
    p = _core.Params.random(K, m, sig=sig, seed=seed, cell=cell, layers=layers)
    for e in p.layout:
        if len(e["shape"]) == 1:
            p[e["name"]] = rng.normal(0, 0.5, e["shape"])
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    h0 = np.tanh(rng.normal(0, 1, (layers, B, m)))
    c0 = rng.normal(0, 1, (layers, B, m)) if cell == "lstm" else None
    return p, x, y, h0, c0


def _states(cell):
    return ("hs", "h_last") + (("cs", "c_last") if cell == "lstm" else ())


@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_batched_equals_mean_of_separate_passes(cell, layers):
    p, x, y, h0, c0 = make_case(cell, layers)
    r = _core.forward_backward(p, x, y, h0, c0)
    singles = [
        _core.forward_backward(p, x[j], y[j], h0[:, j], None if c0 is None else c0[:, j])
        for j in range(B)
    ]
    np.testing.assert_allclose(
        r.loss, np.mean([s.loss for s in singles]), rtol=1e-13, err_msg="loss: mean over the batch"
    )
    for name in p.names:
        np.testing.assert_allclose(
            r.grads[name],
            np.mean([s.grads[name] for s in singles], axis=0),
            rtol=1e-12,
            atol=1e-14,
            err_msg=f"d{name}: mean over the batch",
        )
    for name in _states(cell):  # (L, B, ...): the batch axis after the layer axis
        np.testing.assert_allclose(
            getattr(r, name),
            np.stack([getattr(s, name) for s in singles], axis=1),
            rtol=1e-13,
            atol=1e-15,
            err_msg=name,
        )
    np.testing.assert_allclose(
        r.probs, np.stack([s.probs for s in singles]), rtol=1e-12, atol=1e-15, err_msg="probs"
    )


@pytest.mark.parametrize("cell", CELLS)
def test_one_layer_batch_without_the_layer_axis(cell):
    """For L = 1 the state may come as (B, m); the outputs then drop the layer axis too, and are
    the same numbers as with (1, B, m)."""
    p, x, y, h0, c0 = make_case(cell, 1, seed=3)
    with_axis = _core.forward_backward(p, x, y, h0, c0)
    without = _core.forward_backward(p, x, y, h0[0], None if c0 is None else c0[0])
    for name in _states(cell):
        assert getattr(without, name).shape == getattr(with_axis, name).shape[1:], name
        np.testing.assert_array_equal(
            getattr(without, name), getattr(with_axis, name)[0], err_msg=name
        )
    np.testing.assert_array_equal(without.grads.flat, with_axis.grads.flat, err_msg="grads")


def test_hidden_states_are_tanh_to_two_ulp():
    """With W = U = 0, h_1 = tanh(b): the vectorised float64 tanh against numpy's, over its whole
    range (tiny |x| where only a relative-accuracy formula is right, both sides of the first
    range-reduction boundary |x| = ln2/4 and of the spot where 2^k expm1(r) + 2^k - 1 cancels
    most, saturation past 20) and a last SIMD vector that is part zero padding."""
    xs = np.concatenate(
        [
            [
                0.0,
                -0.0,
                1e-300,
                -1e-12,
                1e-8,
                0.1732867951,
                -0.1732867952,
                0.191492,
                -0.549036,
                19.99,
                20.0,
                20.01,
                -700.0,
                1e300,
            ],
            np.linspace(-3, 3, 24),
        ]
    )
    m = xs.size  # 38: not a multiple of 4, 8 or 16
    p = _core.Params(K, m)
    p.b = xs
    r = _core.forward_backward(p, np.zeros((2, 1), int), np.zeros((2, 1), int), np.zeros((2, m)))
    for j in range(2):
        np.testing.assert_allclose(
            r.hs[j, 0], np.tanh(xs), rtol=4.5e-16, atol=0, err_msg=f"tanh, sequence {j}"
        )


def _sigmoid(a):
    return 0.5 + 0.5 * np.tanh(0.5 * a)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_are_accurate_and_saturate_cleanly(cell, dtype):
    """With W = U = 0 the first step's gates are functions of the biases alone: the cells'
    sigmoid and tanh against numpy over their whole range, huge pre-activations (+-1e30, +-750,
    where exp overflows) saturating to exactly 0 or 1 without NaN, in both rows of a batch."""
    xs = np.concatenate(
        [
            [
                0.0,
                -0.0,
                1e-30,
                -1e-12,
                1e-8,
                0.17,
                -0.55,
                19.99,
                20.0,
                20.01,
                -40.0,
                40.0,
                -88.0,
                88.0,
                -750.0,
                750.0,
                1e30,
                -1e30,
            ],
            np.linspace(-3, 3, 19),
        ]
    )
    m = xs.size  # 37: odd
    cls = _core.Params32 if dtype == "float32" else _core.Params
    p = cls(3, m, cell=cell)
    gates = [np.roll(xs, k) for k in range(4)]  # every value in every gate
    rng = np.random.default_rng(0)
    state = rng.normal(0, 1.5, m)
    as_dtype = lambda a: a.astype(dtype).astype(np.float64)  # noqa: E731
    if cell == "lstm":  # rows [i f g o]; c_1 = f c_0 + i g, h_1 = o tanh(c_1) from h_0 = 0
        p.b1 = np.concatenate(gates)
        i, f, g, o = (as_dtype(a) for a in gates)
        c = _sigmoid(f) * as_dtype(state) + _sigmoid(i) * np.tanh(g)
        expected = {"cs": c, "hs": _sigmoid(o) * np.tanh(c)}
        h0, c0 = np.zeros((2, m)), np.stack([state, state])
    else:  # rows [r z n]; h_1 = (1 - z) tanh(b_in + r bn) + z h_0
        r_, z_, n_, hn = (as_dtype(a) for a in gates)
        p.b1 = np.concatenate(gates[:3])
        p.bn1 = gates[3]
        with np.errstate(invalid="ignore"):  # r = 0 times bn = inf: numpy's NaN, not the cell's
            n = np.tanh(n_ + np.where(_sigmoid(r_) == 0, 0.0, _sigmoid(r_) * hn))
        z = _sigmoid(z_)
        expected = {"hs": (1 - z) * n + z * as_dtype(np.tanh(state))}
        h0, c0 = np.stack([np.tanh(state)] * 2), None
    result = _core.forward_backward(
        p,
        np.zeros((2, 1), int),
        np.zeros((2, 1), int),
        h0.astype(dtype),
        None if c0 is None else c0.astype(dtype),
    )
    tol = 4 * np.finfo(dtype).eps
    for name, value in expected.items():
        for j in range(2):
            got = getattr(result, name)[j, 0]
            assert np.all(np.isfinite(got)), (name, j, got)
            np.testing.assert_allclose(got, value, rtol=tol, atol=tol, err_msg=f"{name}[{j}]")
    assert np.all(np.isfinite(result.grads.flat)) and np.isfinite(result.loss)


@pytest.mark.parametrize(
    "cell,layers",
    [(c, l) for c in CELLS for l in (1, 2)],
    ids=[f"{c}-L{l}" for c in CELLS for l in (1, 2)],
)
def test_batched_trainer_equals_batched_steps(cell, layers):
    """Trainer(batch=B): B streams at offsets j * (len(text) // B), each with its own state
    (h of every layer, c for lstm); one step = batched forward_backward, clip, AdaGrad; at the
    epoch wrap every stream goes back to its start, from a zero state."""
    rng = np.random.default_rng(4)
    text = rng.integers(0, K, 300)
    p = make_case(cell, layers, seed=5, sig=0.3)[0]
    steps, eta = 12, 0.1
    tr = _core.Trainer(p.copy(), text, seq_length=T, batch=B, eta=eta)
    losses = np.empty(steps)
    assert tr.run(losses) == steps

    q, mem = p.copy(), _core.Params(K, M, cell=cell, layers=layers)
    chunk = len(text) // B
    zeros = lambda: np.zeros((layers, B, M))  # noqa: E731
    h, c, e = zeros(), (zeros() if cell == "lstm" else None), 0
    expected, wrapped = [], False
    for _ in range(steps):
        if e + T + 1 > chunk:  # epoch wrap: back to the start, from a zero state
            e, h, c, wrapped = 0, zeros(), (zeros() if cell == "lstm" else None), True
        x = np.stack([text[j * chunk + e : j * chunk + e + T] for j in range(B)])
        y = np.stack([text[j * chunk + e + 1 : j * chunk + e + T + 1] for j in range(B)])
        r = _core.forward_backward(q, x, y, h, c)
        expected.append(r.loss)
        _core.clip_gradients(r.grads, 5.0)
        _core.adagrad_step(q, r.grads, mem, eta, 1e-8)
        h, c, e = r.h_last, r.c_last, e + T
    assert wrapped, "the run should cross an epoch boundary"
    np.testing.assert_allclose(losses, expected, rtol=1e-12, err_msg="losses")
    np.testing.assert_allclose(tr.params.flat, q.flat, rtol=1e-12, atol=1e-14, err_msg="params")
    np.testing.assert_allclose(tr.memory.flat, mem.flat, rtol=1e-12, atol=1e-14, err_msg="memory")
    assert tr.h_prev.shape == (layers, B, M)
    np.testing.assert_allclose(tr.h_prev, h, rtol=1e-12, atol=1e-14, err_msg="h_prev")
    if cell == "lstm":
        assert tr.c_prev.shape == (layers, B, M)
        np.testing.assert_allclose(tr.c_prev, c, rtol=1e-12, atol=1e-14, err_msg="c_prev")
    else:
        assert tr.c_prev is None


# The vanilla layer's sequential kernel has several code paths: register blocks of 8 vectors for
# one column, 4 columns x 4 vectors for batches (with 1-3 leftover columns and a narrower last
# block), and for a W (m x mp, mp = m padded to the SIMD width) over 192 KiB Eigen's product on W
# itself. Each size below lands in a different combination; 153 and 154 are either side of the
# float64 switch with AVX-512 (the switch of this build is added if it is elsewhere); layer 2
# reads a dense input, not characters. All must equal the line-by-line numpy reference.
def _switch(itemsize):
    """The smallest m whose padded W takes the streamed path in this build."""
    lanes = 64 if "AVX512" in _core.SIMD else 32 if "AVX" in _core.SIMD else 16
    pad = lambda m: -(-m * itemsize // lanes) * lanes // itemsize  # noqa: E731
    return next(m for m in range(1, 10**4) if m * pad(m) * itemsize > 192 << 10)


KERNEL_CASES = sorted(
    {
        (1, 1, 1),
        (5, 2, 1),
        (17, 1, 1),
        (100, 1, 1),
        (100, 5, 1),
        (100, 7, 1),
        (153, 1, 1),
        (154, 1, 1),
        (154, 3, 1),
        (400, 2, 1),
        (37, 3, 2),
        (154, 3, 2),
        (_switch(8) - 1, 2, 1),
        (_switch(8), 2, 1),
    }
)


@pytest.mark.parametrize("m,B,layers", KERNEL_CASES)
def test_every_kernel_path_equals_numpy_reference(m, B, layers):
    p, x, y, h0, _ = make_case("rnn", layers, seed=m + B, sig=0.3 / np.sqrt(m), K=7, m=m, T=4, B=B)
    ref = reference.Params.from_native(p)
    expected = reference.forward_backward(ref, x, y, h0)
    r = _core.forward_backward(p, x, y, h0)
    np.testing.assert_allclose(r.loss, expected.loss, rtol=1e-12, err_msg="loss")
    np.testing.assert_allclose(r.hs, expected.hs, rtol=1e-12, atol=1e-15, err_msg="hs")
    for name in p.names:
        np.testing.assert_allclose(
            r.grads[name],
            expected.grads[name],
            rtol=1e-9,
            atol=1e-13,
            err_msg=f"d{name}, m={m}, B={B}, layers={layers}",
        )


@pytest.mark.parametrize("m", sorted({219, 220, _switch(4) - 1, _switch(4)}))
def test_float32_either_side_of_the_streamed_switch_agrees_with_float64(m):
    """m = 220 in float32 (padded to 224) is just over the 192 KiB W where float32 streams, 219
    just under it."""
    p, x, y, h0, _ = make_case("rnn", 1, seed=3, sig=0.3 / np.sqrt(m), K=7, m=m, T=3, B=2)
    p32 = _core.Params32(7, m)
    p32.flat = p.flat
    r64 = _core.forward_backward(p, x, y, h0)
    r32 = _core.forward_backward(p32, x, y, h0.astype(np.float32))
    np.testing.assert_allclose(r32.loss, r64.loss, rtol=1e-5, err_msg="loss")
    np.testing.assert_allclose(r32.hs, r64.hs, atol=1e-5, err_msg="hs")
    for name in p.names:
        g64 = r64.grads[name]
        np.testing.assert_allclose(
            r32.grads[name], g64, atol=1e-4 * np.abs(g64).max(), err_msg=f"d{name}"
        )
