"""--forget-bias F: the LSTM's forget-gate bias at the start (rows m..2m of each b), natively and
in the reference; 1 by default (char-rnn's), so every earlier run is unchanged."""

import numpy as np
import pytest
from charrnn import TrainConfig, Trainer, _core, reference


@pytest.mark.parametrize("F", [1.0, 0.0, -0.5, 2.5])
def test_the_forget_rows_start_at_F_and_nothing_else_changes(F):
    m = 3
    native = _core.Params.random(5, m, seed=2, cell="lstm", layers=2, forget_bias=F)
    plain = _core.Params.random(5, m, seed=2, cell="lstm", layers=2)
    ref = reference.Params.random(_core.layout("lstm", 5, m, 2), seed=2, forget_bias=F)
    for name in ("b1", "b2"):
        expected = np.zeros(4 * m)
        expected[m : 2 * m] = F
        np.testing.assert_array_equal(native[name], expected, err_msg=name)
        np.testing.assert_array_equal(ref[name], expected, err_msg=name)
    for name in ("W1", "U1", "W2", "U2", "V"):  # the same draws
        np.testing.assert_array_equal(native[name], plain[name], err_msg=name)


def test_other_cells_ignore_it():
    a = _core.Params.random(5, 3, seed=1, cell="gru", forget_bias=7.0)
    b = _core.Params.random(5, 3, seed=1, cell="gru")
    np.testing.assert_array_equal(a.flat, b.flat)


def test_the_default_is_char_rnns_and_a_run_uses_the_setting(small_text):
    assert TrainConfig().forget_bias == 1.0
    trainer = Trainer(small_text, TrainConfig(cell="lstm", m=4, forget_bias=0.25, seq_length=8))
    np.testing.assert_array_equal(trainer.params["b1"][4:8], 0.25)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1", True])
def test_a_bad_value_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="forget_bias"):
        TrainConfig(forget_bias=bad)
    if isinstance(bad, float):
        with pytest.raises(ValueError, match="forget_bias"):
            _core.Params.random(5, 3, cell="lstm", forget_bias=bad)


def test_the_pytorch_recipe_sets_its_settings_and_yields_to_given_ones(tmp_path, text_file):
    from charrnn import Model
    from charrnn.checkpoint import load
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
                "--recipe",
                "pytorch",
                "--eta",
                "1e-3",
                "--steps",
                "10",
                "--no-gradcheck",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    _, meta = load(out / "last.npz")
    assert meta["spec"]["embedding"] == 64
    assert meta["config"]["forget_bias"] == 0.0 and meta["config"]["optimizer"] == "adam"
    assert meta["config"]["eta"] == 1e-3  # given beside the recipe: it wins
    assert Model.load(out / "best.npz").spec.embedding == 64


def test_a_recipe_is_refused_on_resume(tmp_path, text_file, capsys):
    from charrnn.cli import main

    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--m",
                "8",
                "--steps",
                "5",
                "--no-gradcheck",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["train", "--resume", str(out), "--recipe", "pytorch", "--quiet"]) == 1
    assert "--recipe pytorch" in capsys.readouterr().err
