"""Mini-batch forward/backward and training: B sequences per call, column t*B+j of every
activation is sequence j at time t, and the loss (and so every gradient) is the MEAN over the
batch of the per-sequence summed losses. Checked three ways, as batch 1 is: against B separate
batch-1 passes of the native core, against the numpy reference, and against finite differences.
Not here: batch-1 gradients (test files of the core) and float32 (test_float32.py).
"""

import numpy as np
import pytest

from charrnn import _core, reference

K, M, T, B = 9, 6, 7, 4


def make_case(seed=0, sig=0.4, K=K, m=M, T=T, B=B):
    """Random weights large enough that tanh and softmax are far from linear, non-zero biases,
    random inputs/targets and a random initial state per sequence."""
    rng = np.random.default_rng(seed)
    p = _core.Params.random(K, m, sig, seed)
    p.b = rng.normal(0, 0.5, m)
    p.c = rng.normal(0, 0.5, K)
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    h0 = np.tanh(rng.normal(0, 1, (B, m)))
    return p, x, y, h0


def test_batched_equals_mean_of_separate_passes():
    p, x, y, h0 = make_case()
    r = _core.forward_backward(p, x, y, h0)
    singles = [_core.forward_backward(p, x[j], y[j], h0[j]) for j in range(B)]
    np.testing.assert_allclose(r.loss, np.mean([s.loss for s in singles]), rtol=1e-13,
                               err_msg="loss: mean over the batch")
    for name in "WUVbc":
        np.testing.assert_allclose(
            getattr(r.grads, name), np.mean([getattr(s.grads, name) for s in singles], axis=0),
            rtol=1e-12, atol=1e-14, err_msg=f"d{name}: mean over the batch")
    np.testing.assert_allclose(r.hs, np.stack([s.hs for s in singles]), rtol=1e-13, atol=1e-15,
                               err_msg="hs")
    np.testing.assert_allclose(r.probs, np.stack([s.probs for s in singles]), rtol=1e-12,
                               atol=1e-15, err_msg="probs")
    np.testing.assert_allclose(r.h_last, np.stack([s.h_last for s in singles]), rtol=1e-13,
                               atol=1e-15, err_msg="h_last")


def test_batched_equals_numpy_reference():
    p, x, y, h0 = make_case(seed=1)
    ref = reference.Params(*(np.array(getattr(p, n)) for n in reference.NAMES))
    singles = [reference.forward_backward(ref, x[j], y[j], h0[j]) for j in range(B)]
    r = _core.forward_backward(p, x, y, h0)
    np.testing.assert_allclose(r.loss, np.mean([s.loss for s in singles]), rtol=1e-12, err_msg="loss")
    for name in reference.NAMES:
        expected = np.mean([getattr(s.grads, name) for s in singles], axis=0)
        np.testing.assert_allclose(getattr(r.grads, name), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"d{name} vs numpy reference")


def test_batched_gradients_match_finite_differences():
    p, x, y, h0 = make_case(seed=2, K=6, m=5, T=5, B=3)
    g = _core.forward_backward(p, x, y, h0).grads
    step = 1e-5
    for name in "WUVbc":
        a, analytic = getattr(p, name), getattr(g, name)
        numeric = np.zeros_like(analytic)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + step
            lp = _core.loss(p, x, y, h0)
            a[idx] = old - step
            lm = _core.loss(p, x, y, h0)
            a[idx] = old
            numeric[idx] = (lp - lm) / (2 * step)
        rel = np.linalg.norm(numeric - analytic) / (np.linalg.norm(numeric) + np.linalg.norm(analytic))
        assert rel < 1e-6, f"d{name}: relative error {rel:.2e} against central differences"


def test_hidden_states_are_tanh_to_two_ulp():
    """With W = U = 0, h_1 = tanh(b): the vectorised float64 tanh against numpy's, over its whole
    range (tiny |x| where only a relative-accuracy formula is right, both sides of the first
    range-reduction boundary |x| = ln2/4 and of the spot where 2^k expm1(r) + 2^k - 1 cancels
    most, saturation past 20) and a last SIMD vector that is part zero padding."""
    xs = np.concatenate([[0.0, -0.0, 1e-300, -1e-12, 1e-8, 0.1732867951, -0.1732867952,
                          0.191492, -0.549036, 19.99, 20.0, 20.01, -700.0, 1e300],
                         np.linspace(-3, 3, 24)])
    m = xs.size  # 37: not a multiple of 2, 4, 8 or 16
    p = _core.Params(K, m)
    p.b = xs
    r = _core.forward_backward(p, np.zeros((2, 1), int), np.zeros((2, 1), int), np.zeros((2, m)))
    for j in range(2):
        np.testing.assert_allclose(r.hs[j, 0], np.tanh(xs), rtol=4.5e-16, atol=0,
                                   err_msg=f"tanh, sequence {j}")


def test_batched_trainer_equals_batched_steps():
    """Trainer(batch=B): B streams at offsets j * (len(text) // B), each with its own hidden
    state; one step = batched forward_backward, clip, AdaGrad."""
    rng = np.random.default_rng(4)
    text = rng.integers(0, K, 300)
    p = _core.Params.random(K, M, 0.3, 5)
    steps, eta = 12, 0.1
    tr = _core.Trainer(p.copy(), text, seq_length=T, batch=B, eta=eta)
    losses = np.empty(steps)
    assert tr.run(losses) == steps

    q, mem = p.copy(), _core.Params(K, M)
    chunk = len(text) // B
    h, e = np.zeros((B, M)), 0
    expected = []
    for _ in range(steps):
        if e + T + 1 > chunk:  # epoch wrap: back to the start, from h = 0
            e, h = 0, np.zeros((B, M))
        x = np.stack([text[j * chunk + e: j * chunk + e + T] for j in range(B)])
        y = np.stack([text[j * chunk + e + 1: j * chunk + e + T + 1] for j in range(B)])
        r = _core.forward_backward(q, x, y, h)
        expected.append(r.loss)
        _core.clip_gradients(r.grads, 5.0)
        _core.adagrad_step(q, r.grads, mem, eta, 1e-8)
        h, e = r.h_last, e + T
    np.testing.assert_allclose(losses, expected, rtol=1e-12, err_msg="losses")
    np.testing.assert_allclose(tr.params.flat, q.flat, rtol=1e-12, atol=1e-14, err_msg="params")
    np.testing.assert_allclose(tr.memory.flat, mem.flat, rtol=1e-12, atol=1e-14, err_msg="memory")
    np.testing.assert_allclose(tr.h_prev, h, rtol=1e-12, atol=1e-14, err_msg="h_prev")


@pytest.mark.parametrize("bad_B", [0])
def test_batched_input_shapes_are_checked(bad_B):
    p, x, y, h0 = make_case()
    with pytest.raises(ValueError):
        _core.forward_backward(p, x, y, h0[:2])  # h0 rows != B
    with pytest.raises(ValueError):
        _core.forward_backward(p, x[:bad_B], y[:bad_B], h0[:bad_B])


# The sequential kernel has several code paths: register blocks of 8 vectors for one column,
# 4 columns x 4 vectors for batches (with 1-3 leftover columns and a narrower last block), and
# for a W larger than 192 KB (m >= 154 in float64) Eigen's product on W itself. Each size below
# lands in a different combination (153 and 154 are either side of the switch); all must equal
# the line-by-line numpy reference.
@pytest.mark.parametrize("m,B", [(1, 1), (5, 2), (17, 1), (100, 1), (100, 5), (100, 7), (153, 1),
                                 (154, 1), (154, 3), (400, 2)])
def test_every_kernel_path_equals_numpy_reference(m, B):
    p, x, y, h0 = make_case(seed=m + B, sig=0.3 / np.sqrt(m), K=7, m=m, T=4, B=B)
    ref = reference.Params(*(np.array(getattr(p, n)) for n in reference.NAMES))
    singles = [reference.forward_backward(ref, x[j], y[j], h0[j]) for j in range(B)]
    r = _core.forward_backward(p, x, y, h0)
    np.testing.assert_allclose(r.loss, np.mean([s.loss for s in singles]), rtol=1e-12)
    np.testing.assert_allclose(r.hs, np.stack([s.hs for s in singles]), rtol=1e-12, atol=1e-15)
    for name in reference.NAMES:
        expected = np.mean([getattr(s.grads, name) for s in singles], axis=0)
        np.testing.assert_allclose(getattr(r.grads, name), expected, rtol=1e-9, atol=1e-13,
                                   err_msg=f"d{name}, m={m}, B={B}")


def test_large_float32_model_takes_the_streamed_path_and_agrees_with_float64():
    """m = 220 in float32 (padded to 224) is just over the 192 KB W where float32 streams."""
    p, x, y, h0 = make_case(seed=3, sig=0.3 / np.sqrt(220), K=7, m=220, T=3, B=2)
    p32 = _core.Params32(7, 220)
    p32.flat = p.flat
    r64 = _core.forward_backward(p, x, y, h0)
    r32 = _core.forward_backward(p32, x, y, h0.astype(np.float32))
    np.testing.assert_allclose(r32.loss, r64.loss, rtol=1e-5)
    np.testing.assert_allclose(r32.hs, r64.hs, atol=1e-5)
    for name in "WUVbc":
        g64 = getattr(r64.grads, name)
        np.testing.assert_allclose(getattr(r32.grads, name), g64,
                                   atol=1e-4 * np.abs(g64).max(), err_msg=f"d{name}")
