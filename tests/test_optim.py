"""The optimisers and clipping (cpp/optim): AdaGrad, RMSprop and Adam, clipping elementwise and by
the global L2 norm. Each update and clip against the numpy reference (python/charrnn/reference)
on crafted gradients (tiny, huge, zero, state starting non-zero), the trainer's fused pass on the
same, the native training loop against reference.train for every optimiser x clip mode x cell,
PyTorch's RMSprop, Adam and clip_grad_norm_ on identical gradients, bad settings, a run split
in two with the optimiser state restored, and RMSprop and Adam learning real text.

Tolerances, stated once. float64: rtol 2e-15 on every entry (measured worst ~1.5e-15: a few
ulp from fused multiply-adds, Adam's bias corrections taken out of the loop, AdaGrad's refined
reciprocal square root). An entry that is the difference of larger terms (params after an
update, Adam's m) is measured against its block's largest entry, and -update against the size
of its terms before they cancel (update_bound). float32 against the float64 reference: rtol
1e-6 (measured worst ~3e-7, a few 2^-24). PyTorch orders some operations differently (lerp,
addcmul): 4x those. The training loop amplifies last-bit differences ~50x per early step, so the
loop comparisons use test_train's 1e-9.
"""

import math
import re

import numpy as np
import pytest
from charrnn import _core, reference
from helpers import to_native

OPTIMIZERS = ("adagrad", "rmsprop", "adam")
CLIPS = ("elementwise", "norm")
DTYPES = ("float64", "float32")
NP = {"float64": np.float64, "float32": np.float32}
RTOL = {"float64": 2e-15, "float32": 1e-6}
# The gradients' scale at each step (0: all zero). float32's extremes stay inside float range,
# with g^2 still a normal float.
SCALES = {
    "float64": (1.0, 1e-100, 0.0, 1e100, 3.0, 1e-3),
    "float32": (1.0, 1e-15, 0.0, 1e15, 3.0, 1e-3),
}
CONSTANTS = {"eta": 0.01, "eps": 1e-8, "decay": 0.9, "beta1": 0.8, "beta2": 0.99}


def native_block(dtype, cell="lstm", K=5, m=3, layers=2):
    """A zero native block of the given dtype: a 2-layer lstm with K=5, m=3 has 212 entries, so
    the vector loops (16 or 32 entries per iteration) run and leave a tail."""
    cls = _core.Params32 if dtype == "float32" else _core.Params
    return cls(K, m, cell=cell, layers=layers)


def ref_block(native):
    """A float64 reference Params holding a native block's values."""
    return reference.Params(native.layout, np.array(native.flat, dtype=np.float64))


def crafted_grads(rng, native, scale):
    """Normal gradients times scale, a fifth of the entries exactly zero, one entry past any
    clip (scale 0: all zero)."""
    g = rng.standard_normal(native.flat.size) * scale
    g[rng.random(g.size) < 0.2] = 0.0
    g[7] = 40.0 * scale
    out = native.copy()
    out.flat = g.astype(native.flat.dtype)
    return out


def state_names(optimizer):
    return ("m", "v") if optimizer == "adam" else ("memory",)


def nonzero_state(rng, native, optimizer):
    """Optimiser state that does not start at zero (v >= 0; Adam's m of either sign)."""
    out = []
    for name in state_names(optimizer):
        s = native.copy()
        x = rng.standard_normal(native.flat.size) * 0.1
        s.flat = (x if name == "m" else x * x).astype(native.flat.dtype)
        out.append(s)
    return out


def native_step(optimizer, params, grads, state, t):
    c = CONSTANTS
    if optimizer == "adagrad":
        _core.adagrad_step(params, grads, state[0], c["eta"], c["eps"])
    elif optimizer == "rmsprop":
        _core.rmsprop_step(params, grads, state[0], c["eta"], c["decay"], c["eps"])
    else:
        _core.adam_step(
            params, grads, state[0], state[1], t, c["eta"], c["beta1"], c["beta2"], c["eps"]
        )


def reference_step(optimizer, params, grads, state, t):
    c = CONSTANTS
    if optimizer == "adagrad":
        reference.adagrad_step(params, grads, state[0], c["eta"], c["eps"])
    elif optimizer == "rmsprop":
        reference.rmsprop_step(params, grads, state[0], c["eta"], c["decay"], c["eps"])
    else:
        reference.adam_step(
            params, grads, state[0], state[1], t, c["eta"], c["beta1"], c["beta2"], c["eps"]
        )


def assert_block(native, ref, rtol, what, cancels=False):
    """Every entry to rtol. cancels: a block the update subtracts from (params, Adam's m), where
    an entry near zero is the difference of larger numbers: its error is measured against the
    block's largest entry instead."""
    atol = rtol * float(np.max(np.abs(ref.flat))) if cancels else 0.0
    np.testing.assert_allclose(
        np.asarray(native.flat, dtype=np.float64), ref.flat, rtol=rtol, atol=atol, err_msg=what
    )


def copies(blocks):
    return [b.copy() for b in blocks]


def native_copies(ref_blocks, like):
    """Native blocks (like's dtype) holding reference blocks' values, and the reference blocks
    of exactly those values: both sides start from the same numbers."""
    out = []
    for r in ref_blocks:
        b = like.copy()
        b.flat = r.flat.astype(like.flat.dtype)
        out.append(b)
    return out, [ref_block(b) for b in out]


def update_bound(optimizer, grads, state, t):
    """Per entry, the size of the update's terms before they cancel: the reference update (from
    zero parameters) with |g| and |m| in place of g and m. Adam's m = beta1 m + (1 - beta1) g
    can cancel to near zero, and then any rounding of its terms is large relative to the update;
    AdaGrad's and RMSprop's updates do not cancel, and this is just |update|."""
    bound = reference.Params.zeros(grads.layout)
    state = [reference.Params(s.layout, np.abs(s.flat)) for s in state]
    reference_step(optimizer, bound, reference.Params(grads.layout, np.abs(grads.flat)), state, t)
    return np.abs(bound.flat)


def assert_update(update, ref_update, bound, rtol, what):
    """-update entry by entry: |native - reference| <= rtol * bound (bound >= |reference|)."""
    err = np.abs(np.asarray(update.flat, dtype=np.float64) - ref_update.flat)
    worst = int(np.argmax(err - rtol * bound))
    assert err[worst] <= rtol * bound[worst], (
        f"{what}: entry {worst} is {float(update.flat[worst])!r}, the reference "
        f"{ref_update.flat[worst]!r} (bound {bound[worst]:.3g})"
    )


def restore(fresh, old):
    """Everything a checkpoint saves, from one trainer into a fresh one."""
    fresh.params.flat = old.params.flat
    fresh.best.flat = old.best.flat
    for name in old.state_names:
        fresh.state(name).flat = old.state(name).flat
    fresh.h_prev = old.h_prev
    if old.c_prev is not None:
        fresh.c_prev = old.c_prev
    fresh.step, fresh.position, fresh.epoch = old.step, old.position, old.epoch
    fresh.smooth_loss, fresh.best_smooth_loss = old.smooth_loss, old.best_smooth_loss
    fresh.best_step = old.best_step


def re_escape(text):
    return re.escape(text)


# ---- each step against the reference ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_each_step_equals_the_reference(optimizer, dtype, rng):
    """adagrad_step, rmsprop_step, adam_step over six steps of crafted gradients, from
    non-zero parameters and state, equal the reference on params and state. Each step is also
    taken from zero parameters, which then hold -update itself, entry by entry (tiny and huge
    updates included)."""
    params = native_block(dtype)
    params.flat = rng.standard_normal(params.flat.size).astype(NP[dtype])
    state = nonzero_state(rng, params, optimizer)
    ref_params, ref_state = ref_block(params), [ref_block(s) for s in state]
    for t, scale in enumerate(SCALES[dtype], start=1):
        grads = crafted_grads(rng, params, scale)
        update, ref_update = native_block(dtype), ref_block(native_block(dtype))
        from_state, ref_from_state = native_copies(ref_state, params)
        bound = update_bound(optimizer, ref_block(grads), ref_from_state, t)
        native_step(optimizer, update, grads, from_state, t)
        reference_step(optimizer, ref_update, ref_block(grads), ref_from_state, t)
        assert_update(update, ref_update, bound, RTOL[dtype], f"-update, step {t}")
        native_step(optimizer, params, grads, state, t)
        reference_step(optimizer, ref_params, ref_block(grads), ref_state, t)
        assert_block(params, ref_params, RTOL[dtype], f"params, step {t}", cancels=True)
        for name, s, r in zip(state_names(optimizer), state, ref_state):
            assert_block(s, r, RTOL[dtype], f"{name}, step {t}", cancels=name == "m")


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_by_norm_equals_the_reference(dtype, rng):
    """The norm returned and the clipped gradients, below and above max_norm, for zero, tiny
    and huge gradients (the last two overflow or underflow a plain sum of squares in float64)."""
    scales = (
        (1.0, 1e-3, 0.0, 1e-200, 1e200) if dtype == "float64" else (1.0, 1e-3, 0.0, 1e-30, 1e30)
    )
    for scale in scales:
        for max_norm in (1e-3, 0.5, 1e6):
            grads = crafted_grads(rng, native_block(dtype), scale)
            ref = ref_block(grads)
            norm = _core.clip_by_norm(grads, max_norm)
            ref_norm = reference.clip_by_norm(ref, max_norm)
            assert norm == pytest.approx(ref_norm, rel=RTOL[dtype], abs=0), (scale, max_norm)
            assert_block(grads, ref, RTOL[dtype], f"clipped grads, scale {scale}, max {max_norm}")
            if scale == 0:
                assert norm == 0 and not np.any(grads.flat)


def test_the_norm_is_exact():
    """||g|| against an exactly rounded sum (math.fsum) of the squares, at ordinary, tiny and
    huge scales."""
    g = native_block("float64")
    x = np.random.default_rng(3).standard_normal(g.flat.size)
    for scale in (1.0, 1e-170, 1e170):
        g.flat = x * scale
        exact = math.sqrt(math.fsum(v * v for v in x)) * scale
        assert _core.clip_by_norm(g.copy(), 1e300) == pytest.approx(exact, rel=1e-15), scale
        assert reference.clip_by_norm(ref_block(g), 1e300) == pytest.approx(exact, rel=1e-15)


def reference_clip(grads, mode, clip, clip_norm):
    if mode == "norm":
        reference.clip_by_norm(grads, clip_norm)
    else:
        reference.clip_gradients(grads, clip)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", CLIPS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_fused_pass_equals_clip_then_step(optimizer, mode, dtype, rng):
    """The trainer's one-pass update (_core._clip_update_step: the vector loop and its tail)
    over six steps of crafted gradients equals the reference's clip then step, on params (also
    from zero: -update itself) and state; the gradients are left as they were."""
    clip, clip_norm = 0.5, (2.0 if mode == "norm" else 0.0)
    params = native_block(dtype)
    params.flat = rng.standard_normal(params.flat.size).astype(NP[dtype])
    state = nonzero_state(rng, params, optimizer)
    ref_params, ref_state = ref_block(params), [ref_block(s) for s in state]
    for t, scale in enumerate(SCALES[dtype], start=1):
        grads = crafted_grads(rng, params, scale)
        before = np.array(grads.flat)
        ref_grads = ref_block(grads)
        reference_clip(ref_grads, mode, clip, clip_norm)
        update, ref_update = native_block(dtype), ref_block(native_block(dtype))
        from_state, ref_from_state = native_copies(ref_state, params)
        bound = update_bound(optimizer, ref_grads, ref_from_state, t)
        for p, r, st, ref_st in (
            (update, ref_update, from_state, ref_from_state),
            (params, ref_params, state, ref_state),
        ):
            _core._clip_update_step(
                p, grads, tuple(st), t, optimizer, clip=clip, clip_norm=clip_norm, **CONSTANTS
            )
            reference_step(optimizer, r, ref_grads, ref_st, t)
        assert_update(update, ref_update, bound, RTOL[dtype], f"-update, step {t}")
        assert_block(params, ref_params, RTOL[dtype], f"params, step {t}", cancels=True)
        for name, s, r in zip(state_names(optimizer), state, ref_state):
            assert_block(s, r, RTOL[dtype], f"{name}, step {t}", cancels=name == "m")
        np.testing.assert_array_equal(grads.flat, before, err_msg="the fused pass wrote grads")


# ---- the training loop against the reference loop -----------------------------------------------

LOOP_ETA = {"adagrad": 0.1, "rmsprop": 2e-3, "adam": 2e-3}
LOOP_CLIP = {"elementwise": {"clip": 0.5}, "norm": {"clip_norm": 1.0}}  # both bite


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2), ("gru", 2)])
@pytest.mark.parametrize("mode", CLIPS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_first_updates_equal_the_reference_loop(small_text, optimizer, mode, cell, layers):
    """The native loop (fused pass) against reference.train, step for step, over the first 5
    updates on real text: losses, smooth losses, params and the optimiser state."""
    chars = sorted(set(small_text[:2000]))
    encoded = np.array([chars.index(ch) for ch in small_text[:2000]])
    ref = reference.Params.random(
        _core.layout(len(chars), 10, cell=cell, layers=layers), sig=0.1, seed=3
    )
    limit = LOOP_CLIP[mode].get("clip", 5.0)
    clip_norm = LOOP_CLIP[mode].get("clip_norm", 0.0)
    tr = _core.Trainer(
        to_native(ref),
        encoded,
        seq_length=20,
        eta=LOOP_ETA[optimizer],
        optimizer=optimizer,
        clip=limit,
        clip_norm=clip_norm,
        decay=0.9,
        beta1=0.85,
        beta2=0.99,
    )
    losses, smooth = np.empty(5), np.empty(5)
    assert tr.run(losses, smooth) == 5
    ref_losses, ref_smooth = reference.train(
        ref,
        encoded,
        5,
        seq_length=20,
        eta=LOOP_ETA[optimizer],
        clip=limit,
        optimizer=optimizer,
        clip_norm=clip_norm,
        decay=0.9,
        beta1=0.85,
        beta2=0.99,
    )
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-9, err_msg="losses")
    np.testing.assert_allclose(smooth, ref_smooth, rtol=1e-9, err_msg="smooth losses")
    for name in ref:
        np.testing.assert_allclose(
            tr.params[name], ref[name], rtol=1e-9, atol=1e-10, err_msg=f"{name} after 5 updates"
        )
    assert tr.step == 5 and tr.optimizer == optimizer


# ---- PyTorch on identical gradients -------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", CLIPS)
@pytest.mark.parametrize("optimizer", ("rmsprop", "adam"))
def test_torch_optimisers_on_identical_gradients(optimizer, mode, dtype, rng):
    """torch.optim.RMSprop(alpha=decay, centered=False) and torch.optim.Adam, after
    torch.nn.utils.clip_grad_norm_ or clamp, against the fused pass and the separate steps
    (clip_by_norm or clip_gradients, then rmsprop_step or adam_step), over six steps."""
    torch = pytest.importorskip("torch")
    c, clip, clip_norm = CONSTANTS, 0.5, (2.0 if mode == "norm" else 0.0)
    params = native_block(dtype)
    params.flat = rng.standard_normal(params.flat.size).astype(NP[dtype])
    theta = torch.nn.Parameter(torch.tensor(np.array(params.flat)))
    if optimizer == "rmsprop":
        opt = torch.optim.RMSprop([theta], lr=c["eta"], alpha=c["decay"], eps=c["eps"])
    else:
        opt = torch.optim.Adam([theta], lr=c["eta"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])
    fused, fused_state = params.copy(), [native_block(dtype) for _ in state_names(optimizer)]
    steps, steps_state = params.copy(), [native_block(dtype) for _ in state_names(optimizer)]
    for t, scale in enumerate((1.0, 3.0, 0.0, 1e-3, 10.0, 0.5), start=1):
        grads = crafted_grads(rng, params, scale)
        theta.grad = torch.tensor(np.array(grads.flat))
        if mode == "norm":
            norm = torch.nn.utils.clip_grad_norm_([theta], clip_norm)
        else:
            theta.grad.clamp_(-clip, clip)
        opt.step()
        _core._clip_update_step(
            fused, grads, tuple(fused_state), t, optimizer, clip=clip, clip_norm=clip_norm, **c
        )
        clipped = grads.copy()
        if mode == "norm":
            assert _core.clip_by_norm(clipped, clip_norm) == pytest.approx(
                float(norm), rel=RTOL[dtype]
            )
        else:
            _core.clip_gradients(clipped, clip)
        native_step(optimizer, steps, clipped, steps_state, t)
        expected = theta.detach().numpy().astype(np.float64)
        torch_state = opt.state[theta]
        names = {"memory": "square_avg", "m": "exp_avg", "v": "exp_avg_sq"}
        ref_params = reference.Params(params.layout, expected)
        for what, p, st in (("fused", fused, fused_state), ("steps", steps, steps_state)):
            # torch orders some operations differently (lerp for m, addcmul for v): ulps.
            assert_block(p, ref_params, 4 * RTOL[dtype], f"{what} params, step {t}", cancels=True)
            for name, s in zip(state_names(optimizer), st):
                ts = torch_state[names[name]].numpy().astype(np.float64)
                assert_block(
                    s,
                    reference.Params(params.layout, ts),
                    4 * RTOL[dtype],
                    f"{what} {name}, step {t}",
                    cancels=name == "m",
                )


# ---- settings and their errors ------------------------------------------------------------------

P = _core.Params(5, 4, cell="lstm")
TEXT = np.arange(60) % 5


def trainer(**kw):
    return _core.Trainer(P, TEXT, seq_length=5, **kw)


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"optimizer": "sgd"}, "'adagrad', 'rmsprop' or 'adam'"),
        ({"optimizer": "Adam"}, "'adagrad', 'rmsprop' or 'adam'"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"clip_norm": float("nan")}, "clip_norm"),
        ({"clip_norm": float("inf")}, "clip_norm"),
        ({"decay": 1.0}, "decay must be in [0, 1)"),
        ({"decay": -0.1}, "decay"),
        ({"decay": float("nan")}, "decay"),
        ({"beta1": 1.0}, "beta1 must be in [0, 1)"),
        ({"beta1": float("nan")}, "beta1"),
        ({"beta2": 1.5}, "beta2 must be in [0, 1)"),
        ({"beta2": float("nan")}, "beta2"),
        ({"eta": 0.0}, "eta"),
        ({"eps": float("nan")}, "eps"),
    ],
)
def test_bad_trainer_settings(kw, message):
    with pytest.raises(ValueError, match=re_escape(message)):
        trainer(**kw)


def test_settings_are_read_back_and_eta_is_settable():
    tr = trainer(optimizer="adam", clip_norm=2.5, beta1=0.5, beta2=0.75)
    assert (tr.optimizer, tr.clip_norm, tr.beta1, tr.beta2, tr.decay) == (
        "adam",
        2.5,
        0.5,
        0.75,
        0.95,
    )
    assert (tr.eta, tr.eps, tr.clip) == (0.1, 1e-8, 5.0)
    tr.eta = 0.003
    assert tr.eta == 0.003
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="eta"):
            tr.eta = bad
    assert tr.eta == 0.003
    with pytest.raises(AttributeError):
        tr.optimizer = "rmsprop"
    defaults = trainer()
    assert (defaults.optimizer, defaults.clip_norm, defaults.state_names) == (
        "adagrad",
        0.0,
        ("memory",),
    )


def test_a_new_eta_takes_effect_at_the_next_update():
    """A schedule's eta set between runs: the same as a trainer built with that eta from the
    point of the change (params, state and step carried)."""
    a = trainer(optimizer="adam", eta=0.01)
    b = trainer(optimizer="adam", eta=0.01)
    first = np.empty(3)
    a.run(first)
    b.run(first)
    a.eta = 0.002
    c = trainer(optimizer="adam", eta=0.002)
    restore(c, b)
    la, lc = np.empty(4), np.empty(4)
    a.run(la)
    c.run(lc)
    assert la.tolist() == lc.tolist()


def test_state_names_and_views():
    for optimizer, names in (
        ("adagrad", ("memory",)),
        ("rmsprop", ("memory",)),
        ("adam", ("m", "v")),
    ):
        tr = trainer(optimizer=optimizer)
        assert tr.state_names == names
        for name in names:
            s = tr.state(name)
            assert s.spec == P.spec and not np.any(s.flat)
            s.flat[0] = 7.0  # a live view
            assert tr.state(name).flat[0] == 7.0
        if optimizer != "adam":
            assert tr.memory.flat[0] == 7.0
        with pytest.raises(ValueError, match="not a state of " + optimizer):
            tr.state("v" if optimizer != "adam" else "memory")
    with pytest.raises(AttributeError, match="state"):
        trainer(optimizer="adam").memory  # noqa: B018  the access raises
    assert not hasattr(trainer(optimizer="adam"), "memory")


Q = _core.Params(5, 4, cell="gru")


@pytest.mark.parametrize(
    "call,error,message",
    [
        (lambda: _core.rmsprop_step(Q.copy(), Q, Q.copy(), decay=1.0), ValueError, "decay"),
        (lambda: _core.rmsprop_step(Q.copy(), Q, Q.copy(), eta=float("nan")), ValueError, "eta"),
        (lambda: _core.rmsprop_step(Q.copy(), Q, P.copy()), ValueError, "memory"),
        (lambda: _core.adam_step(Q.copy(), Q, Q.copy(), Q.copy(), 0), ValueError, "t counts"),
        (
            lambda: _core.adam_step(Q.copy(), Q, Q.copy(), Q.copy(), 1, beta1=1.0),
            ValueError,
            "beta1",
        ),
        (
            lambda: _core.adam_step(Q.copy(), Q, Q.copy(), Q.copy(), 1, beta2=-0.5),
            ValueError,
            "beta2",
        ),
        (lambda: _core.adam_step(Q.copy(), Q, P.copy(), Q.copy(), 1), ValueError, "m are for"),
        (
            lambda: _core.adam_step(
                Q.copy(), Q, Q.copy(), _core.Params(5, 4, cell="gru", layers=2), 1
            ),
            ValueError,
            "v are for",
        ),
        (
            lambda: _core.adam_step(Q.copy(), Q, Q.copy(), _core.Params32(5, 4, cell="gru"), 1),
            TypeError,
            "incompatible function arguments",
        ),
        (lambda: _core.clip_by_norm(Q.copy(), 0.0), ValueError, "clip_norm"),
        (lambda: _core.clip_by_norm(Q.copy(), float("nan")), ValueError, "clip_norm"),
        (
            lambda: _core._clip_update_step(Q.copy(), Q, (Q.copy(),), 1, "adam"),
            ValueError,
            "(m, v)",
        ),
        (
            lambda: _core._clip_update_step(Q.copy(), Q, (_core.Params32(5, 4, cell="gru"),)),
            TypeError,
            "Params",
        ),
        (
            lambda: reference.train(
                reference.Params.zeros(_core.layout(3, 2)),
                [0, 1, 2] * 5,
                1,
                seq_length=4,
                optimizer="sgd",
            ),
            ValueError,
            "'adam'",
        ),
        (
            lambda: reference.clip_by_norm(reference.Params.zeros(_core.layout(3, 2)), 0.0),
            ValueError,
            "clip_norm",
        ),
    ],
)
def test_bad_step_arguments(call, error, message):
    with pytest.raises(error, match=re_escape(message)):
        call()


# ---- a run split in two equals one run ----------------------------------------------------------


@pytest.mark.parametrize("mode", CLIPS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_split_run_is_bit_identical(optimizer, mode, small_text):
    """7 + 9 updates with the state restored into a fresh Trainer (Adam's t from step) give the
    losses, params and state of 16 in one go, bit for bit, across an epoch boundary."""
    chars = sorted(set(small_text[:400]))
    encoded = np.array([chars.index(ch) for ch in small_text[:400]])  # 15 updates per epoch
    start = _core.Params.random(len(chars), 12, sig=0.1, seed=5, cell="lstm", layers=2)
    kw = dict(seq_length=25, eta=LOOP_ETA[optimizer], optimizer=optimizer, **LOOP_CLIP[mode])
    whole = _core.Trainer(start, encoded, **kw)
    expected = np.empty(16)
    assert whole.run(expected) == 16
    first = _core.Trainer(start, encoded, **kw)
    part1 = np.empty(7)
    first.run(part1)
    second = _core.Trainer(_core.Params(len(chars), 12, cell="lstm", layers=2), encoded, **kw)
    restore(second, first)
    del first
    part2 = np.empty(9)
    second.run(part2)
    assert [x.hex() for x in np.concatenate([part1, part2])] == [x.hex() for x in expected]
    np.testing.assert_array_equal(second.params.flat, whole.params.flat, err_msg="params")
    np.testing.assert_array_equal(second.best.flat, whole.best.flat, err_msg="best")
    for name in whole.state_names:
        np.testing.assert_array_equal(second.state(name).flat, whole.state(name).flat, err_msg=name)
    assert second.epoch == whole.epoch == 1


# ---- learning -----------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ("rmsprop", "adam"))
def test_rmsprop_and_adam_learn_real_text(corpus, optimizer):
    """A 2-layer lstm (m=64) at eta 2e-3 on the first 100,000 characters: from the uniform
    guess's 25 log K = 108 nats per sequence to under 70% of it, averaged over updates 500-600
    (measured: rmsprop ~67, adam ~71; adagrad at its eta 0.1 ~64)."""
    _, vocab, encoded = corpus
    uniform = 25 * math.log(vocab.K)
    params = _core.Params.random(vocab.K, 64, sig=0.01, seed=1, cell="lstm", layers=2)
    tr = _core.Trainer(params, encoded[:100_000], seq_length=25, eta=2e-3, optimizer=optimizer)
    losses = np.empty(600)
    assert tr.run(losses) == 600
    assert losses[:5].mean() > 0.95 * uniform
    assert losses[-100:].mean() < 0.7 * uniform, losses[-100:].mean()


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_training_step_flushes_subnormal_numbers(dtype):
    """Adam's m of a parameter whose gradient stays zero decays by beta1 each update; below the
    smallest normal number it becomes 0, not a subnormal (core/floating.hpp: they cost ~100
    cycles an operation). The separate adam_step keeps IEEE's gradual underflow."""
    tiny = np.finfo(NP[dtype]).tiny  # the smallest normal number
    cls, tcls = (
        (_core.Params32, _core.Trainer32) if dtype == "float32" else (_core.Params, _core.Trainer)
    )
    p = cls(10, 4, cell="lstm")
    p.flat = _core.Params.random(10, 4, sig=0.1, seed=0, cell="lstm").flat
    tr = tcls(p, np.arange(60) % 5, seq_length=5, optimizer="adam", eta=1e-3)  # chars 5-9 unused
    m = tr.state("m")
    m["U1"][:, 5:] = tiny
    tr.run(np.empty(1))
    assert np.all(m["U1"][:, 5:] == 0)  # beta1 * tiny is subnormal: flushed
    assert np.count_nonzero(m["U1"][:, :5]) > 0  # the used columns learnt something
    steps = [cls(10, 4, cell="lstm") for _ in range(4)]  # params, grads, m, v
    steps[2].flat[:] = tiny
    _core.adam_step(*steps, 1)
    assert np.all(steps[2].flat == NP[dtype](0.9) * tiny) and np.all(steps[2].flat > 0)
