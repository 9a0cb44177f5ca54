"""Fuzzing the native bindings with hypothesis: random shapes, dtypes, strides, byte orders,
index values and special floats into every function of charrnn._core, and random damage to
checkpoint files. The property: a Python exception of the right kind whenever the input is bad,
the plain result (equal to that of clean contiguous int64/float64 copies) whenever it is good,
never a crash, and a failed assignment leaves the parameters as they were.

Bounded for CI (a few hundred examples per test, derandomised so CI is repeatable). Fuzz longer,
with fresh random examples:  CHARRNN_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py
Not here: hand-picked bad inputs and their messages (test_bad_input.py)."""

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from charrnn import CheckpointError, Model, TrainConfig, Trainer, _core

_DEEP = os.environ.get("CHARRNN_FUZZ_EXAMPLES")


def fuzz(examples):
    """CI: `examples` fixed examples. With CHARRNN_FUZZ_EXAMPLES=N: N fresh random ones."""
    return settings(max_examples=int(_DEEP) if _DEEP else examples, derandomize=not _DEEP,
                    deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# --- strategies -------------------------------------------------------------------------------
INT_DTYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", ">i4", ">u8", "<i2"]
OTHER_DTYPES = ["f8", "f4", "f2", "?", "c16", "U1", "M8[s]"]
REAL_DTYPES = ["f8", "f4", "f2", ">f8", "i4", "u1", "?", "i8"]
SPECIAL = [0.0, -0.0, 1e-320, -1e-320, 1e-30, 1e30, 3.5e38, 1e300, -1e300, math.inf, -math.inf,
           math.nan, 1.0, -1.0, 0.5]


def _elements(dtype, low, high):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(low, int(info.min)), min(high, int(info.max)))
    if dtype.kind == "f":
        width = 16 if dtype.itemsize == 2 else 32 if dtype.itemsize == 4 else 64
        return st.one_of(st.sampled_from(SPECIAL).map(lambda x: _cast(x, dtype)),
                         st.floats(width=width, allow_nan=True, allow_infinity=True))
    return None  # hypothesis' own elements for bool, complex, str, datetime


def _cast(x, dtype):
    with np.errstate(over="ignore"):  # 1e300 in float16 is inf: a special value like any other
        return np.array(x).astype(dtype).item()


@st.composite
def arrays(draw, dtypes, low, high, shape=None, max_dims=3, max_side=6):
    """An array of one of dtypes, possibly a strided, reversed or transposed view."""
    dtype = draw(st.sampled_from(dtypes))
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0,
                                      max_side=max_side))
    view = draw(st.sampled_from(["plain", "strided", "reversed", "transposed", "fortran"]))
    if view == "strided" and len(shape) >= 1:  # build twice as long, then take every other
        big = (shape[0] * 2,) + tuple(shape[1:])
        a = draw(hnp.arrays(dtype, big, elements=_elements(dtype, low, high)))
        return a[::2]
    a = draw(hnp.arrays(dtype, shape, elements=_elements(dtype, low, high)))
    if view == "reversed" and a.ndim >= 1:
        return a[::-1]
    if view == "transposed" and a.ndim >= 2:
        return np.ascontiguousarray(a.T).T  # same values and shape, F-ordered
    if view == "fortran":
        return np.asfortranarray(a)
    return a


def index_arrays(K, shape=None, max_dims=3):
    return st.one_of(arrays(INT_DTYPES, -3, K + 3, shape, max_dims),
                     arrays(INT_DTYPES, 0, K - 1, shape, max_dims),  # mostly valid
                     arrays(OTHER_DTYPES, -3, K + 3, shape, max_dims))


def _params(K, m, seed, dtype="f8"):
    p = _core.Params.random(K, m, 0.5, seed)
    if dtype == "f4":
        p32 = _core.Params32(K, m)
        p32.flat = p.flat
        return p32
    return p


# --- oracles ----------------------------------------------------------------------------------
def _valid_indices(a, K, ndims=(1, 2)):
    return (a.dtype.kind in "iu" and a.ndim in ndims and a.size > 0 and a.shape[-1] > 0
            and bool(np.all((a >= 0) & (a < K))))


def _valid_real(a, shape, precision):
    if a.dtype.kind not in "fiub" or a.shape != tuple(shape):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.all(np.isfinite(a.astype(precision))))


def _raises_cleanly(call, errors=(ValueError, IndexError)):
    with np.errstate(all="ignore"):
        try:
            call()
        except errors:
            return True
    return False


# --- forward_backward and loss ------------------------------------------------------------------
@fuzz(250)
@given(K=st.integers(1, 6), m=st.integers(1, 5), seed=st.integers(0, 9),
       precision=st.sampled_from(["f8", "f4"]), data=st.data())
def test_forward_backward(K, m, seed, precision, data):
    params = _params(K, m, seed, precision)
    inputs = data.draw(index_arrays(K), label="inputs")
    same_shape = data.draw(st.booleans(), label="targets of the same shape")
    targets = data.draw(index_arrays(K, inputs.shape if same_shape else None), label="targets")
    B = inputs.shape[0] if inputs.ndim == 2 else None
    h_shape = data.draw(st.sampled_from([(m,), (B or 1, m), (m + 1,), ()]), label="h0 shape")
    h0 = data.draw(arrays(REAL_DTYPES, -2, 2, h_shape), label="h0")

    valid = (_valid_indices(inputs, K) and _valid_indices(targets, K)
             and targets.shape == inputs.shape
             and _valid_real(h0, (m,) if inputs.ndim == 1 else (B, m), precision))
    if not valid:
        with np.errstate(all="ignore"):
            with pytest.raises((ValueError, IndexError)):
                _core.forward_backward(params, inputs, targets, h0)
            with pytest.raises((ValueError, IndexError)):
                _core.loss(params, inputs, targets, h0)
        return
    result = _core.forward_backward(params, inputs, targets, h0)
    clean = _core.forward_backward(params, np.ascontiguousarray(inputs, np.int64),
                                   np.ascontiguousarray(targets, np.int64),
                                   np.ascontiguousarray(h0, np.float64))
    assert result.loss == clean.loss == _core.loss(params, inputs, targets, h0)
    np.testing.assert_array_equal(result.grads.flat, clean.grads.flat, err_msg="grads")
    np.testing.assert_array_equal(result.h_last, clean.h_last, err_msg="h_last")
    assert result.hs.shape == inputs.shape + (m,) and result.probs.shape == inputs.shape + (K,)


# --- parameter setters --------------------------------------------------------------------------
@fuzz(200)
@given(K=st.integers(1, 5), m=st.integers(1, 4), precision=st.sampled_from(["f8", "f4"]),
       name=st.sampled_from(["W", "U", "V", "b", "c", "flat"]), right_shape=st.booleans(),
       numpy_errors=st.sampled_from(["ignore", "warn", "raise"]), data=st.data())
def test_setters(K, m, precision, name, right_shape, numpy_errors, data):
    """numpy_errors: a float32 overflow in numpy's cast may warn (an error under pytest's
    filterwarnings) or raise: the binding must pass that exception on, not crash (it once
    segfaulted on the null array numpy returned)."""
    params = _params(K, m, 0, precision)
    shape = getattr(params, name).shape
    value = data.draw(st.one_of(
        arrays(REAL_DTYPES + ["c16", "U1"], -5, 5, shape if right_shape else None, max_dims=3),
        st.just(np.full(shape, None, dtype=object))), label=name)
    before = params.flat.copy()
    if _valid_real(value, shape, precision):
        setattr(params, name, value)
        np.testing.assert_array_equal(getattr(params, name), value.astype(precision))
    else:
        with np.errstate(over=numpy_errors, invalid=numpy_errors):
            with pytest.raises((ValueError, RuntimeWarning, FloatingPointError)):
                setattr(params, name, value)
        np.testing.assert_array_equal(params.flat, before, err_msg="changed by a failed set")


# --- clipping and AdaGrad -----------------------------------------------------------------------
@fuzz(200)
@given(n=st.integers(1, 4), limit=st.sampled_from(SPECIAL), eta=st.sampled_from(SPECIAL),
       eps=st.sampled_from(SPECIAL + [1e-8]), data=st.data())
def test_clip_and_adagrad(n, limit, eta, eps, data):
    K, m = n + 1, n
    grads, params, memory = _core.Params(K, m), _core.Params(K, m), _core.Params(K, m)
    size = grads.flat.size
    # The writable views take anything, special values included: the functions must cope.
    grads.flat[:] = data.draw(hnp.arrays("f8", size, elements=st.sampled_from(SPECIAL)))
    memory.flat[:] = data.draw(hnp.arrays("f8", size, elements=st.sampled_from(SPECIAL)))
    if math.isfinite(limit) and limit > 0:
        finite = np.isfinite(grads.flat)
        _core.clip_gradients(grads, limit)
        assert np.all(np.abs(grads.flat[finite]) <= limit)
    else:
        assert _raises_cleanly(lambda: _core.clip_gradients(grads, limit), (ValueError,))
    good = all(math.isfinite(x) and x > 0 for x in (eta, eps))
    with np.errstate(all="ignore"):
        if good:
            _core.adagrad_step(params, grads, memory, eta, eps)
        else:
            assert _raises_cleanly(lambda: _core.adagrad_step(params, grads, memory, eta, eps),
                                   (ValueError,))


# --- sampling ----------------------------------------------------------------------------------
@fuzz(250)
@given(K=st.integers(1, 6), m=st.integers(1, 4), precision=st.sampled_from(["f8", "f4"]),
       n=st.integers(-2, 40), seed=st.integers(0, 2**64 - 1),
       temperature=st.one_of(st.sampled_from(SPECIAL), st.floats(1e-3, 1e3)),
       top_p=st.one_of(st.sampled_from(SPECIAL + [1.0 - 1e-12, 1e-9]), st.floats(0, 1)),
       data=st.data())
def test_sample(K, m, precision, n, seed, temperature, top_p, data):
    params = _params(K, m, 1, precision)
    prime = data.draw(index_arrays(K, max_dims=2), label="prime")
    h0 = data.draw(arrays(REAL_DTYPES, -2, 2, data.draw(st.sampled_from([(m,), (m + 1,)]))),
                   label="h0")
    valid = (_valid_indices(prime, K, ndims=(1,)) and _valid_real(h0, (m,), precision)
             and n >= 0 and math.isfinite(temperature) and temperature > 0
             and math.isfinite(top_p) and 0 < top_p <= 1)
    call = lambda: _core.sample(params, h0, prime, n, seed, temperature, top_p)  # noqa: E731
    if not valid:
        assert _raises_cleanly(call)
        return
    with np.errstate(all="ignore"):
        drawn = call()
        again = call()
    assert drawn.shape == (n,) and drawn.dtype == np.int32
    assert np.all((drawn >= 0) & (drawn < K)), "an index outside the vocabulary was drawn"
    np.testing.assert_array_equal(drawn, again, err_msg="same seed, different text")


# --- the native training loop -----------------------------------------------------------------
@fuzz(200)
@given(K=st.integers(1, 5), m=st.integers(1, 4), precision=st.sampled_from(["f8", "f4"]),
       seq_length=st.integers(-1, 8), batch=st.integers(-1, 3), steps=st.integers(0, 25),
       eta=st.sampled_from([0.1, 1.0, 1e3, 0.0, -1.0, math.nan, math.inf]),
       clip=st.sampled_from([5.0, 1e-300, 1e300, 0.0, math.nan]),
       position=st.integers(-2, 40), data=st.data())
def test_trainer(K, m, precision, seq_length, batch, steps, eta, clip, position, data):
    params = _params(K, m, 2, precision)
    shape = data.draw(st.one_of(st.tuples(st.integers(0, 40)), hnp.array_shapes(max_dims=2)))
    text = data.draw(index_arrays(K, shape), label="text")
    cls = _core.Trainer32 if precision == "f4" else _core.Trainer
    valid = (_valid_indices(text, K, ndims=(1,)) and seq_length > 0 and batch > 0
             and text.size // batch >= seq_length + 1 and math.isfinite(eta) and eta > 0
             and math.isfinite(clip) and clip > 0)
    make = lambda: cls(params, text, seq_length, batch, eta, 1e-8, clip)  # noqa: E731
    if not valid:
        assert _raises_cleanly(make)
        return
    trainer = make()
    chunk = text.size // batch
    if 0 <= position < chunk:
        trainer.position = position
    else:
        assert _raises_cleanly(lambda: setattr(trainer, "position", position), (ValueError,))
    losses, smooth = np.full(steps, -1.0), np.full(steps, -1.0)
    with np.errstate(all="ignore"):
        ran = trainer.run(losses, smooth)
    assert 0 <= ran <= steps and (ran == steps) != trainer.diverged
    assert np.all(np.isfinite(losses[:ran])) and np.all(losses[:ran] >= 0)
    assert trainer.step == ran and 0 <= trainer.position < chunk
    assert trainer.h_prev.shape == (batch, m)


# --- damaged checkpoint files ---------------------------------------------------------------------
TEXT = "a small text, for checkpoints that get damaged on purpose.\n" * 6
_CHECKPOINTS = {}


def _checkpoint_bytes(kind):
    if not _CHECKPOINTS:
        trainer = Trainer(TEXT, TrainConfig(m=4, seq_length=5))
        trainer.train(12)
        with tempfile.TemporaryDirectory() as d:
            for k in ("last", "best"):
                trainer.save(Path(d) / f"{k}.npz", kind=k)
                _CHECKPOINTS[k] = (Path(d) / f"{k}.npz").read_bytes()
    return _CHECKPOINTS[kind]


@fuzz(300)
@given(kind=st.sampled_from(["last", "best"]), cut=st.one_of(st.none(), st.integers(0, 4000)),
       flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=4),
       junk=st.binary(max_size=8))
def test_damaged_checkpoints(kind, cut, flips, junk):
    raw = bytearray(_checkpoint_bytes(kind))
    for pos, mask in flips:
        raw[pos % len(raw)] ^= mask
    raw = raw[:cut] + junk if cut is not None else raw
    assume(bytes(raw) != _checkpoint_bytes(kind))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "damaged.npz"
        path.write_bytes(bytes(raw))
        try:
            model = Model.load(path)
        except CheckpointError:
            pass
        else:  # the damage missed everything that matters: it must still work
            assert len(model.sample(5, seed=0)) == 5
        try:
            trainer = Trainer.load(path, TEXT)
        except CheckpointError:
            pass
        else:
            trainer.train(2)
