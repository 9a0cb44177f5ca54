"""Dropout (cpp/model/dropout.hpp, reference/dropout.py): the masks, bit for bit the same in C++
and numpy and shaped as promised; the forward and backward pass under a mask against the numpy
reference and finite differences for every cell, depth and batch; off for evaluation and
sampling; the training loop against the reference loop; a resumed run bit-identical to an
uninterrupted one; bad settings; and dropout in `charrnn train` and `charrnn gradcheck`."""

import math

import numpy as np
import pytest
from charrnn import _core, reference
from charrnn.cli import main
from charrnn.gradcheck import check_native
from charrnn.train import TrainConfig, Trainer
from helpers import CELLS, split_run, to_native

# ---- the masks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p,seed,step,point,B,T,m",
    [
        (0.5, 0, 0, 1, 1, 1, 1),
        (0.2, 7, 123, 2, 3, 5, 17),
        (0.9, 2**64 - 1, 2**40, 3, 2, 4, 9),
        (1e-3, 12345, 1, 1, 50, 50, 16),
    ],
)
def test_native_masks_equal_the_reference_bit_for_bit(p, seed, step, point, B, T, m):
    native = _core.dropout_mask(p, seed, step, point, B, T, m)
    ref = reference.dropout.mask(p, seed, step, point, B, T, m)
    assert native.shape == ref.shape == (B, T, m)
    np.testing.assert_array_equal(native, ref)
    assert set(np.unique(native)) <= {0.0, 1.0 / (1.0 - p)}


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_masks_drop_the_given_fraction_and_keep_the_mean(p):
    """200,000 entries: the dropped fraction within 5 standard deviations of p, and the mean of
    the mask (inverted scaling) within 5 of 1."""
    mask = _core.dropout_mask(p, 3, 11, 1, 40, 50, 100)
    n = mask.size
    sd = math.sqrt(p * (1 - p) / n)
    assert abs((mask == 0).mean() - p) < 5 * sd
    assert abs(mask.mean() - 1.0) < 5 * sd / (1 - p)


def test_masks_differ_by_seed_step_and_point_and_entries_are_independent():
    base = _core.dropout_mask(0.5, 1, 2, 1, 4, 8, 64)
    for other in (
        _core.dropout_mask(0.5, 2, 2, 1, 4, 8, 64),
        _core.dropout_mask(0.5, 1, 3, 1, 4, 8, 64),
        _core.dropout_mask(0.5, 1, 2, 2, 4, 8, 64),
    ):
        agree = (other == base).mean()
        assert 0.4 < agree < 0.6, agree  # independent halves agree half the time
    flat = (base.ravel() == 0).astype(float)
    lag1 = np.corrcoef(flat[:-1], flat[1:])[0, 1]
    assert abs(lag1) < 0.05, lag1
    np.testing.assert_array_equal(base, _core.dropout_mask(0.5, 1, 2, 1, 4, 8, 64))


# ---- forward and backward under a mask -----------------------------------------------------------


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_forward_backward_with_dropout_equals_the_reference(cell, layers, B, rng):
    K, m, T = 7, 5, 6
    ref = reference.Params.random(_core.layout(K, m, cell=cell, layers=layers), sig=0.3, seed=2)
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    h0 = rng.normal(0, 0.5, (layers, B, m))
    c0 = rng.normal(0, 0.5, (layers, B, m)) if cell == "lstm" else None
    drop = dict(dropout=0.4, dropout_seed=5, dropout_step=17)
    native = _core.forward_backward(to_native(ref), x, y, h0, c0, **drop)
    expected = reference.forward_backward(ref, x, y, h0, c0, **drop)
    assert native.loss == pytest.approx(expected.loss, rel=1e-13)
    undropped = reference.forward_backward(ref, x, y, h0, c0)
    assert abs(native.loss - undropped.loss) > 1e-6  # the mask did something
    np.testing.assert_allclose(native.hs, expected.hs, rtol=1e-12, atol=1e-14, err_msg="hs")
    for name in ref:
        np.testing.assert_allclose(
            native.grads[name], expected.grads[name], rtol=1e-11, atol=1e-14, err_msg=f"d{name}"
        )
    assert _core.loss(to_native(ref), x, y, h0, c0, **drop) == native.loss


def test_dropout_zero_is_no_dropout_bit_for_bit(rng):
    ref = reference.Params.random(_core.layout(6, 4, cell="lstm", layers=2), sig=0.3, seed=1)
    x, y = rng.integers(0, 6, (2, 5)), rng.integers(0, 6, (2, 5))
    a = _core.forward_backward(to_native(ref), x, y)
    b = _core.forward_backward(to_native(ref), x, y, dropout=0.0, dropout_seed=9, dropout_step=4)
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.grads.flat, b.grads.flat)


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_under_a_fixed_mask_pass_the_gradient_check(cell):
    """check_native at its thresholds (finite differences, reference, complex step) with one
    fixed mask, 2 layers, so both dropout points are checked."""
    report = check_native(cell=cell, layers=2, m=6, T=8, dropout=0.3, seed=4)
    assert report["passed"], report
    assert report["settings"]["dropout"] == 0.3


def test_float32_forward_backward_with_dropout(rng):
    ref = reference.Params.random(_core.layout(6, 5, cell="gru", layers=2), sig=0.3, seed=1)
    p32 = _core.Params32(6, 5, cell="gru", layers=2)
    p32.flat = ref.flat
    x, y = rng.integers(0, 6, (2, 7)), rng.integers(0, 6, (2, 7))
    drop = dict(dropout=0.25, dropout_seed=3, dropout_step=2)
    got = _core.forward_backward(p32, x, y, **drop)
    expected = reference.forward_backward(ref.astype(np.float32).astype(np.float64), x, y, **drop)
    assert got.loss == pytest.approx(expected.loss, rel=1e-5)
    for name in ref:
        np.testing.assert_allclose(
            got.grads[name], expected.grads[name], rtol=2e-4, atol=2e-6, err_msg=f"d{name}"
        )


# ---- training -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2), ("gru", 3)])
def test_first_updates_equal_the_reference_loop(small_text, cell, layers):
    """The native loop with dropout against reference.train step for step (update s uses the
    masks of (seed, s)): losses and params after 5 RMSprop updates."""
    chars = sorted(set(small_text[:2000]))
    encoded = np.array([chars.index(ch) for ch in small_text[:2000]])
    ref = reference.Params.random(
        _core.layout(len(chars), 10, cell=cell, layers=layers), sig=0.1, seed=3
    )
    kw = dict(seq_length=20, eta=2e-3, optimizer="rmsprop", dropout=0.3)
    tr = _core.Trainer(to_native(ref), encoded, dropout_seed=8, **kw)
    losses = np.empty(5)
    assert tr.run(losses) == 5
    assert (tr.dropout, tr.dropout_seed) == (0.3, 8)
    ref_losses, _ = reference.train(ref, encoded, 5, dropout_seed=8, **kw)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-9, err_msg="losses")
    for name in ref:
        np.testing.assert_allclose(
            tr.params[name], ref[name], rtol=1e-9, atol=1e-10, err_msg=f"{name} after 5 updates"
        )


def test_a_resumed_run_with_dropout_is_bit_identical(tmp_path, small_text):
    """Through a checkpoint: 30 updates, save, load, 30 more equal 60 in one go (the masks come
    from (seed, step), so nothing else needs saving)."""
    config = TrainConfig(
        cell="lstm", layers=2, m=12, seq_length=10, batch=2, dropout=0.5, optimizer="adam", eta=3e-3
    )
    whole, second, expected, split = split_run(small_text, config, 30, 30, tmp_path / "last.npz")
    assert split.tobytes() == expected.tobytes()
    np.testing.assert_array_equal(second.params.flat, whole.params.flat)


def test_dropout_is_off_for_evaluation_and_sampling(small_text):
    config = TrainConfig(cell="gru", layers=2, m=10, seq_length=10, dropout=0.5, val_frac=0.2)
    trainer = Trainer(small_text, config)
    trainer.train(20)
    val = trainer.evaluate_validation().nats
    total, n = _core.evaluate(trainer.params, trainer.val_encoded)
    assert val == total / n
    # The evaluation is the model without masks: the loss of forward_backward without dropout.
    chars = trainer.val_encoded
    expected = _core.loss(trainer.params, chars[:-1], chars[1:], None) / (len(chars) - 1)
    assert val == pytest.approx(expected, rel=1e-12)
    model = trainer.model()
    assert model.sample(50, seed=1) == model.sample(50, seed=1)


def test_dropout_learns_real_text(corpus):
    """A 2-layer lstm with dropout 0.3 still learns: under 75% of the uniform guess's loss over
    updates 500-600 on the first 100,000 characters."""
    _, vocab, encoded = corpus
    uniform = 25 * math.log(vocab.K)
    params = _core.Params.random(vocab.K, 64, sig=0.01, seed=1, cell="lstm", layers=2)
    tr = _core.Trainer(params, encoded[:100_000], eta=2e-3, optimizer="rmsprop", dropout=0.3)
    losses = np.empty(600)
    assert tr.run(losses) == 600
    assert losses[-100:].mean() < 0.75 * uniform, losses[-100:].mean()


# ---- bad settings and the command line -----------------------------------------------------------


@pytest.mark.parametrize("bad", [1.0, -0.1, float("nan"), 1.5])
def test_bad_dropout_is_refused_everywhere(bad, small_text):
    p = _core.Params(5, 4, cell="lstm")
    x = np.arange(6) % 5
    with pytest.raises(ValueError, match="dropout must be"):
        _core.forward_backward(p, x, x, dropout=bad)
    with pytest.raises(ValueError, match="dropout must be"):
        _core.Trainer(p, np.arange(60) % 5, seq_length=5, dropout=bad)
    with pytest.raises(ValueError, match="dropout must be"):
        _core.dropout_mask(bad, 0, 0, 1, 1, 2, 3)
    with pytest.raises(ValueError, match="dropout must be"):
        TrainConfig(dropout=bad)
    with pytest.raises(ValueError, match="dropout must be"):
        reference.dropout.mask(bad, 0, 0, 1, 1, 2, 3)


def test_bad_mask_arguments():
    with pytest.raises(ValueError, match="dropout_step"):
        _core.dropout_mask(0.5, 0, -1, 1, 1, 2, 3)
    with pytest.raises(ValueError, match="point"):
        _core.dropout_mask(0.5, 0, 0, 0, 1, 2, 3)
    with pytest.raises(ValueError, match="too large"):
        _core.dropout_mask(0.5, 0, 0, 1, 2, 2**20, 2**20)


def test_train_and_gradcheck_take_dropout(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--cell",
                "lstm",
                "--layers",
                "2",
                "--m",
                "8",
                "--seq-length",
                "10",
                "--steps",
                "40",
                "--dropout",
                "0.2",
                "--quiet",
                "--no-gradcheck",
                "--sample-every",
                "20",
                "--passage-length",
                "20",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "report.md").read_text()
    assert "dropout 0.2" in report
    assert (
        main(
            [
                "train",
                "--resume",
                str(out),
                "--steps",
                "60",
                "--dropout",
                "0.1",
                "--quiet",
                "--no-gradcheck",
            ]
        )
        == 0
    )
    assert "dropout 0.2 -> 0.1" in (out / "report.md").read_text()
    capsys.readouterr()
    assert (
        main(
            [
                "gradcheck",
                str(text_file),
                "--cell",
                "gru",
                "--layers",
                "2",
                "--m",
                "5",
                "--seq-length",
                "6",
                "--dropout",
                "0.3",
            ]
        )
        == 0
    )
    assert "dropout=0.3 (one fixed mask)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["train", str(text_file), "--dropout", "1", "--out", str(tmp_path / "x")])
    assert usage.value.code == 2
    assert "--dropout: must be in [0, 1)" in capsys.readouterr().err
