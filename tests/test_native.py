"""The native core's own behaviour, for every cell (rnn, lstm, gru) at 1 to 3 layers: the layout
table and the parameter block (names, views, initialisation), the shapes of what forward_backward
returns, a sequence run in chunks with the state carried equal to the whole sequence exactly,
determinism, sampling and evaluation, clipping and AdaGrad by hand.
Not here: native vs the numpy reference and vs finite differences (test_family.py), batches and
the vanilla kernel's size thresholds (test_batched.py), float32 (test_float32.py), bad input
(test_bad_input.py, test_fuzz.py)."""

import gc

import numpy as np
import pytest
from charrnn import _core

CELLS = _core.CELLS  # ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # rows of a layer's stacked weights per hidden unit
FAMILY = [(cell, layers) for cell in CELLS for layers in (1, 2, 3)]
IDS = [f"{cell}-L{layers}" for cell, layers in FAMILY]


def random_params(cell, layers, K=7, m=5, seed=0, sig=0.5):
    """Seeded weights (rnn N(0, sig^2), lstm/gru their uniform init) and non-zero biases, so
    every bias path is exercised."""
    p = _core.Params.random(K, m, sig, seed, cell=cell, layers=layers)
    rng = np.random.default_rng(seed + 100)
    for e in p.layout:
        if len(e["shape"]) == 1:
            p[e["name"]] = rng.normal(0, 0.3, e["shape"])
    return p


def random_state(p, B, seed=0):
    """(h0, c0), each (L, B, m) (c0 None unless lstm), well inside tanh's range."""
    rng = np.random.default_rng(seed + 200)
    shape = (p.layers, B, p.m)
    h0 = np.tanh(rng.normal(0, 1, shape))
    return h0, (rng.normal(0, 1, shape) if p.cell == "lstm" else None)


def expected_names(cell, layers):
    """Block order: every layer's W, U; then V; every layer's b (and bn for gru); then c."""
    if cell == "rnn" and layers == 1:
        return ["W", "U", "V", "b", "c"]
    names = [f"{r}{l}" for l in range(1, layers + 1) for r in "WU"] + ["V"]
    names += [
        n
        for l in range(1, layers + 1)
        for n in ([f"b{l}", f"bn{l}"] if cell == "gru" else [f"b{l}"])
    ]
    return names + ["c"]


# --- the layout table and the parameter block ----------------------------------------------------
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_layout_table(cell, layers):
    K, m, G = 6, 5, GATES[cell]
    table = _core.layout(cell, K, m, layers)
    assert [e["name"] for e in table] == expected_names(cell, layers)
    offset = 0
    for e in table:
        assert e["offset"] == offset and e["size"] == int(np.prod(e["shape"])), e
        offset += e["size"]
        role, layer = e["role"], e["layer"]
        expected = {
            "W": (G * m, m),
            "U": (G * m, K if layer == 1 else m),
            "b": (G * m,),
            "bn": (m,),
            "V": (K, m),
            "c": (K,),
        }[role]
        assert e["shape"] == expected, e
        assert (layer == 0) == (role in "Vc") and 0 <= layer <= layers, e
        weight_init = "normal" if cell == "rnn" else "uniform"
        init = {
            "W": weight_init,
            "U": weight_init,
            "V": weight_init,
            "c": "zeros",
            "bn": "zeros",
            "b": "forget_bias" if cell == "lstm" else "zeros",
        }[role]
        assert e["init"] == init, e
    assert (cell == "gru") == any(e["role"] == "bn" for e in table)
    for cls in (_core.Params, _core.Params32):
        p = cls(K, m, cell, layers)
        assert p.layout == table and list(p.names) == expected_names(cell, layers)
        assert p.flat.size == offset and not p.flat.any()
        assert (p.K, p.m, p.cell, p.layers) == (K, m, cell, layers)
        assert p.spec == {"cell": cell, "K": K, "m": m, "layers": layers, "embedding": 0}
        assert p.copy().layout == table


@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_views_share_memory_and_setters_copy(cell, layers):
    p = _core.Params(4, 3, cell, layers)
    for i, e in enumerate(p.layout):
        name = e["name"]
        view, attr = p[name], getattr(p, name)
        assert view.shape == attr.shape == e["shape"] and view.dtype == np.float64
        assert name in p
        view.reshape(-1)[-1] = i + 1.0  # writable, zero-copy: lands in flat at the offset
        assert p.flat[e["offset"] + e["size"] - 1] == i + 1.0 == attr.reshape(-1)[-1]
        source = np.arange(e["size"], dtype=float).reshape(e["shape"]) + 0.5
        if i % 2:
            p[name] = source
        else:
            setattr(p, name, source)
        source.reshape(-1)[0] = -100.0  # the setter copied
        np.testing.assert_array_equal(
            p.flat[e["offset"] : e["offset"] + e["size"]], np.arange(e["size"]) + 0.5, err_msg=name
        )
    before = p.flat.copy()
    q = p.copy()
    q.flat[:] = 7.0
    np.testing.assert_array_equal(p.flat, before, err_msg="copy() shares memory")


def test_vanilla_block_is_row_major_in_layout_order():
    p = _core.Params(3, 2)
    p.U[1, 2] = 7.0
    assert p.flat[4 + 1 * 3 + 2] == 7.0  # W (2, 2) first, then U (2, 3) row-major


def test_views_outlive_their_params():
    views = [_core.Params.random(4, 3, 1.0, 1, cell=c, layers=2)["W2"] for c in CELLS]
    gc.collect()  # the Params objects are gone; their blocks live on in the views
    for w in views:
        assert np.all(np.isfinite(w)) and np.any(w != 0)


@pytest.mark.parametrize("cell", CELLS)
def test_random_init_follows_the_layout(cell):
    K, m, layers, sig = 40, 31, 2, 0.05
    a = _core.Params.random(K, m, sig, 5, cell=cell, layers=layers)
    np.testing.assert_array_equal(
        a.flat, _core.Params.random(K, m, sig, 5, cell=cell, layers=layers).flat
    )
    assert not np.array_equal(
        a.flat, _core.Params.random(K, m, sig, 6, cell=cell, layers=layers).flat
    )
    a32 = _core.Params32.random(K, m, sig, 5, cell=cell, layers=layers)
    np.testing.assert_array_equal(a32.flat, a.flat.astype(np.float32), err_msg="Params32.random")
    bound = 1 / np.sqrt(m)
    for e in a.layout:
        x = a[e["name"]]
        if e["init"] == "normal":
            assert abs(x.std() - sig) < 0.1 * sig and abs(x.mean()) < 0.1 * sig, e["name"]
        elif e["init"] == "uniform":
            assert np.abs(x).max() <= bound and np.abs(x).max() > 0.95 * bound, e["name"]
            assert abs(x.std() - bound / np.sqrt(3)) < 0.1 * bound, e["name"]
        elif e["init"] == "forget_bias":  # rows [i f g o]: the forget gate's bias is 1
            np.testing.assert_array_equal(
                x, np.r_[np.zeros(m), np.ones(m), np.zeros(2 * m)], err_msg=e["name"]
            )
        else:
            assert e["init"] == "zeros" and not x.any(), e["name"]
    if cell != "rnn":  # sig is the vanilla RNN's; the others' init depends on m only
        other = _core.Params.random(K, m, 0.9, 5, cell=cell, layers=layers)
        np.testing.assert_array_equal(other.flat, a.flat)


# --- what forward_backward returns ------------------------------------------------------------
@pytest.mark.parametrize("B", [None, 3], ids=["single", "batch"])
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_results_are_shaped_like_the_input_and_consistent(cell, layers, B):
    """The state arrays carry the layer axis exactly when h0 did (None: when L > 1), the batch
    axis when the input had one; h_last is the last of hs, probs are distributions whose
    -log p[y] sum is the loss (mean over the batch), and h0 = None is zeros."""
    p, T = random_params(cell, layers), 6
    rng = np.random.default_rng(layers)
    x = rng.integers(0, p.K, (B or 1, T))
    y = rng.integers(0, p.K, (B or 1, T))
    h0, c0 = random_state(p, B or 1)
    if B is None:
        x, y, h0, c0 = x[0], y[0], h0[:, 0], None if c0 is None else c0[:, 0]
    lead = (B,) if B else ()
    forms = [(h0, c0, True), (None, None, layers > 1)]
    if layers == 1:
        forms.append((h0[0], None if c0 is None else c0[0], False))
    for h, c, axis in forms:
        r = _core.forward_backward(p, x, y, h, c)
        state = ((layers,) if axis else ()) + lead
        assert r.hs.shape == state + (T, p.m) and r.h_last.shape == state + (p.m,)
        assert r.probs.shape == lead + (T, p.K)
        np.testing.assert_array_equal(r.h_last, r.hs[..., -1, :], err_msg="h_last")
        if cell == "lstm":
            assert r.cs.shape == r.hs.shape and r.c_last.shape == r.h_last.shape
            np.testing.assert_array_equal(r.c_last, r.cs[..., -1, :], err_msg="c_last")
        else:
            assert r.cs is None and r.c_last is None
        np.testing.assert_allclose(r.probs.sum(axis=-1), 1.0, rtol=1e-14, err_msg="sum p")
        picked = np.take_along_axis(r.probs, y[..., None], axis=-1)[..., 0]
        np.testing.assert_allclose(
            r.loss, -np.log(picked).sum(axis=-1).mean(), rtol=1e-13, err_msg="loss = -sum log p[y]"
        )
        assert r.loss == _core.loss(p, x, y, h, c)
        assert r.grads.layout == p.layout
        if h is None:
            zeros = np.zeros((layers,) + lead + (p.m,))
            z = _core.forward_backward(p, x, y, zeros, zeros if cell == "lstm" else None)
            np.testing.assert_array_equal(z.grads.flat, r.grads.flat, err_msg="None vs zeros")
            np.testing.assert_array_equal(z.hs.reshape(r.hs.shape), r.hs, err_msg="None vs zeros")


# --- a sequence in chunks ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell", CELLS)
def test_chunks_with_the_state_carried_equal_the_whole_sequence(cell, dtype):
    """As torch-rnn's LSTM_test: a sequence run in three chunks (5, 1 and 6 steps), the final
    states of each chunk passed to the next, gives the states (every h_t, c_t, h_T, c_T) and
    probabilities of one run over the whole sequence to 16 ulp (seen: up to 9 at 3 layers); the loss
    is the sum of the chunks' losses. Not bit for bit: the products over all steps of a call at once
    (the output layer, a layer's input from the layer below) take Eigen's matrix-vector path for a
    1-step chunk and its matrix-matrix path otherwise, which round differently (the one-layer
    vanilla recurrence is exact: next test). Checked at 1-3 layers, batch 1 and 3; every mismatch is
    listed."""
    cls = _core.Params32 if dtype == "float32" else _core.Params
    ulp = np.finfo(dtype).eps
    mismatches = []
    for layers in (1, 2, 3):
        for B in (1, 3):
            p64 = random_params(cell, layers, K=7, m=9, seed=layers + B)
            p = cls(p64.K, p64.m, cell, layers)
            p.flat = p64.flat
            rng = np.random.default_rng(B)
            x, y = rng.integers(0, p.K, (2, B, 12))
            h0, c0 = random_state(p, B)
            h0 = h0.astype(dtype)
            c0 = None if c0 is None else c0.astype(dtype)
            whole = _core.forward_backward(p, x, y, h0, c0)
            h, c, parts = h0, c0, []
            for a, b in ((0, 5), (5, 6), (6, 12)):
                parts.append(_core.forward_backward(p, x[:, a:b], y[:, a:b], h, c))
                h, c = parts[-1].h_last, parts[-1].c_last
            got = {
                "hs": np.concatenate([r.hs for r in parts], axis=-2),
                "h_last": h,
                "probs": np.concatenate([r.probs for r in parts], axis=-2),
            }
            if cell == "lstm":
                got["cs"] = np.concatenate([r.cs for r in parts], axis=-2)
                got["c_last"] = c
            for name, value in got.items():
                expected = getattr(whole, name)
                scale = np.maximum(1.0, np.abs(expected))
                ulps = (np.abs(value - expected) / (scale * ulp)).max()
                if ulps > 16:
                    mismatches.append(f"L={layers} B={B} {name}: {ulps:.1f} ulp")
            np.testing.assert_allclose(
                sum(r.loss for r in parts),
                whole.loss,
                rtol=20 * ulp,
                err_msg=f"loss, L={layers}, B={B}",
            )
    assert not mismatches, f"{cell} {dtype}, chunked != whole: " + "; ".join(mismatches)


@pytest.mark.parametrize(
    "dtype,m",
    [("float64", 5), ("float64", 153), ("float64", 154), ("float32", 219), ("float32", 220)],
)
def test_vanilla_states_are_chunk_exact_on_every_kernel_path(dtype, m):
    """The one-layer vanilla RNN's recurrence (register-blocked below the W-size switch, Eigen's
    product above it) gives the same bits for a step wherever it falls in a call."""
    cls = _core.Params32 if dtype == "float32" else _core.Params
    p = cls(7, m)
    p.flat = random_params("rnn", 1, K=7, m=m, sig=0.3 / np.sqrt(m)).flat
    rng = np.random.default_rng(m)
    for B in (1, 3):
        x, y = rng.integers(0, 7, (2, B, 8))
        h0 = np.tanh(rng.normal(0, 1, (B, m))).astype(dtype)
        whole = _core.forward_backward(p, x, y, h0)
        first = _core.forward_backward(p, x[:, :3], y[:, :3], h0)
        second = _core.forward_backward(p, x[:, 3:], y[:, 3:], first.h_last)
        np.testing.assert_array_equal(
            np.concatenate([first.hs, second.hs], axis=1), whole.hs, err_msg=f"hs, B={B}"
        )


# --- determinism ------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", CELLS)
def test_same_input_same_bits(cell):
    """Repeated calls, fresh copies of the parameters and a fresh trainer give identical bits:
    no state leaks between calls (workspaces are per call) and nothing is uninitialised."""
    p = random_params(cell, 2, m=13)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, p.K, (2, 4, 9))
    h0, c0 = random_state(p, 4)
    first = _core.forward_backward(p, x, y, h0, c0)
    _core.forward_backward(p, x[:1, :3], y[:1, :3])  # a different size in between
    for q in (p, p.copy()):
        again = _core.forward_backward(q, x, y, h0, c0)
        assert again.loss == first.loss
        for name in ("hs", "h_last", "probs") + (("cs", "c_last") if cell == "lstm" else ()):
            np.testing.assert_array_equal(getattr(again, name), getattr(first, name), err_msg=name)
        np.testing.assert_array_equal(again.grads.flat, first.grads.flat, err_msg="grads")
    text = rng.integers(0, p.K, 400)
    runs = []
    for _ in range(2):
        tr = _core.Trainer(p.copy(), text, seq_length=7, batch=2)
        losses = np.empty(60)
        assert tr.run(losses) == 60
        runs.append((losses, tr.params.flat.copy(), np.array(tr.h_prev)))
    for a, b, what in zip(runs[0], runs[1], ("losses", "params", "h_prev")):
        np.testing.assert_array_equal(a, b, err_msg=f"trainer {what}")


@pytest.mark.parametrize("cell", CELLS)
def test_awkward_input_arrays_give_the_plain_result(cell):
    """Non-contiguous, other integer widths, big-endian, lists, a strided and a float32 state:
    converted at the boundary, the same bits as contiguous int64/float64 (float32: a cast)."""
    p = random_params(cell, 2)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, p.K, (2, 9))
    h0, c0 = random_state(p, 1)
    h0, c0 = h0[:, 0], None if c0 is None else c0[:, 0]
    base = _core.forward_backward(p, x, y, h0, c0)
    wide = np.zeros((p.layers, 2 * p.m))
    wide[:, ::2] = h0
    for inputs, targets, h in [
        (np.repeat(x, 2)[::2], y.astype(np.uint8), h0),
        (x.astype(">i4"), y.astype(np.int16).tolist(), wide[:, ::2]),
        (x[::-1].copy()[::-1], y, h0.astype(">f8").tolist()),
    ]:
        r = _core.forward_backward(p, inputs, targets, h, c0)
        assert r.loss == base.loss
        np.testing.assert_array_equal(r.grads.flat, base.grads.flat, err_msg="grads")
    cast = _core.forward_backward(p, x, y, h0.astype(np.float32), c0)
    np.testing.assert_allclose(cast.loss, base.loss, rtol=1e-6)


# --- sampling ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_greedy_sampling_follows_the_forward_pass(cell, layers):
    """With a tiny nucleus (top_p) or temperature each draw is the most likely next character;
    feeding prime + drawn text through forward_backward from the same state must predict exactly
    those characters: sampling reads prime[:-1] first, prime[-1] is the first input, and the
    state (every layer, c for lstm) is carried from draw to draw."""
    p = random_params(cell, layers, K=9, m=7, sig=1.5)
    p.flat = p.flat * 3  # sharp distributions: no near-ties among the most likely
    h0, c0 = random_state(p, 1, seed=layers)
    h0, c0 = h0[:, 0], None if c0 is None else c0[:, 0]
    prime = np.array([1, 4, 2])
    greedy = _core.sample(p, h0, prime, 12, seed=1, top_p=1e-9, c0=c0)
    assert greedy.dtype == np.int32 and greedy.shape == (12,)
    np.testing.assert_array_equal(
        _core.sample(p, h0, prime, 12, seed=2, temperature=1e-3, c0=c0),
        greedy,
        err_msg="temperature -> 0 is greedy too",
    )
    seq = np.concatenate([prime, greedy])
    r = _core.forward_backward(p, seq[:-1], seq[1:], h0, c0)
    np.testing.assert_array_equal(
        r.probs.argmax(axis=1)[len(prime) - 1 :],
        greedy,
        err_msg="greedy draws vs argmax of the forward pass",
    )
    zeros = np.zeros((layers, p.m))
    np.testing.assert_array_equal(
        _core.sample(p, None, prime, 12, seed=1, top_p=1e-9),
        _core.sample(p, zeros, prime, 12, seed=1, top_p=1e-9, c0=zeros if cell == "lstm" else None),
        err_msg="h0=None vs zeros",
    )


@pytest.mark.parametrize("cell", CELLS)
def test_sampling_is_seeded_and_draws_from_the_softmax(cell):
    """Same seed, same text; a longer sample starts with the shorter one; the first draw's
    frequencies over 3000 seeds match softmax(o / temperature), restricted to the top_p nucleus
    (the smallest set of most likely characters whose mass reaches top_p) and renormalised.
    (temperature 1 and the nucleus alone: tests/test_train.py.)"""
    p = random_params(cell, 2, K=6, m=5, sig=1.0)
    h0, c0 = random_state(p, 1)
    h0, c0 = h0[:, 0], None if c0 is None else c0[:, 0]
    prime = np.array([3, 0])
    a = _core.sample(p, h0, prime, 30, seed=7, c0=c0)
    np.testing.assert_array_equal(a, _core.sample(p, h0, prime, 30, seed=7, c0=c0))
    np.testing.assert_array_equal(a[:10], _core.sample(p, h0, prime, 10, seed=7, c0=c0))
    assert _core.sample(p, h0, prime, 0, c0=c0).shape == (0,)
    assert np.all((a >= 0) & (a < p.K))
    probs = _core.forward_backward(p, prime, prime, h0, c0).probs[-1]  # (K)  after the prime
    n = 3000
    for temperature, top_p in [(0.5, 1.0), (2.0, 0.6)]:
        expected = probs ** (1 / temperature)
        expected /= expected.sum()
        order = np.argsort(-expected)
        keep = order[: np.searchsorted(np.cumsum(expected[order]), top_p) + 1]
        nucleus = np.zeros(p.K)
        nucleus[keep] = expected[keep] / expected[keep].sum()
        draws = [
            _core.sample(p, h0, prime, 1, seed=s, temperature=temperature, top_p=top_p, c0=c0)[0]
            for s in range(n)
        ]
        freq = np.bincount(draws, minlength=p.K) / n
        assert np.all(freq[nucleus == 0] == 0), (temperature, top_p, freq, nucleus)
        sigma = np.sqrt(nucleus * (1 - nucleus) / n)
        assert np.all(np.abs(freq - nucleus) <= 5 * sigma + 1e-3), (
            temperature,
            top_p,
            freq,
            nucleus,
        )


# --- evaluation -------------------------------------------------------------------------------
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_evaluate_is_the_loss_of_the_whole_text_in_any_chunks(cell, layers):
    """evaluate sums -log p[text[i+1]] over the len(text) - 1 predictions from a zero state,
    carried across chunks: the chunk size changes nothing but rounding."""
    p = random_params(cell, layers)
    text = np.random.default_rng(layers).integers(0, p.K, 203)
    expected = _core.forward_backward(p, text[:-1], text[1:]).loss
    for chunk in (1, 7, 202, 512, 2**31 - 1):
        total, n = _core.evaluate(p, text, chunk=chunk)
        assert n == 202
        np.testing.assert_allclose(total, expected, rtol=1e-13, err_msg=f"chunk={chunk}")
    total, n = _core.evaluate(p, text[:2])
    assert n == 1 and np.isclose(total, _core.loss(p, text[:1], text[1:2]), rtol=1e-15)


# --- clipping and AdaGrad: flat loops over any layout --------------------------------------------
@pytest.mark.parametrize("cell,layers", FAMILY, ids=IDS)
def test_clip_and_adagrad_by_hand(cell, layers):
    rng = np.random.default_rng(3)
    params, grads, memory = (_core.Params(5, 3, cell, layers) for _ in range(3))
    n = params.flat.size
    params.flat = rng.normal(0, 1, n)
    grads.flat = rng.normal(0, 3, n)
    memory.flat = rng.uniform(0, 4, n)
    p0, g0, m0 = params.flat.copy(), grads.flat.copy(), memory.flat.copy()
    _core.clip_gradients(grads, 1.5)
    np.testing.assert_array_equal(grads.flat, np.clip(g0, -1.5, 1.5), err_msg="clip")
    assert np.any(g0 > 1.5) and np.any(g0 < -1.5)
    g = grads.flat.copy()
    _core.adagrad_step(params, grads, memory, eta=0.3, eps=1e-8)
    np.testing.assert_allclose(
        memory.flat,
        m0 + g * g,
        rtol=4.5e-16,
        atol=0,  # FMA or not
        err_msg="memory += g^2",
    )
    np.testing.assert_allclose(
        params.flat,
        p0 - 0.3 * g / np.sqrt(m0 + g * g + 1e-8),
        rtol=1e-15,
        atol=1e-16,
        err_msg="params -= eta g / sqrt(mem + eps)",
    )
    np.testing.assert_array_equal(grads.flat, g, err_msg="adagrad_step changed the gradients")


def test_adagrad_formula_by_hand():
    p, g, mem = _core.Params(2, 1), _core.Params(2, 1), _core.Params(2, 1)
    p.W = [[1.0]]
    g.W = [[3.0]]
    mem.W = [[16.0]]
    _core.adagrad_step(p, g, mem, eta=0.5, eps=1e-8)
    assert mem.W[0, 0] == 25.0
    np.testing.assert_allclose(p.W[0, 0], 1.0 - 0.5 * 3.0 / np.sqrt(25.0 + 1e-8), rtol=1e-15)
