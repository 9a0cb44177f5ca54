"""Fuzzing the native bindings with hypothesis, for every cell (rnn, lstm, gru) at 1 to 3 layers:
random sizes, cell names, shapes, dtypes, strides, byte orders, index values and special floats
into every function of charrnn._core (layout, Params/Params32 and their setters by name,
forward_backward, loss, clip_gradients, adagrad_step, sample, evaluate, Trainer/Trainer32), and
random damage to checkpoint files of every cell. The property: a Python exception of the right
kind whenever the input is bad, the plain result (equal to that of clean contiguous int64/float64
copies) whenever it is good, never a crash, and a failed assignment leaves the parameters as they
were.

Bounded for CI (a few hundred examples per test, derandomised so CI is repeatable). Fuzz longer,
with fresh random examples:  CHARRNN_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py
Not here: hand-picked bad inputs and their messages (test_bad_input.py)."""

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from charrnn import CheckpointError, Model, TrainConfig, Trainer, _core
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Hundreds of examples per test: run by CI (plain `pytest`), not by the fast loop.
pytestmark = pytest.mark.slow

_DEEP = os.environ.get("CHARRNN_FUZZ_EXAMPLES")


def fuzz(examples):
    """CI: `examples` fixed examples. With CHARRNN_FUZZ_EXAMPLES=N: N fresh random ones."""
    return settings(
        max_examples=int(_DEEP) if _DEEP else examples,
        derandomize=not _DEEP,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# --- strategies -------------------------------------------------------------------------------
CELLS = _core.CELLS
INT_DTYPES = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", ">i4", ">u8", "<i2"]
OTHER_DTYPES = ["f8", "f4", "f2", "?", "c16", "U1", "M8[s]"]
REAL_DTYPES = ["f8", "f4", "f2", ">f8", "i4", "u1", "?", "i8"]
SPECIAL = [
    0.0,
    -0.0,
    1e-320,
    -1e-320,
    1e-30,
    1e30,
    3.5e38,
    1e300,
    -1e300,
    math.inf,
    -math.inf,
    math.nan,
    1.0,
    -1.0,
    0.5,
]
INT64 = (-(2**63), 2**63 - 1)  # pybind's range for a C++ long long: outside it, TypeError


def _elements(dtype, low, high):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(low, int(info.min)), min(high, int(info.max)))
    if dtype.kind == "f":
        width = 16 if dtype.itemsize == 2 else 32 if dtype.itemsize == 4 else 64
        return st.one_of(
            st.sampled_from(SPECIAL).map(lambda x: _cast(x, dtype)),
            st.floats(width=width, allow_nan=True, allow_infinity=True),
        )
    return None  # hypothesis' own elements for bool, complex, str, datetime


def _cast(x, dtype):
    with np.errstate(over="ignore"):  # 1e300 in float16 is inf: a special value like any other
        return np.array(x).astype(dtype).item()


@st.composite
def arrays(draw, dtypes, low, high, shape=None, max_dims=3, max_side=6):
    """An array of one of dtypes, possibly a strided, reversed or transposed view."""
    dtype = draw(st.sampled_from(dtypes))
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side))
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
    return st.one_of(
        arrays(INT_DTYPES, -3, K + 3, shape, max_dims),
        arrays(INT_DTYPES, 0, K - 1, shape, max_dims),  # mostly valid
        arrays(OTHER_DTYPES, -3, K + 3, shape, max_dims),
    )


def state_arrays(draw, label, L, B, m):
    """None, or a real array of one of the shapes a state can (or cannot) have: with and without
    the layer axis, with and without the batch axis, one too many units or layers, a scalar."""
    if draw(st.booleans(), label=f"{label} given"):
        return None
    shape = draw(
        st.sampled_from([(m,), (L, m), (B, m), (L, B, m), (m + 1,), (L + 1, m), (L, B + 1, m), ()]),
        label=f"{label} shape",
    )
    return draw(arrays(REAL_DTYPES, -2, 2, shape), label=label)


def _params(K, m, seed, precision="f8", cell="rnn", layers=1):
    p = _core.Params.random(K, m, sig=0.5, seed=seed, cell=cell, layers=layers)
    if precision == "f4":
        p32 = _core.Params32(K, m, cell=cell, layers=layers)
        p32.flat = p.flat
        return p32
    return p


# --- oracles ----------------------------------------------------------------------------------
def _valid_indices(a, K, ndims=(1, 2)):
    return (
        a.dtype.kind in "iu"
        and a.ndim in ndims
        and a.size > 0
        and a.shape[-1] > 0
        and bool(np.all((a >= 0) & (a < K)))
    )


def _valid_real(a, shape, precision):
    if a.dtype.kind not in "fiub" or a.shape != tuple(shape):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.all(np.isfinite(a.astype(precision))))


def _valid_state(s, allowed, precision):
    return s is None or any(_valid_real(s, shape, precision) for shape in allowed)


def _allowed_states(L, B, m):
    """The state shapes a model of L layers takes for one sequence (B None) or a batch of B."""
    if B is None:
        return [(L, m)] + ([(m,)] if L == 1 else [])
    return [(L, B, m)] + ([(B, m)] if L == 1 else [])


def _raises_cleanly(call, errors=(ValueError, IndexError)):
    with np.errstate(all="ignore"):
        try:
            call()
        except errors:
            return True
    return False


def _clean(a, dtype):
    return None if a is None else np.ascontiguousarray(a, dtype)


# --- the layout table and the parameter blocks ----------------------------------------------------
def _sizes():
    return st.one_of(
        st.integers(1, 6),
        st.integers(-3, 0),
        st.integers(2**31 - 3, 2**31 + 2),
        st.sampled_from(
            [2**20, 2**30, 2**40, 2**62, INT64[1], INT64[1] + 1, INT64[0], INT64[0] - 1]
        ),
    )


@fuzz(300)
@given(
    cell=st.one_of(
        st.sampled_from(CELLS), st.sampled_from(["", "RNN", "lstm ", "tanh"]), st.text(max_size=4)
    ),
    K=_sizes(),
    m=_sizes(),
    layers=st.one_of(
        st.integers(1, 4),
        st.integers(-2, 0),
        st.sampled_from([2**31, 2**31 + 1, 2**40, INT64[1] + 1]),
    ),
)
def test_layout(cell, K, m, layers):
    """The table for any spec, or ValueError (TypeError for numbers beyond a C++ long long).
    Valid specs: every entry a positive size equal to the product of its shape, offsets
    contiguous, the total below 2**62. Layer counts of 2**31 - 1 and below are valid, but build
    a table of ~2**33 entries: not drawn (test_bad_input.py times such a call)."""
    if not all(INT64[0] <= v <= INT64[1] for v in (K, m, layers)):
        with pytest.raises(TypeError):
            _core.layout(K, m, cell=cell, layers=layers)
        return
    G = {"rnn": 1, "lstm": 4, "gru": 3}.get(cell)
    sizes_ok = all(1 <= v < 2**31 for v in (K, m, layers))
    if G is None or not sizes_ok:
        with pytest.raises(ValueError):
            _core.layout(K, m, cell=cell, layers=layers)
        return
    total = (
        sum(
            G * m * m + G * m * (K if l == 1 else m) + G * m + (m if cell == "gru" else 0)
            for l in range(1, layers + 1)
        )
        + K * m
        + K
    )
    if total >= 2**62:
        with pytest.raises(ValueError, match="too many parameters"):
            _core.layout(K, m, cell=cell, layers=layers)
        return
    table = _core.layout(K, m, cell=cell, layers=layers)
    offset = 0
    for e in table:
        assert e["size"] > 0 and e["size"] == math.prod(e["shape"]), e
        assert e["offset"] == offset, e
        offset += e["size"]
    assert offset == total
    if total < 10**5:  # small enough to allocate
        for cls in (_core.Params, _core.Params32):
            p = cls(K, m, cell=cell, layers=layers)
            assert p.layout == table and p.flat.size == total
            q = cls.random(K, m, sig=0.1, seed=K + m, cell=cell, layers=layers)
            assert np.all(np.isfinite(q.flat))


@fuzz(200)
@given(
    K=st.integers(1, 5),
    m=st.integers(1, 4),
    precision=st.sampled_from(["f8", "f4"]),
    cell=st.sampled_from(CELLS),
    layers=st.integers(1, 3),
    name=st.one_of(
        st.sampled_from(
            [
                "flat",
                "W",
                "U",
                "V",
                "b",
                "c",
                "W1",
                "U1",
                "b1",
                "bn1",
                "W2",
                "U2",
                "b2",
                "bn2",
                "W3",
                "U3",
                "b3",
                "bn3",
            ]
        ),
        st.sampled_from(["W0", "b4", "bn", "Q", "", "w1", "K", "layout"]),
    ),
    how=st.sampled_from(["item", "attribute"]),
    right_shape=st.booleans(),
    numpy_errors=st.sampled_from(["ignore", "warn", "raise"]),
    data=st.data(),
)
def test_setters(K, m, precision, cell, layers, name, how, right_shape, numpy_errors, data):
    """By name, as p[name] = value or p.name = value. An unknown name is a KeyError (item) or
    AttributeError (attribute; read-only properties too). numpy_errors: a float32 overflow in
    numpy's cast may warn (an error under pytest's filterwarnings) or raise: the binding must
    pass that exception on, not crash (it once segfaulted on the null array numpy returned)."""
    params = _params(K, m, 0, precision, cell, layers)
    known = name in params.names or (name == "flat" and how == "attribute")
    before = params.flat.copy()
    if not known:
        value = np.zeros(3)
        if how == "item":
            with pytest.raises(KeyError):
                params[name] = value
            with pytest.raises(KeyError):
                params[name]  # noqa: B018
        else:
            with pytest.raises(AttributeError):
                setattr(params, name, value)
            if name not in ("K", "layout"):
                with pytest.raises(AttributeError):
                    getattr(params, name)
        np.testing.assert_array_equal(params.flat, before, err_msg="changed by a failed set")
        return
    shape = getattr(params, name).shape
    value = data.draw(
        st.one_of(
            arrays(REAL_DTYPES + ["c16", "U1"], -5, 5, shape if right_shape else None, max_dims=3),
            st.just(np.full(shape, None, dtype=object)),
        ),
        label=name,
    )

    def assign():
        if how == "item":
            params[name] = value
        else:
            setattr(params, name, value)

    if _valid_real(value, shape, precision):
        assign()
        np.testing.assert_array_equal(getattr(params, name), value.astype(precision))
    else:
        with np.errstate(over=numpy_errors, invalid=numpy_errors):
            with pytest.raises((ValueError, RuntimeWarning, FloatingPointError)):
                assign()
        np.testing.assert_array_equal(params.flat, before, err_msg="changed by a failed set")


# --- forward_backward and loss ------------------------------------------------------------------
@fuzz(300)
@given(
    K=st.integers(1, 6),
    m=st.integers(1, 5),
    seed=st.integers(0, 9),
    precision=st.sampled_from(["f8", "f4"]),
    cell=st.sampled_from(CELLS),
    layers=st.integers(1, 3),
    data=st.data(),
)
def test_forward_backward(K, m, seed, precision, cell, layers, data):
    params = _params(K, m, seed, precision, cell, layers)
    inputs = data.draw(index_arrays(K), label="inputs")
    same_shape = data.draw(st.booleans(), label="targets of the same shape")
    targets = data.draw(index_arrays(K, inputs.shape if same_shape else None), label="targets")
    B = inputs.shape[0] if inputs.ndim == 2 else None
    h0 = state_arrays(data.draw, "h0", layers, B or 1, m)
    c0 = state_arrays(data.draw, "c0", layers, B or 1, m)
    allowed = _allowed_states(layers, B, m)
    valid = (
        _valid_indices(inputs, K)
        and _valid_indices(targets, K)
        and targets.shape == inputs.shape
        and _valid_state(h0, allowed, precision)
        and (c0 is None or (cell == "lstm" and _valid_state(c0, allowed, precision)))
    )
    if not valid:
        with np.errstate(all="ignore"):
            with pytest.raises((ValueError, IndexError)):
                _core.forward_backward(params, inputs, targets, h0, c0)
            with pytest.raises((ValueError, IndexError)):
                _core.loss(params, inputs, targets, h0, c0)
        return
    result = _core.forward_backward(params, inputs, targets, h0, c0)
    clean = _core.forward_backward(
        params,
        _clean(inputs, np.int64),
        _clean(targets, np.int64),
        _clean(h0, np.float64),
        _clean(c0, np.float64),
    )
    assert result.loss == clean.loss == _core.loss(params, inputs, targets, h0, c0)
    assert np.isfinite(result.loss) and result.loss >= 0
    np.testing.assert_array_equal(result.grads.flat, clean.grads.flat, err_msg="grads")
    np.testing.assert_array_equal(result.h_last, clean.h_last, err_msg="h_last")
    layer_axis = h0.ndim == (3 if B else 2) if h0 is not None else layers > 1
    state = ((layers,) if layer_axis else ()) + inputs.shape[:-1]
    assert result.h_last.shape == state + (m,)
    assert result.hs.shape == state + inputs.shape[-1:] + (m,)
    assert result.probs.shape == inputs.shape + (K,)
    if cell == "lstm":
        assert result.cs.shape == result.hs.shape and result.c_last.shape == result.h_last.shape
    else:
        assert result.cs is None and result.c_last is None


# --- clipping and AdaGrad -----------------------------------------------------------------------
SPECS = st.tuples(st.sampled_from(CELLS), st.integers(1, 2), st.integers(1, 3))  # cell, L, m


@fuzz(200)
@given(
    spec=SPECS,
    others=st.lists(st.one_of(st.none(), SPECS), min_size=2, max_size=2),
    limit=st.sampled_from(SPECIAL),
    eta=st.sampled_from(SPECIAL),
    eps=st.sampled_from(SPECIAL + [1e-8]),
    data=st.data(),
)
def test_clip_and_adagrad(spec, others, limit, eta, eps, data):
    """grads and memory of the params' own layout (None) or of another spec, which must be
    refused before anything is written."""
    cell, layers, m = spec
    K = m + 1
    params = _core.Params(K, m, cell=cell, layers=layers)
    grads, memory = (
        _core.Params(K, m, cell=cell, layers=layers)
        if o is None
        else _core.Params(K, o[2], cell=o[0], layers=o[1])
        for o in others
    )
    # The writable views take anything, special values included: the functions must cope.
    grads.flat[:] = data.draw(hnp.arrays("f8", grads.flat.size, elements=st.sampled_from(SPECIAL)))
    memory.flat[:] = data.draw(
        hnp.arrays("f8", memory.flat.size, elements=st.sampled_from(SPECIAL))
    )
    if math.isfinite(limit) and limit > 0:
        finite = np.isfinite(grads.flat)
        _core.clip_gradients(grads, limit)
        assert np.all(np.abs(grads.flat[finite]) <= limit)
    else:
        assert _raises_cleanly(lambda: _core.clip_gradients(grads, limit), (ValueError,))
    same = all(b.spec == params.spec for b in (grads, memory))
    good = same and all(math.isfinite(x) and x > 0 for x in (eta, eps))
    before = params.flat.copy(), memory.flat.copy()
    with np.errstate(all="ignore"):
        if good:
            _core.adagrad_step(params, grads, memory, eta, eps)
        else:
            assert _raises_cleanly(
                lambda: _core.adagrad_step(params, grads, memory, eta, eps), (ValueError,)
            )
            np.testing.assert_array_equal(params.flat, before[0], err_msg="params written")
            np.testing.assert_array_equal(memory.flat, before[1], err_msg="memory written")


# --- sampling and evaluation --------------------------------------------------------------------
@fuzz(250)
@given(
    K=st.integers(1, 6),
    m=st.integers(1, 4),
    precision=st.sampled_from(["f8", "f4"]),
    cell=st.sampled_from(CELLS),
    layers=st.integers(1, 2),
    n=st.integers(-2, 40),
    seed=st.integers(0, 2**64 - 1),
    temperature=st.one_of(st.sampled_from(SPECIAL), st.floats(1e-3, 1e3)),
    top_p=st.one_of(st.sampled_from(SPECIAL + [1.0 - 1e-12, 1e-9]), st.floats(0, 1)),
    data=st.data(),
)
def test_sample(K, m, precision, cell, layers, n, seed, temperature, top_p, data):
    params = _params(K, m, 1, precision, cell, layers)
    prime = data.draw(index_arrays(K, max_dims=2), label="prime")
    h0 = state_arrays(data.draw, "h0", layers, 1, m)
    c0 = state_arrays(data.draw, "c0", layers, 1, m)
    allowed = _allowed_states(layers, None, m)
    valid = (
        _valid_indices(prime, K, ndims=(1,))
        and _valid_state(h0, allowed, precision)
        and (c0 is None or (cell == "lstm" and _valid_state(c0, allowed, precision)))
        and n >= 0
        and math.isfinite(temperature)
        and temperature > 0
        and math.isfinite(top_p)
        and 0 < top_p <= 1
    )
    call = lambda: _core.sample(params, h0, prime, n, seed, temperature, top_p, c0)  # noqa: E731
    if not valid:
        assert _raises_cleanly(call)
        return
    with np.errstate(all="ignore"):
        drawn = call()
        again = call()
    assert drawn.shape == (n,) and drawn.dtype == np.int32
    assert np.all((drawn >= 0) & (drawn < K)), "an index outside the vocabulary was drawn"
    np.testing.assert_array_equal(drawn, again, err_msg="same seed, different text")


@fuzz(150)
@given(
    K=st.integers(1, 6),
    m=st.integers(1, 4),
    precision=st.sampled_from(["f8", "f4"]),
    cell=st.sampled_from(CELLS),
    layers=st.integers(1, 2),
    chunk=st.one_of(
        st.integers(1, 40), st.integers(-2, 0), st.sampled_from([2**31 - 1, 2**31, 2**40])
    ),
    data=st.data(),
)
def test_evaluate(K, m, precision, cell, layers, chunk, data):
    params = _params(K, m, 2, precision, cell, layers)
    shape = data.draw(st.one_of(st.tuples(st.integers(0, 60)), hnp.array_shapes(max_dims=2)))
    text = data.draw(index_arrays(K, shape), label="text")
    valid = _valid_indices(text, K, ndims=(1,)) and text.size >= 2 and 1 <= chunk < 2**31
    if not valid:
        assert _raises_cleanly(lambda: _core.evaluate(params, text, chunk))
        return
    total, count = _core.evaluate(params, text, chunk)
    assert count == text.size - 1 and np.isfinite(total) and total >= 0
    assert _core.evaluate(params, _clean(text, np.int64), chunk) == (total, count)
    whole, _ = _core.evaluate(params, text, 512)
    assert total == pytest.approx(whole, rel=1e-5 if precision == "f4" else 1e-12, abs=1e-12)


# --- the native training loop -----------------------------------------------------------------
@fuzz(200)
@given(
    K=st.integers(1, 5),
    m=st.integers(1, 4),
    precision=st.sampled_from(["f8", "f4"]),
    cell=st.sampled_from(CELLS),
    layers=st.integers(1, 2),
    seq_length=st.integers(-1, 8),
    batch=st.integers(-1, 3),
    steps=st.integers(0, 25),
    eta=st.sampled_from([0.1, 1.0, 1e3, 0.0, -1.0, math.nan, math.inf]),
    clip=st.sampled_from([5.0, 1e-300, 1e300, 0.0, math.nan]),
    position=st.integers(-2, 40),
    data=st.data(),
)
def test_trainer(
    K, m, precision, cell, layers, seq_length, batch, steps, eta, clip, position, data
):
    params = _params(K, m, 2, precision, cell, layers)
    shape = data.draw(st.one_of(st.tuples(st.integers(0, 40)), hnp.array_shapes(max_dims=2)))
    text = data.draw(index_arrays(K, shape), label="text")
    cls = _core.Trainer32 if precision == "f4" else _core.Trainer
    valid = (
        _valid_indices(text, K, ndims=(1,))
        and seq_length > 0
        and batch > 0
        and text.size // batch >= seq_length + 1
        and math.isfinite(eta)
        and eta > 0
        and math.isfinite(clip)
        and clip > 0
    )
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
    for attr in ("h_prev", "c_prev"):  # only (L, B, m) and finite; c_prev only for lstm
        value = data.draw(
            arrays(
                REAL_DTYPES,
                -2,
                2,
                data.draw(
                    st.sampled_from(
                        [
                            (layers, batch, m),
                            (batch, m),
                            (layers, batch, m + 1),
                            (layers + 1, batch, m),
                        ]
                    )
                ),
            ),
            label=attr,
        )
        if (attr == "h_prev" or cell == "lstm") and _valid_real(
            value, (layers, batch, m), precision
        ):
            setattr(trainer, attr, value)
            np.testing.assert_array_equal(getattr(trainer, attr), value.astype(precision))
        else:
            assert _raises_cleanly(lambda: setattr(trainer, attr, value), (ValueError,))
    losses, smooth = np.full(steps, -1.0), np.full(steps, -1.0)
    with np.errstate(all="ignore"):
        ran = trainer.run(losses, smooth)
    assert 0 <= ran <= steps and (ran == steps) != trainer.diverged
    assert np.all(np.isfinite(losses[:ran])) and np.all(losses[:ran] >= 0)
    assert trainer.step == ran and 0 <= trainer.position < chunk
    assert trainer.h_prev.shape == (layers, batch, m)
    if cell == "lstm":
        assert trainer.c_prev.shape == (layers, batch, m)
    else:
        assert trainer.c_prev is None


# --- damaged checkpoint files ---------------------------------------------------------------------
TEXT = "a small text, for checkpoints that get damaged on purpose.\n" * 6
MODELS = {"rnn": dict(cell="rnn"), "lstm": dict(cell="lstm", layers=2), "gru": dict(cell="gru")}
_CHECKPOINTS = {}


def _checkpoint_bytes(model, kind):
    if model not in _CHECKPOINTS:
        trainer = Trainer(TEXT, TrainConfig(m=4, seq_length=5, **MODELS[model]))
        trainer.train(12)
        with tempfile.TemporaryDirectory() as d:
            for k in ("last", "best"):
                trainer.save(Path(d) / f"{k}.npz", kind=k)
                _CHECKPOINTS[model, k] = (Path(d) / f"{k}.npz").read_bytes()
        _CHECKPOINTS[model] = True
    return _CHECKPOINTS[model, kind]


@fuzz(300)
@given(
    model=st.sampled_from(sorted(MODELS)),
    kind=st.sampled_from(["last", "best"]),
    cut=st.one_of(st.none(), st.integers(0, 9000)),
    flips=st.lists(st.tuples(st.integers(0, 9000), st.integers(1, 255)), max_size=4),
    junk=st.binary(max_size=8),
)
def test_damaged_checkpoints(model, kind, cut, flips, junk):
    raw = bytearray(_checkpoint_bytes(model, kind))
    for pos, mask in flips:
        raw[pos % len(raw)] ^= mask
    raw = raw[:cut] + junk if cut is not None else raw
    assume(bytes(raw) != _checkpoint_bytes(model, kind))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "damaged.npz"
        path.write_bytes(bytes(raw))
        try:
            loaded = Model.load(path)
        except CheckpointError:
            pass
        else:  # the damage missed everything that matters: it must still work
            assert len(loaded.sample(5, seed=0)) == 5
        try:
            trainer = Trainer.load(path, TEXT)
        except CheckpointError:
            pass
        else:
            trainer.train(2)
