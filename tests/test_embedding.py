"""The embedding (--embedding D): layer 1 reads e_t = E[:, x_t], a column of a learnt (D, K)
table, instead of a one-hot column of U1. The three tiers for it (native against the reference,
the reference against complex step and finite differences, the native gradient check), the
layout, training, checkpoints and the settings' checks. PyTorch's nn.Embedding on the same
weights: tests/test_model.py."""

import numpy as np
import pytest
from charrnn import Model, TrainConfig, Trainer, _core, reference
from charrnn.gradcheck import check_native, complex_step_gradients, numerical_gradients
from charrnn.reference import Params
from helpers import CELLS, to_native


def make_case(cell, L, B, D, K=6, m=5, T=7, seed=0):
    rng = np.random.default_rng(seed)
    ref = Params(_core.layout(K, m, cell=cell, layers=L, embedding=D))
    ref.flat[:] = rng.normal(0.0, 0.5, ref.flat.size)
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    h0 = rng.normal(0.0, 0.5, (L, B, m))
    c0 = rng.normal(0.0, 0.5, (L, B, m)) if cell == "lstm" else None
    return ref, to_native(ref), x, y, h0, c0


@pytest.mark.parametrize("cell", CELLS)
def test_layout_puts_the_table_first_and_layer_1_reads_D(cell):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    layout = _core.layout(11, 5, cell=cell, layers=2, embedding=3)
    assert layout[0]["name"] == "E" and layout[0]["shape"] == (3, 11)
    assert layout[0]["init"] == "unit_normal" and layout[0]["role"] == "E"
    by_name = {e["name"]: e for e in layout}
    assert by_name["U1"]["shape"] == (G * 5, 3)
    assert by_name["U2"]["shape"] == (G * 5, 5)
    # Without an embedding nothing changes: the assignment's names and block.
    assert [e["name"] for e in _core.layout(11, 5)] == ["W", "U", "V", "b", "c"]
    assert [e["name"] for e in _core.layout(11, 5, embedding=2)][:3] == ["E", "W1", "U1"]


@pytest.mark.parametrize("D", [1, 3, 8])
@pytest.mark.parametrize("cell,L,B", [(c, L, B) for c in CELLS for L in (1, 2) for B in (1, 3)])
def test_native_equals_reference(cell, L, B, D):
    ref, native, x, y, h0, c0 = make_case(cell, L, B, D, seed=L + 10 * B + D)
    r = reference.forward_backward(ref, x, y, h0, c0)
    n = _core.forward_backward(native, x, y, h0, c0)
    assert n.loss == pytest.approx(r.loss, rel=1e-13)
    np.testing.assert_allclose(n.hs, r.hs, atol=1e-13, err_msg="hs")
    assert list(n.grads.names) == r.grads.names
    for name in r.grads:
        np.testing.assert_allclose(
            n.grads[name], r.grads[name], rtol=1e-11, atol=1e-12, err_msg=f"d{name}"
        )
    # A character that never occurs gets no gradient in E.
    unused = sorted(set(range(ref.K)) - set(x.ravel()))
    assert not np.any(np.asarray(n.grads["E"])[:, unused])


@pytest.mark.parametrize("cell", CELLS)
def test_reference_equals_complex_step_and_finite_differences(cell):
    ref, _, x, y, h0, c0 = make_case(cell, 2, 2, 3, K=5, m=3, T=4, seed=7)
    analytic = reference.forward_backward(ref, x, y, h0, c0).grads
    cs = complex_step_gradients(ref, x, y, h0, c0)
    fd = numerical_gradients(lambda: reference.loss(ref, x, y, h0, c0), ref)
    for name in analytic:
        np.testing.assert_allclose(
            cs[name], analytic[name], rtol=1e-12, atol=1e-14, err_msg=f"d{name} complex step"
        )
        np.testing.assert_allclose(
            fd[name], analytic[name], rtol=1e-6, atol=1e-8, err_msg=f"d{name} finite differences"
        )


@pytest.mark.parametrize("cell", CELLS)
def test_native_gradient_check_passes(cell):
    report = check_native(cell=cell, layers=2, m=7, T=9, embedding=5, state_scale=0.5)
    assert report["passed"], report
    assert "E" in report and report["settings"]["embedding"] == 5


def test_float32_matches_float64(small_text):
    config = TrainConfig(
        cell="lstm",
        layers=2,
        m=8,
        embedding=4,
        seq_length=10,
        batch=2,
        optimizer="adam",
        eta=2e-3,
        seed=1,
    )
    a = Trainer(small_text, config)
    b = Trainer(small_text, TrainConfig(**{**config.to_dict(), "dtype": "float32"}))
    a.train(5)
    b.train(5)
    assert b.smooth_loss == pytest.approx(a.smooth_loss, rel=1e-4)


def test_training_lowers_the_loss_and_resumes_exactly(tmp_path, small_text):
    config = TrainConfig(
        cell="gru",
        layers=1,
        m=12,
        embedding=6,
        seq_length=12,
        batch=2,
        optimizer="adam",
        eta=5e-3,
        seed=3,
    )
    straight = Trainer(small_text, config)
    losses, _ = straight.train(200)
    assert losses[-20:].mean() < 0.8 * losses[:20].mean()
    half = Trainer(small_text, config)
    half.train(100)
    half.save(tmp_path / "last.npz")
    resumed = Trainer.load(tmp_path / "last.npz", small_text)
    resumed.train(100)
    np.testing.assert_array_equal(np.asarray(resumed.params.flat), np.asarray(straight.params.flat))
    model = Model.load(tmp_path / "last.npz")
    assert model.spec.embedding == 6
    assert model.evaluate(small_text[:200]).nats > 0
    assert len(model.sample_text(50, seed=0)) == 50


@pytest.mark.parametrize("bad", [-1, 1.5, True, "8"])
def test_a_bad_width_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="embedding"):
        TrainConfig(embedding=bad)
    if isinstance(bad, int) and not isinstance(bad, bool):
        with pytest.raises(ValueError, match="embedding"):
            _core.layout(5, 4, cell="lstm", embedding=bad)


def test_cli_trains_with_an_embedding(tmp_path, text_file):
    from charrnn.cli import main

    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--cell",
                "lstm",
                "--m",
                "8",
                "--embedding",
                "4",
                "--steps",
                "30",
                "--no-gradcheck",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert Model.load(out / "best.npz").spec.embedding == 4
    assert main(["train", "--resume", str(out), "--steps", "40", "--quiet"]) == 0
    assert (
        main(["train", "--resume", str(out), "--steps", "50", "--embedding", "5", "--quiet"]) != 0
    )
