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
        expected[m:2 * m] = F
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
