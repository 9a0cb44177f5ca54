"""float32 mode (Params32, Trainer32, every function on a Params32) against float64 on the same
weights, for every cell (rnn, lstm, gru) at 1 and 2 layers, and the fused training update
against the two-step clip + AdaGrad it replaces.

Tolerances, stated once: float32 keeps ~7 significant digits, and a step sums T*m products, so
float32 losses agree with float64 to 1e-5 relative, gradients to 1e-4 of each tensor's largest
entry, activations to 1e-5 absolute, and a 400-step float32 training run's late losses to 5% of
float64's (training is chaotic: only the first steps are compared closely). Gradient checks
against finite differences stay float64 (test_family.py); float32 is checked against float64 here.
"""

import numpy as np
import pytest
from charrnn import _core

CELLS = _core.CELLS
FAMILY = [(cell, layers) for cell in CELLS for layers in (1, 2)]
IDS = [f"{cell}-L{layers}" for cell, layers in FAMILY]
K, M, T = 11, 15, 20  # M odd: a last SIMD vector part padding


def f32_copy(p):
    q = _core.Params32(p.K, p.m, cell=p.cell, layers=p.layers)
    q.flat = p.flat  # cast on assignment
    return q


def make(cell="rnn", layers=1, seed=0):
    rng = np.random.default_rng(seed)
    p = _core.Params.random(K, M, sig=0.3, seed=seed, cell=cell, layers=layers)
    for e in p.layout:
        if len(e["shape"]) == 1:
            p[e["name"]] = rng.normal(0, 0.3, e["shape"])
    return p, rng


@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_params32_is_float32_and_casts(cell, layers):
    p, _ = make(cell, layers)
    q = f32_copy(p)
    assert q.flat.dtype == np.float32 and q.layout == p.layout
    for name in p.names:
        assert q[name].dtype == np.float32 and q[name].shape == p[name].shape
    np.testing.assert_array_equal(q.flat, p.flat.astype(np.float32))
    q[p.names[0]] = p[p.names[0]] * 2  # by name: cast on assignment too
    np.testing.assert_array_equal(q[p.names[0]], (p[p.names[0]] * 2).astype(np.float32))


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_float32_forward_backward_matches_float64(cell, layers, B):
    p, rng = make(cell, layers, 1)
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    h0 = np.tanh(rng.normal(0, 1, (layers, B, M)))
    c0 = rng.normal(0, 1, (layers, B, M)) if cell == "lstm" else None
    if B == 1:  # a single sequence: (T,) and (L, m)
        x, y, h0, c0 = x[0], y[0], h0[:, 0], None if c0 is None else c0[:, 0]
    r64 = _core.forward_backward(p, x, y, h0, c0)
    r32 = _core.forward_backward(
        f32_copy(p), x, y, h0.astype(np.float32), None if c0 is None else c0.astype(np.float32)
    )
    assert r32.hs.dtype == np.float32 and r32.grads.flat.dtype == np.float32
    np.testing.assert_allclose(r32.loss, r64.loss, rtol=1e-5, err_msg="loss")
    for name in p.names:
        g64, g32 = r64.grads[name], r32.grads[name]
        np.testing.assert_allclose(
            g32, g64, rtol=0, atol=1e-4 * np.abs(g64).max(), err_msg=f"d{name} float32 vs float64"
        )
    names = ["hs", "h_last", "probs"] + (["cs", "c_last"] if cell == "lstm" else [])
    for name in names:
        np.testing.assert_allclose(
            getattr(r32, name), getattr(r64, name), rtol=0, atol=1e-5, err_msg=name
        )
    assert _core.loss(f32_copy(p), x, y, h0, c0) == pytest.approx(r64.loss, rel=1e-5)


@pytest.mark.parametrize("m", [16, 32])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_float32_matches_float64_at_whole_vector_m(cell, m):
    """m a multiple of the float32 SIMD width (no padding rows: the gated cells' unpadded paths),
    2 layers, 13 sequences of 25 (T B = 325: two depth blocks of the weight-gradient product)."""
    B, T_len, layers = 13, 25, 2
    rng = np.random.default_rng(m)
    p = _core.Params.random(K, m, sig=0.3, seed=m, cell=cell, layers=layers)
    x = rng.integers(0, K, (B, T_len))
    y = rng.integers(0, K, (B, T_len))
    h0 = np.tanh(rng.normal(0, 1, (layers, B, m)))
    c0 = rng.normal(0, 1, (layers, B, m)) if cell == "lstm" else None
    r64 = _core.forward_backward(p, x, y, h0, c0)
    r32 = _core.forward_backward(
        f32_copy(p), x, y, h0.astype(np.float32), None if c0 is None else c0.astype(np.float32)
    )
    np.testing.assert_allclose(r32.loss, r64.loss, rtol=1e-5, err_msg="loss")
    for name in p.names:
        g64, g32 = r64.grads[name], r32.grads[name]
        np.testing.assert_allclose(
            g32, g64, rtol=0, atol=1e-4 * np.abs(g64).max(), err_msg=f"d{name} float32 vs float64"
        )
    for name in ["hs", "h_last", "probs"] + (["cs", "c_last"] if cell == "lstm" else []):
        np.testing.assert_allclose(
            getattr(r32, name), getattr(r64, name), rtol=0, atol=1e-5, err_msg=name
        )


@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_float32_evaluate_and_sample_match_float64(cell, layers):
    p, rng = make(cell, layers, 2)
    q = f32_copy(p)
    text = rng.integers(0, K, 500)
    t64, n64 = _core.evaluate(p, text, window=64)
    t32, n32 = _core.evaluate(q, text, window=64)
    assert n32 == n64 == 499 and t32 == pytest.approx(t64, rel=1e-5)
    s32 = _core.sample(q, None, [1, 2], 50, seed=3)
    assert s32.shape == (50,) and np.all((s32 >= 0) & (s32 < K))
    np.testing.assert_array_equal(s32, _core.sample(q, None, [1, 2], 50, seed=3))
    # The same uniforms, probabilities 1e-5 apart: the texts agree until a draw lands between.
    s64 = _core.sample(p, None, [1, 2], 50, seed=3)
    assert s64[0] == s32[0]


def learnable_text(rng, n=20000):
    """5 of the K characters, each mostly determined by the one before (x -> 2x + 1 mod 5, with
    10% random characters): ~8 nats per sequence of 20 can be learnt, ~32 is a unigram's."""
    text, noise, random = np.empty(n, int), rng.random(n) < 0.1, rng.integers(0, 5, n)
    text[0] = 0
    for i in range(1, n):
        text[i] = random[i] if noise[i] else (2 * text[i - 1] + 1) % 5
    return text


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("cell", CELLS)
def test_trainer32_follows_trainer64(cell, batch):
    """Training is chaotic: float32 and float64 runs part ways after some tens of steps, so the
    first steps are compared closely and a longer run only in how far it lowers the loss."""
    p, rng = make(cell, 1, 2)
    text = learnable_text(rng)
    t64 = _core.Trainer(p.copy(), text, seq_length=T, batch=batch)
    t32 = _core.Trainer32(f32_copy(p), text, seq_length=T, batch=batch)
    l64, l32 = np.empty(400), np.empty(400)
    assert t64.run(l64) == 400 and t32.run(l32) == 400
    assert t32.h_prev.dtype == np.float32 and t32.params.flat.dtype == np.float32
    np.testing.assert_allclose(l32[:5], l64[:5], rtol=1e-4, err_msg="losses of the first 5 steps")
    first, last64, last32 = l64[:10].mean(), l64[-100:].mean(), l32[-100:].mean()
    assert last64 < 0.5 * first, "float64 training should lower the loss"
    assert abs(last32 - last64) < 0.05 * last64, (
        f"float32 run ends at mean loss {last32:.3f}, float64 at {last64:.3f}"
    )


@pytest.mark.parametrize(
    "dtype,eps", [("float64", 1e-8), ("float64", 1e-35), ("float64", 1e35), ("float32", 1e-8)]
)
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_fused_update_equals_clip_then_adagrad(cell, layers, dtype, eps):
    """Each trainer step (one pass: clip, AdaGrad with a fast 1/sqrt refined by Newton steps,
    best-params copy) equals forward_backward + clip_gradients + adagrad_step (exact sqrt and
    division) from the same state, to a few ulp. Compared step by step from the trainer's own
    state (h and, for lstm, c of every layer), so that training's chaos cannot amplify last-bit
    differences. eps = 1e-35 and 1e35 put mem + eps outside float range, where the fast path
    hands over to the exact one (float64 only: such eps are outside float32's own range)."""
    p, rng = make(cell, layers, 3)
    if dtype == "float32":
        p = f32_copy(p)
    text = rng.integers(0, K, 500)
    eta, clip = 0.05, 0.5  # clip small enough to bite
    Tr = _core.Trainer32 if dtype == "float32" else _core.Trainer
    tr = Tr(p.copy(), text, seq_length=T, eta=eta, eps=eps, clip=clip)
    rtol = 1e-13 if dtype == "float64" else 1e-6
    loss = np.empty(1)
    for step in range(12):
        q, mem = tr.params.copy(), tr.memory.copy()
        h = np.array(tr.h_prev[:, 0])
        c = None if tr.c_prev is None else np.array(tr.c_prev[:, 0])
        e, smooth_before, best_before = tr.position, tr.smooth_loss, tr.best_smooth_loss
        assert tr.run(loss) == 1
        r = _core.forward_backward(q, text[e : e + T], text[e + 1 : e + T + 1], h, c)
        np.testing.assert_allclose(loss[0], r.loss, rtol=rtol, err_msg=f"loss, step {step}")
        smooth = r.loss if np.isnan(smooth_before) else 0.999 * smooth_before + 0.001 * r.loss
        if smooth < best_before:
            np.testing.assert_array_equal(tr.best.flat, q.flat, err_msg=f"best, step {step}")
        _core.clip_gradients(r.grads, clip)
        _core.adagrad_step(q, r.grads, mem, eta, eps)
        scale = np.abs(q.flat).max()
        np.testing.assert_allclose(
            tr.params.flat, q.flat, rtol=rtol, atol=rtol * scale, err_msg=f"params, step {step}"
        )
        np.testing.assert_allclose(
            tr.memory.flat, mem.flat, rtol=rtol, atol=0, err_msg=f"memory, step {step}"
        )
