"""float32 mode (Params32, Trainer32, forward_backward on a Params32) against float64 on the same
weights, and the fused training update against the two-step clip + AdaGrad it replaces.

Tolerances, stated once: float32 keeps ~7 significant digits, and a step sums T*m products, so
float32 losses agree with float64 to 1e-5 relative, gradients to 1e-4 of each tensor's largest
entry, and a 100-step float32 training run's losses to 1e-4 relative. Gradient checks against
finite differences stay float64 (tests of the core); float32 is checked against float64 here.
"""

import numpy as np
import pytest

from charrnn import _core

K, M, T = 11, 16, 20


def f32_copy(p):
    q = _core.Params32(p.K, p.m)
    q.flat = p.flat  # cast on assignment
    return q


def make(seed=0):
    rng = np.random.default_rng(seed)
    p = _core.Params.random(K, M, 0.3, seed)
    p.b = rng.normal(0, 0.3, M)
    p.c = rng.normal(0, 0.3, K)
    return p, rng


def test_params32_is_float32_and_casts():
    p, _ = make()
    q = f32_copy(p)
    assert q.flat.dtype == np.float32 and q.W.dtype == np.float32
    np.testing.assert_array_equal(q.flat, p.flat.astype(np.float32))


@pytest.mark.parametrize("B", [1, 3])
def test_float32_forward_backward_matches_float64(B):
    p, rng = make(1)
    x = rng.integers(0, K, (B, T)).squeeze(0) if B == 1 else rng.integers(0, K, (B, T))
    y = rng.integers(0, K, x.shape)
    h0 = np.tanh(rng.normal(0, 1, (B, M))).squeeze(0) if B == 1 else np.tanh(rng.normal(0, 1, (B, M)))
    r64 = _core.forward_backward(p, x, y, h0)
    r32 = _core.forward_backward(f32_copy(p), x, y, h0.astype(np.float32))
    assert r32.hs.dtype == np.float32 and r32.grads.flat.dtype == np.float32
    np.testing.assert_allclose(r32.loss, r64.loss, rtol=1e-5, err_msg="loss")
    for name in "WUVbc":
        g64, g32 = getattr(r64.grads, name), getattr(r32.grads, name)
        np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-4 * np.abs(g64).max(),
                                   err_msg=f"d{name} float32 vs float64")
    np.testing.assert_allclose(r32.hs, r64.hs, rtol=0, atol=1e-5, err_msg="hs")
    np.testing.assert_allclose(r32.probs, r64.probs, rtol=0, atol=1e-5, err_msg="probs")


@pytest.mark.parametrize("batch", [1, 4])
def test_trainer32_follows_trainer64(batch):
    """Training is chaotic: float32 and float64 runs part ways after some tens of steps, so the
    first steps are compared closely and a longer run only in how far it lowers the loss."""
    p, rng = make(2)
    text = rng.integers(0, 5, 20000)  # a learnable text: 5 of the K characters
    t64 = _core.Trainer(p.copy(), text, seq_length=T, batch=batch)
    t32 = _core.Trainer32(f32_copy(p), text, seq_length=T, batch=batch)
    l64, l32 = np.empty(400), np.empty(400)
    assert t64.run(l64) == 400 and t32.run(l32) == 400
    np.testing.assert_allclose(l32[:5], l64[:5], rtol=1e-4, err_msg="losses of the first 5 steps")
    first, last64, last32 = l64[:10].mean(), l64[-100:].mean(), l32[-100:].mean()
    assert last64 < 0.8 * first, "float64 training should lower the loss"
    assert abs(last32 - last64) < 0.05 * last64, (
        f"float32 run ends at mean loss {last32:.3f}, float64 at {last64:.3f}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("eps", [1e-8, 1e-35, 1e35])
def test_fused_update_equals_clip_then_adagrad(dtype, eps):
    """Each trainer step (one pass: clip, AdaGrad with a fast 1/sqrt refined by Newton steps,
    best-params copy) equals forward_backward + clip_gradients + adagrad_step (exact sqrt and
    division) from the same state, to a few ulp. Compared step by step from the trainer's own
    state, so that training's chaos cannot amplify last-bit differences. eps = 1e-35 and 1e35
    put mem + eps outside float range, where the fast path hands over to the exact one."""
    if dtype == "float32" and eps != 1e-8:
        pytest.skip("eps outside float32 range")
    p, rng = make(3)
    if dtype == "float32":
        p = f32_copy(p)
    text = rng.integers(0, K, 500)
    eta, clip = 0.05, 0.5  # clip small enough to bite
    Tr = _core.Trainer32 if dtype == "float32" else _core.Trainer
    tr = Tr(p.copy(), text, seq_length=T, eta=eta, eps=eps, clip=clip)
    rtol = 1e-13 if dtype == "float64" else 1e-6
    loss = np.empty(1)
    for step in range(12):
        q, mem, h = tr.params.copy(), tr.memory.copy(), tr.h_prev[0].copy()
        e, smooth_before, best_before = tr.position, tr.smooth_loss, tr.best_smooth_loss
        assert tr.run(loss) == 1
        r = _core.forward_backward(q, text[e:e + T], text[e + 1:e + T + 1], h)
        np.testing.assert_allclose(loss[0], r.loss, rtol=rtol, err_msg=f"loss, step {step}")
        smooth = r.loss if np.isnan(smooth_before) else 0.999 * smooth_before + 0.001 * r.loss
        if smooth < best_before:
            np.testing.assert_array_equal(tr.best.flat, q.flat, err_msg=f"best, step {step}")
        _core.clip_gradients(r.grads, clip)
        _core.adagrad_step(q, r.grads, mem, eta, eps)
        scale = np.abs(q.flat).max()
        np.testing.assert_allclose(tr.params.flat, q.flat, rtol=rtol, atol=rtol * scale,
                                   err_msg=f"params, step {step}")
        np.testing.assert_allclose(tr.memory.flat, mem.flat, rtol=rtol, atol=0,
                                   err_msg=f"memory, step {step}")
